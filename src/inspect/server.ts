import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { WebSocketServer, type WebSocket } from "ws";
import { jobMachine } from "../../machines/job.js";
import { workerMachine } from "../../machines/worker.js";
import { ConfigurationError } from "../errors.js";
import type { EventCollector } from "./EventCollector.js";
import { machineGraph } from "./machineGraph.js";
import { VIEWER_PAGE } from "./page.js";

/** Options of `env.serveInspector`. Every field has a default. */
export interface InspectorServerOptions {
  /** TCP port. Default 0: a free port (read it from `url`). */
  port?: number;
  /** Interface to bind. Default `"127.0.0.1"` (loopback only). Any other host requires `token`. */
  host?: string;
  /** Secret the page and its WebSocket must present (`?token=`). Default: none (loopback only). */
  token?: string;
  /** State changes the viewer keeps. Default 10 000. */
  maxEvents?: number;
  /** How often changes are pushed to open pages. Default 100 ms. */
  flushMs?: number;
}

/** A running viewer. */
export interface InspectorServer {
  /** Address of the page, token included. */
  readonly url: string;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * Serves the viewer page and streams `collector`'s changes to it over a
 * WebSocket (`/ws`). Used by `env.serveInspector`; exported for tools that
 * feed a collector themselves.
 *
 * @example
 * const collector = new EventCollector();
 * const viewer = await startInspectorServer(collector, { port: 4477 });
 * console.log(viewer.url); // http://127.0.0.1:4477/
 */
export async function startInspectorServer(
  collector: EventCollector,
  options: InspectorServerOptions & { maxEvents: number },
): Promise<InspectorServer> {
  const host = options.host ?? "127.0.0.1";
  const { token } = options;
  if (!LOOPBACK.has(host) && !token) {
    throw new ConfigurationError(
      `serveInspector: binding to "${host}" exposes the viewer beyond this machine; pass a token ({ host: "${host}", token: "<secret>" }) or bind to 127.0.0.1`,
    );
  }
  const machines = { job: machineGraph(jobMachine), worker: machineGraph(workerMachine) };
  const authorized = (request: IncomingMessage) => {
    if (!token) return true;
    const given = new URL(request.url ?? "/", "http://viewer").searchParams.get("token") ?? "";
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  const server = createServer((request, response) => {
    if (!authorized(request)) {
      response.writeHead(401, { "content-type": "text/plain" }).end("401: wrong or missing token (add ?token=<token> to the URL)\n");
      return;
    }
    const path = new URL(request.url ?? "/", "http://viewer").pathname;
    if (request.method !== "GET" || path !== "/") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    response
      .writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'",
      })
      .end(VIEWER_PAGE);
  });
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (request, socket: Socket, head) => {
    const path = new URL(request.url ?? "/", "http://viewer").pathname;
    if (path !== "/ws" || !authorized(request)) {
      socket.end(`HTTP/1.1 ${path !== "/ws" ? "404 Not Found" : "401 Unauthorized"}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      send(ws, {
        type: "init",
        machines,
        actors: collector.actorRecords(),
        transitions: collector.transitions(),
        now: Date.now(),
        maxEvents: options.maxEvents,
      });
    });
  });

  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const delta = collector.drain();
    if (delta.actors.length === 0 && delta.transitions.length === 0) return;
    const message = JSON.stringify({ type: "delta", ...delta, now: Date.now(), maxEvents: options.maxEvents });
    for (const client of wss.clients) client.send(message);
  };
  const stopListening = collector.onChange(() => {
    // Batches bursts into one frame per `flushMs`; unref'd so a viewer never keeps the process alive.
    timer ??= setTimeout(flush, options.flushMs ?? 100).unref();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/${token ? `?token=${encodeURIComponent(token)}` : ""}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stopListening();
        if (timer) clearTimeout(timer);
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function send(ws: WebSocket, message: object): void {
  ws.send(JSON.stringify(message));
}
