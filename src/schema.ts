import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ValidationError, describeError, type ValidationIssue } from "./errors.js";
import { isThenable } from "./thenable.js";

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
  let shown: string;
  try {
    shown = issues
      .slice(0, 3)
      .map((i) => `${formatPath(i.path)}${i.message}`)
      .join("; ");
  } catch {
    shown = "the schema reported issues that cannot be printed";
  }
  const more = issues.length > 3 ? ` (+${issues.length - 3} more)` : "";
  return new ValidationError(`Invalid ${where}: ${shown}${more}`, issues, where);
}

/** Where a value is validated, for error messages: a text, or something with a (lazily built) label. */
export type ValidationSite = string | { readonly label: string };

const siteName = (where: ValidationSite): string => (typeof where === "string" ? where : where.label);

/**
 * Validates `value` against `schema`. Returns the schema's output (defaults
 * applied) synchronously when the schema is synchronous, else a promise.
 * Throws (or rejects with) a `ValidationError` naming `where`, also when the
 * schema itself throws, rejects, or answers with something that is not a
 * Standard Schema result.
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
    throw schemaFailed(where, "threw", error);
  }
  if (isThenable(result)) {
    // Any thenable, not only a native Promise: settled through a real promise.
    return Promise.resolve(result).then(
      (r) => outcome<S>(r, where),
      (error: unknown) => {
        throw schemaFailed(where, "rejected", error);
      },
    );
  }
  return outcome<S>(result, where);
}

function outcome<S extends StandardSchemaV1>(result: unknown, where: ValidationSite): InferOut<S> {
  if (typeof result !== "object" || result === null || Array.isArray(result)) {
    throw schemaFailed(where, "answered with something that is not a Standard Schema result", result);
  }
  let issues: unknown;
  let value: unknown;
  let hasValue: boolean;
  try {
    ({ issues } = result as { issues?: unknown });
    hasValue = "value" in result;
    value = (result as { value?: unknown }).value;
  } catch (error) {
    throw schemaFailed(where, "answered with a result that cannot be read", error);
  }
  if (issues !== undefined) {
    if (!Array.isArray(issues)) throw schemaFailed(where, "answered with issues that are not an array", issues);
    throw toError(siteName(where), issues as ValidationIssue[]);
  }
  // A result is `{ value }` or `{ issues }`: anything else (`{}`) is not one.
  if (!hasValue) throw schemaFailed(where, "answered with something that is not a Standard Schema result", result);
  return value as InferOut<S>;
}

function schemaFailed(where: ValidationSite, how: string, detail: unknown): ValidationError {
  const name = siteName(where);
  return new ValidationError(`Invalid ${name}: the schema ${how} (${describeError(detail)})`, [], name);
}
