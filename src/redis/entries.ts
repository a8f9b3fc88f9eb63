import type { StreamMessage } from "../backend/Backend.js";
import { decode, decodeError } from "./codec.js";

/** One entry of a job stream as read: a message, or the marker that ended (or failed) the stream. */
export type StreamEntry =
  | { kind: "message"; id: string; message: StreamMessage }
  | { kind: "end"; id: string; reason: string }
  | { kind: "fail"; id: string; reason: string; error: unknown };

/** Parses `[id, [field, value, …]]` entries (Buffer replies) of a job stream. */
export function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const entries: StreamEntry[] = [];
  for (const [rawId, fields] of raw as Array<[Buffer | string, Array<Buffer | string>]>) {
    const id = rawId.toString();
    if (!Array.isArray(fields)) continue; // an entry deleted meanwhile
    const values = new Map<string, Buffer | string>();
    for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!.toString(), fields[i + 1]!);
    const marker = values.get("m")?.toString();
    if (marker !== undefined) {
      const reason = values.get("why")?.toString() ?? "the stream ended";
      const error = values.get("err");
      if (marker === "f" && error !== undefined && error.length > 0) {
        entries.push({ kind: "fail", id, reason, error: decodeError(Buffer.from(error)) });
      } else entries.push({ kind: "end", id, reason });
      continue;
    }
    const data = values.get("d");
    entries.push({
      kind: "message",
      id,
      message: {
        data: data === undefined ? undefined : decode(Buffer.isBuffer(data) ? data : Buffer.from(data)),
        timestamp: Number(values.get("t")?.toString() ?? 0),
        offset: offsetOf(id),
        order: Number(values.get("o")?.toString() ?? 0),
      },
    });
  }
  return entries;
}

/** The offset of entry `k-0`: k − 1 (entries are numbered from 1 per stream). */
export function offsetOf(id: string): number {
  return Number(id.slice(0, id.indexOf("-"))) - 1;
}
