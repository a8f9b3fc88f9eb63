import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { WebSocket, WebSocketServer } from "ws";
import { jobMachine } from "../../machines/job.js";
import { workerMachine } from "../../machines/worker.js";
import { ConfigurationError } from "../errors.js";
import type { EventCollector } from "./EventCollector.js";
import { hostGuard, type HostGuard } from "./hostGuard.js";
import { resolveInspectorServerOptions, type InspectorServerOptions } from "./inspectorServerOptions.js";
import { machineGraph } from "./machineGraph.js";
import { layoutMachine, type MachineLayout } from "./diagramLayout.js";
import { FlowSampler } from "./flowSampler.js";
import type { FlowWiring } from "./flowWiring.js";
import { VIEWER_PAGE } from "./page/page.js";

export type { InspectorServerOptions } from "./inspectorServerOptions.js";

/** A running viewer. */
export interface InspectorServer {
  /** Address of the page, token included. */
  readonly url: string;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
/** WebSocket close code for a page dropped for leaving too much unread (RFC 6455 1008: policy violation). */
const SLOW_CLIENT_CLOSE_CODE = 1008;

/** Hooks of `startInspectorServer` for its host (the env), kept out of the user-facing options. */
export interface InspectorServerHooks {
  /** Called after a page that stopped reading was dropped, with the bytes it had left unread. */
  onSlowClientDropped?: (backlogBytes: number) => void;
  /** The wiring of the flow jobs to show (sampled every `flushMs` while a page is open; may throw: then none). */
  flows?: () => FlowWiring[];
  /** The job options of a job running here, for the page's detail panel (may throw: then none). */
  jobOptions?: (jobId: string) => unknown;
}

/**
 * Serves the viewer page and streams `collector`'s changes to it over a
 * WebSocket (`/ws`). Used by `env.serveInspector`; exported for tools that
 * feed a collector themselves.
 *
 * Every request must name the viewer in its `Host` header (else 421) and, when
 * it has an `Origin`, come from the viewer's own page (else 403): see `hostGuard`.
 * A page that leaves more than `maxClientBacklogBytes` unread is closed with
 * code 1008 and a reason saying so.
 *
 * @throws ConfigurationError for unknown option keys or a host beyond loopback without a token.
 * @throws ValidationError for a bad option value; nothing is opened then.
 *
 * @example
 * const collector = new EventCollector();
 * const viewer = await startInspectorServer(collector, { port: 4477 });
 * console.log(viewer.url); // http://127.0.0.1:4477/
 */
export async function startInspectorServer(
  collector: EventCollector,
  options: InspectorServerOptions = {},
  hooks: InspectorServerHooks = {},
): Promise<InspectorServer> {
  const { host, port, token, maxEvents, flushMs, maxClientBacklogBytes } = resolveInspectorServerOptions(options);
  if (!LOOPBACK.has(host) && !token) {
    throw new ConfigurationError(
      `serveInspector: binding to "${host}" exposes the viewer beyond this machine; pass a token ({ host: "${host}", token: "<secret>" }) or bind to 127.0.0.1`,
    );
  }
  const machines = { job: machineGraph(jobMachine), worker: machineGraph(workerMachine) };
  const layouts = await machineLayouts(machines);
  const authorized = (request: IncomingMessage) => {
    if (!token) return true;
    const given = new URL(request.url ?? "/", "http://viewer").searchParams.get("token") ?? "";
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  let guard: HostGuard | undefined;
  /** Why a request must be refused before anything else is looked at, or undefined. */
  const foreign = (request: IncomingMessage): { status: number; text: string } | undefined => {
    guard ??= hostGuard({ host, ...(server.address() as AddressInfo) });
    if (!guard.hostAllowed(request.headers.host)) {
      return { status: 421, text: "Misdirected Request: the Host header does not name this viewer; open it by the address it printed" };
    }
    if (!guard.originAllowed(request.headers.origin)) {
      return { status: 403, text: "Forbidden: only the viewer's own page may connect" };
    }
    return undefined;
  };

  const server = createServer((request, response) => {
    const refusal = foreign(request);
    if (refusal) {
      response.writeHead(refusal.status, { "content-type": "text/plain" }).end(`${refusal.status}: ${refusal.text}\n`);
      return;
    }
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
  // Pages send only small requests (`details`): anything larger is refused by ws.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4_096 });
  server.on("upgrade", (request, socket: Socket, head) => {
    const path = new URL(request.url ?? "/", "http://viewer").pathname;
    const refusal =
      foreign(request) ??
      (path !== "/ws" ? { status: 404, text: "Not Found" } : !authorized(request) ? { status: 401, text: "Unauthorized" } : undefined);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status} ${refusal.text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      // A page's socket error (a request over maxPayload, a reset) closes that socket; unhandled, it would end the process.
      ws.on("error", () => {});
      flows.start();
      // The page asks for one job's details (its options) when it shows the job: answered from this process, if it runs the job.
      ws.on("message", (data) => {
        // Never throws (ws would fail the process): options JSON cannot carry are sent as a reason, not thrown.
        try {
          const asked = detailsRequest(data);
          if (!asked || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > maxClientBacklogBytes) return;
          let text: string;
          try {
            const jobOptions = hooks.jobOptions?.(asked.jobId) ?? null;
            text = JSON.stringify({ type: "details", jobActorId: asked.jobActorId, jobOptions });
          } catch {
            text = JSON.stringify({ type: "details", jobActorId: asked.jobActorId, jobOptions: null, unreadable: true });
          }
          // A reply the page would have to read past the backlog limit is not sent (options of a few MB, many requests).
          if (text.length <= MAX_DETAILS_BYTES) ws.send(text);
        } catch {
          // A page that went away meanwhile: nothing to answer.
        }
      });
      send(ws, {
        type: "init",
        machines,
        layouts,
        flows: flows.all(),
        actors: collector.actorRecords(),
        transitions: collector.transitions(),
        now: collector.time(),
        maxEvents,
      });
    });
  });

  const dropSlowClient = (client: WebSocket) => {
    const backlogBytes = client.bufferedAmount;
    // The close frame queues behind the backlog; ws cuts the connection if the page has not read up to it within its close timeout (30 s).
    client.close(SLOW_CLIENT_CLOSE_CODE, `too slow: more than ${maxClientBacklogBytes} bytes unread; reload the page`);
    hooks.onSlowClientDropped?.(backlogBytes);
  };
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const delta = collector.drain();
    if (delta.actors.length === 0 && delta.transitions.length === 0) return;
    const message = JSON.stringify({ type: "delta", ...delta, now: collector.time(), maxEvents });
    for (const client of wss.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      if (client.bufferedAmount > maxClientBacklogBytes) dropSlowClient(client);
      else client.send(message);
    }
  };
  // Flow jobs' wiring: sampled while a page is open; a change (new counts, a new layout) goes to every page.
  const flows = new FlowSampler(hooks.flows, flushMs, () => wss.clients.size > 0, (message) => {
    const text = JSON.stringify({ type: "flows", ...message });
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN && client.bufferedAmount <= maxClientBacklogBytes) client.send(text);
  });
  const stopListening = collector.onChange(() => {
    // Batches bursts into one frame per `flushMs`; unref'd so a viewer never keeps the process alive.
    timer ??= setTimeout(flush, flushMs).unref();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    stopListening();
    flows.stop();
    if (timer) clearTimeout(timer);
    if ((error as NodeJS.ErrnoException)?.code === "EADDRINUSE") {
      throw new ConfigurationError(`The viewer cannot listen on ${host}:${port}: the port is in use; pass another \`port\`, or 0 for a free one (read it from \`url\`)`, { cause: error });
    }
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/${token ? `?token=${encodeURIComponent(token)}` : ""}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stopListening();
        flows.stop();
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

/** The diagrams of the job and worker machines, laid out once per process (ELK takes tens of ms). */
let laidOut: Promise<Record<string, MachineLayout>> | undefined;
function machineLayouts(machines: Record<string, ReturnType<typeof machineGraph>>): Promise<Record<string, MachineLayout>> {
  laidOut ??= Promise.all(Object.entries(machines).map(async ([name, graph]) => [name, await layoutMachine(graph)] as const)).then((entries) =>
    Object.fromEntries(entries),
  );
  return laidOut;
}

/** The largest `details` reply sent (bytes of JSON): larger job options are not shown. */
const MAX_DETAILS_BYTES = 64 * 1024;

/** A page's `{ type: "details", jobActorId: "job:<name>/<jobId>" }`, checked (anything else is ignored). */
function detailsRequest(data: unknown): { jobActorId: string; jobId: string } | undefined {
  try {
    if ((data as { length?: number }).length !== undefined && (data as { length: number }).length > 1_000) return undefined;
    const text = String(data);
    if (text.length > 1_000) return undefined;
    const message = JSON.parse(text) as { type?: unknown; jobActorId?: unknown };
    if (message?.type !== "details" || typeof message.jobActorId !== "string" || !message.jobActorId.startsWith("job:")) return undefined;
    const slash = message.jobActorId.indexOf("/");
    return slash < 0 ? undefined : { jobActorId: message.jobActorId, jobId: message.jobActorId.slice(slash + 1) };
  } catch {
    return undefined;
  }
}
