import { connect } from "node:net";

/** A reply of `respCommand`: simple string (`"PONG"`, `"OK"`), integer, bulk string, or `null` (nil bulk). */
export type RespReply = string | number | null;

/**
 * Sends one command to the Redis at `host:port` over a fresh TCP socket, as raw
 * RESP (an array of bulk strings), and resolves with its reply; no client
 * library needed. The socket is closed either way.
 *
 * @param port TCP port of the Redis.
 * @param args the command and its arguments, e.g. `["SET", "k", "v"]`.
 * @param options `host` (default `"127.0.0.1"`); `timeoutMs`: how long to wait
 *   for the connection and the reply together (default 1000).
 * @throws Error (rejects) when the connection fails or times out, when the
 *   reply is a Redis error (`-ERR …`, message as Redis sent it), or when it is
 *   of a type this helper does not read (arrays, RESP3).
 * @example
 * await respCommand(port, ["PING"]); // "PONG"
 */
export function respCommand(
  port: number,
  args: readonly string[],
  options: { host?: string; timeoutMs?: number } = {},
): Promise<RespReply> {
  const { host = "127.0.0.1", timeoutMs = 1000 } = options;
  const request =
    `*${args.length}\r\n` + args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("");
  return new Promise<RespReply>((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.on("connect", () => socket.write(request));
    socket.on("error", (error) => settle(() => reject(error)));
    socket.on("close", () => settle(() => reject(new Error(`${host}:${port} closed the connection before replying`))));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let reply: { value: RespReply } | undefined;
      try {
        reply = parseReply(received);
      } catch (error) {
        settle(() => reject(error));
        return;
      }
      if (reply) {
        const { value } = reply;
        settle(() => resolve(value));
      }
    });
  });
}

/**
 * True when the Redis at `host:port` answers PING with PONG within `timeoutMs`
 * (default 1000); false on any failure (refused, timed out, error reply). Never rejects.
 */
export async function answersPing(port: number, options: { host?: string; timeoutMs?: number } = {}): Promise<boolean> {
  try {
    return (await respCommand(port, ["PING"], options)) === "PONG";
  } catch {
    return false;
  }
}

/** The reply in `data`, or undefined while it is incomplete. @throws Error on an error reply or an unread type. */
function parseReply(data: Buffer): { value: RespReply } | undefined {
  const lineEnd = data.indexOf("\r\n");
  if (lineEnd < 0) return undefined;
  const line = data.subarray(1, lineEnd).toString("utf8");
  switch (String.fromCharCode(data[0] ?? 0)) {
    case "+":
      return { value: line };
    case "-":
      throw new Error(line);
    case ":":
      return { value: Number(line) };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null };
      const start = lineEnd + 2;
      if (data.length < start + length + 2) return undefined;
      return { value: data.subarray(start, start + length).toString("utf8") };
    }
    default:
      throw new Error(`unsupported RESP reply: ${JSON.stringify(data.subarray(0, lineEnd).toString("utf8"))}`);
  }
}
