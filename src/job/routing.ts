import { StreamClosedError, ValidationError, describeError } from "../errors.js";
import type { JobStream } from "../backend/Backend.js";
import { StreamWriter } from "../stream/StreamWriter.js";
import type { PlanConnection } from "./JobPlan.js";
import type { NodeRuntime } from "./NodeRuntime.js";

/**
 * Wires one output stream to one input on the data plane: messages move by
 * awaiting streams, never as XState events. The wire reads with its own
 * cursor (so a slow receiver slows the sender: backpressure), applies the
 * transform, and writes with validation against the receiving schema.
 *
 * @returns a promise that resolves when the sending stream ended normally (the
 *   caller then ends the receiving input once all its wires ended) and rejects
 *   with a `ValidationError` naming the connection when data is invalid or the
 *   transform throws. It resolves quietly when either side closes with the job.
 */
export async function pipe(connection: PlanConnection, from: JobStream, to: StreamWriter, counts?: Uint32Array, index = 0): Promise<"ended" | "closed"> {
  const reader = from.reader("oldest");
  try {
    for (;;) {
      let message;
      try {
        message = await reader.next();
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
        // A sampled counter for the viewer's wiring graph: a number per wire, no event per message.
        if (counts) counts[index]!++;
      } catch (error) {
        if (error instanceof StreamClosedError) return "closed";
        if (error instanceof ValidationError) {
          throw new ValidationError(`Connection ${connection.label}: ${error.message}`, error.issues, `connection ${connection.label}`);
        }
        throw error;
      }
    }
  } finally {
    reader.close();
  }
}

/**
 * Starts the wires of a flow job: one `pipe` per connection, each writing
 * through a writer of its own. An input fed by wires ends when all of them
 * ended; invalid data routed to a node fails that node's attempt.
 *
 * @param counts messages each wire delivered so far, by the connection's index (the viewer samples it).
 * @returns the wires' writers (refused when the job is final).
 */
export function wire(connections: readonly PlanConnection[], nodeOf: (key: string) => NodeRuntime, counts?: Uint32Array): StreamWriter[] {
  const remaining = new Map<JobStream, number>();
  for (const c of connections) {
    const stream = nodeOf(c.to.node).inputs.get(c.to.tag)!.stream;
    remaining.set(stream, (remaining.get(stream) ?? 0) + 1);
  }
  return connections.map((c, index) => {
    const from = nodeOf(c.from.node).outputs.get(c.from.tag)!.stream;
    const receiver = nodeOf(c.to.node);
    const input = receiver.inputs.get(c.to.tag)!.stream;
    const writer = new StreamWriter(input, receiver.spec.inputSchemas[c.to.tag]);
    pipe(c, from, writer, counts, index).then(
      (how) => {
        const left = remaining.get(input)! - 1;
        remaining.set(input, left);
        if (how === "ended" && left === 0) input.end(`every wire into ${input.label} ended`);
      },
      (error: unknown) => receiver.fail(error),
    );
    return writer;
  });
}
