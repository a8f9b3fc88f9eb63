import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ValidationError, type ValidationIssue } from "./errors.js";

/** Any Standard Schema (zod, valibot, arktype, …). */
export type Schema<Input = unknown, Output = Input> = StandardSchemaV1<Input, Output>;
/** What a schema accepts. */
export type InferIn<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : never;
/** What a schema produces (defaults applied). */
export type InferOut<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : never;

/** True when `value` implements Standard Schema. */
export function isSchema(value: unknown): value is StandardSchemaV1 {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    "~standard" in value &&
    typeof (value as StandardSchemaV1)["~standard"]?.validate === "function"
  );
}

function formatPath(path: ValidationIssue["path"]): string {
  if (!path || path.length === 0) return "";
  return path.map((p) => String(typeof p === "object" ? p.key : p)).join(".") + ": ";
}

function toError(where: string, issues: ReadonlyArray<ValidationIssue>): ValidationError {
  const shown = issues.slice(0, 3).map((i) => `${formatPath(i.path)}${i.message}`);
  const more = issues.length > 3 ? ` (+${issues.length - 3} more)` : "";
  return new ValidationError(`Invalid ${where}: ${shown.join("; ")}${more}`, issues, where);
}

/** Where a value is validated, for error messages: a text, or something with a (lazily built) label. */
export type ValidationSite = string | { readonly label: string };

const siteName = (where: ValidationSite): string => (typeof where === "string" ? where : where.label);

/**
 * Validates `value` against `schema`. Returns the schema's output (defaults
 * applied) synchronously when the schema is synchronous, else a promise.
 * Throws (or rejects with) a `ValidationError` naming `where`.
 */
export function validate<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  where: ValidationSite,
): InferOut<S> | Promise<InferOut<S>> {
  let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>;
  try {
    result = schema["~standard"].validate(value);
  } catch (error) {
    const name = siteName(where);
    throw new ValidationError(`Invalid ${name}: the schema threw (${String(error)})`, [], name);
  }
  if (result instanceof Promise) {
    return result.then((r) => {
      if (r.issues) throw toError(siteName(where), r.issues);
      return r.value as InferOut<S>;
    });
  }
  if (result.issues) throw toError(siteName(where), result.issues);
  return result.value as InferOut<S>;
}
