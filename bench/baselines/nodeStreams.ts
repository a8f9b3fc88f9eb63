import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { validate } from "../common.js";
import type { PipelineSchemas, Timestamped } from "./asyncGenerators.js";

function* inputs(count: number, makeInput: (i: number) => unknown): Generator<unknown> {
  for (let i = 0; i < count; i++) yield makeInput(i);
}

/**
 * The work of one stage as an object-mode Transform: validates the input,
 * does the work, validates the result and timestamps it as the library's
 * output does.
 */
export function workTransform(schemas: PipelineSchemas, work: (data: any) => unknown): Transform {
  return new Transform({
    objectMode: true,
    transform(value: unknown, _encoding, done) {
      let message: Timestamped;
      try {
        const data = validate(schemas.input, value);
        message = { data: validate(schemas.output, work(data)), timestamp: Date.now() };
      } catch (error) {
        done(error as Error);
        return;
      }
      done(null, message);
    },
  });
}

/**
 * Reference baseline of scenario 1: a Node stream pipeline
 * (`stream/promises` `pipeline`, object mode): `Readable.from` the inputs,
 * the work in a Transform, a Writable counting what comes out. Backpressure
 * by each stream's buffer (16 objects by default).
 */
export async function runNodeStreams(
  count: number,
  schemas: PipelineSchemas,
  makeInput: (i: number) => unknown,
  work: (data: any) => unknown,
): Promise<number> {
  let read = 0;
  await pipeline(
    Readable.from(inputs(count, makeInput)),
    workTransform(schemas, work),
    new Writable({
      objectMode: true,
      write(message: Timestamped, _encoding, done) {
        if (message.data !== undefined) read++;
        done();
      },
    }),
  );
  return read;
}
