import type { StreamKey } from "./Backend.js";

/** How errors name a stream: `input "default" of job "j1" (spec "chop")`, with `node "x" of ` for a flow's node. */
export function streamLabel({ jobId, node, tag, role, specName }: StreamKey): string {
  const where = node === specName ? "" : `node "${node}" of `;
  return `${role} "${tag}" of ${where}job "${jobId}" (spec "${specName}")`;
}
