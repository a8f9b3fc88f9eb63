import { StreamClosedError, ValidationError, describeError } from "../errors.js";
import type { DataStream } from "../stream/DataStream.js";
import type { PlanConnection } from "./JobPlan.js";

/**
 * Wires one output stream to one input stream on the data plane: messages
 * move by awaiting streams, never as XState events. The wire reads with its
 * own cursor (so a slow receiver slows the sender: backpressure), applies the
 * transform, and writes with validation against the receiving schema.
 *
 * @returns a promise that resolves when the sending stream ended normally (the
 *   caller then ends the receiving input once all its wires ended) and rejects
 *   with a `ValidationError` naming the connection when data is invalid or the
 *   transform throws. It resolves quietly when either side closes with the job.
 */
export async function pipe(connection: PlanConnection, from: DataStream, to: DataStream): Promise<"ended" | "closed"> {
  const cursor = from.openCursor(0);
  try {
    for (;;) {
      let message;
      try {
        message = await from.read(cursor.position);
      } catch {
        return "closed"; // the sender failed with the job: the job's error says why
      }
      if (!message) return "ended";
      let value: unknown;
      try {
        value = connection.transform ? connection.transform(message.data) : message.data;
      } catch (error) {
        throw new ValidationError(
          `Transform of connection ${connection.label} threw: ${describeError(error)}`,
          [],
          `connection ${connection.label}`,
        );
      }
      try {
        await to.write(value);
      } catch (error) {
        if (error instanceof StreamClosedError) return "closed";
        if (error instanceof ValidationError) {
          throw new ValidationError(`Connection ${connection.label}: ${error.message}`, error.issues, `connection ${connection.label}`);
        }
        throw error;
      }
      from.advance(cursor, message.offset + 1);
    }
  } finally {
    from.closeCursor(cursor);
  }
}
