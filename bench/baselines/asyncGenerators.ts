import type { StandardSchemaV1 } from "@standard-schema/spec";
import { validate } from "../common.js";

/** The schemas of a baseline pipeline; `undefined` for validation off. */
export interface PipelineSchemas {
  input: StandardSchemaV1 | undefined;
  output: StandardSchemaV1 | undefined;
}

/** One message as the library's output gives it: the data and when it was emitted. */
export interface Timestamped {
  data: unknown;
  timestamp: number;
}

async function* inputs(count: number, makeInput: (i: number) => unknown): AsyncGenerator<unknown> {
  for (let i = 0; i < count; i++) yield makeInput(i);
}

async function* stage(
  source: AsyncIterable<unknown>,
  schemas: PipelineSchemas,
  work: (data: any) => unknown,
): AsyncGenerator<Timestamped> {
  for await (const value of source) {
    const data = validate(schemas.input, value);
    yield { data: validate(schemas.output, work(data)), timestamp: Date.now() };
  }
}

/**
 * Baseline of scenario 1: the idiomatic async-generator pipeline. A source
 * generator yields `count` inputs, an `async function*` stage validates each
 * one, does the work, validates the result and timestamps it as the
 * library's output does, and a `for await` loop counts what comes out.
 * Pull-based: one message in flight, no buffer, nothing kept.
 */
export async function runAsyncGenerators(
  count: number,
  schemas: PipelineSchemas,
  makeInput: (i: number) => unknown,
  work: (data: any) => unknown,
): Promise<number> {
  let read = 0;
  for await (const message of stage(inputs(count, makeInput), schemas, work)) {
    if (message.data !== undefined) read++;
  }
  return read;
}
