import { ValidationError } from "../errors.js";
import { validate } from "../schema.js";
import type { SpecShape } from "./types.js";

/**
 * Validates job options against a spec's `jobOptions` schema (its defaults
 * applied). Omitted options validate as `undefined`, or as `{}` when the
 * schema rejects `undefined`, so an object schema whose fields all have
 * defaults needs no options at all. Without a schema, options must be an
 * object or absent.
 *
 * @throws ValidationError (a rejection) naming the spec and what the schema said.
 */
export async function validateJobOptions(spec: SpecShape, value: unknown): Promise<unknown> {
  if (!spec.jobOptionsSchema) {
    if (value !== undefined && (typeof value !== "object" || value === null || Array.isArray(value))) {
      throw new ValidationError(`Invalid jobOptions of spec "${spec.name}": expected an object or nothing`);
    }
    return value;
  }
  const where = `jobOptions of spec "${spec.name}"`;
  if (value !== undefined) return validate(spec.jobOptionsSchema, value, where);
  // Omitted options mean "all defaults": accept undefined, else `{}`, else report the undefined case.
  try {
    return await validate(spec.jobOptionsSchema, undefined, where);
  } catch (missing) {
    try {
      return await validate(spec.jobOptionsSchema, {}, where);
    } catch {
      throw missing;
    }
  }
}
