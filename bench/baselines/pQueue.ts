import PQueue from "p-queue";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { validate } from "../common.js";

/**
 * Reference of scenario 2: what a user picks for plain promises. A PQueue
 * with the short job's concurrency runs the short job's work as a task:
 * validate the input, compute n + 1, validate the result. No job record,
 * no streams, no supervision.
 */
export function pQueueShortJob(
  concurrency: number,
  schemas: { input: StandardSchemaV1; output: StandardSchemaV1 },
): (value: number) => Promise<number> {
  const queue = new PQueue({ concurrency });
  return (value) =>
    queue.add(async () => {
      const data = validate<number>(schemas.input as StandardSchemaV1<unknown, number>, value);
      const result = validate<number>(schemas.output as StandardSchemaV1<unknown, number>, data + 1);
      if (result !== value + 1) throw new Error(`wrong result ${result}`);
      return result;
    });
}
