import { request } from "node:http";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ConfigurationError } from "../src/index.js";
import type { InspectorServer } from "../src/inspect/server.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

const viewers: InspectorServer[] = [];
afterEach(async () => {
  await Promise.all(viewers.splice(0).map((viewer) => viewer.close()));
  await closeAll();
});

/** The first non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.family === "IPv4" && !info.internal) return info.address;
  }
  return undefined;
}

/** Resolves with the HTTP status the server answers a WebSocket upgrade with, or "open". */
function upgradeStatus(url: string, headers: { origin?: string; host?: string } = {}): Promise<number | "open"> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on("open", () => {
      resolve("open");
      socket.close();
    });
    socket.on("error", (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** GETs `path` from 127.0.0.1:`port` with the given headers (fetch cannot set `Host`); resolves with status and body. */
function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: "127.0.0.1", port, path, headers }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("viewer security", () => {
  it("binds to loopback by default: the page answers on 127.0.0.1 and nothing listens on the machine's other addresses", async () => {
    const { env } = createTestEnv();
    const viewer = await env.serveInspector();
    viewers.push(viewer);
    const url = new URL(viewer.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect((await fetch(viewer.url)).status).toBe(200);
    const external = externalAddress();
    if (external) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: external, port: Number(url.port) });
        socket.once("connect", () => {
          socket.destroy();
          resolve("connected");
        });
        socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      });
      expect(outcome).toBe("ECONNREFUSED");
    }
  });

  it("refuses to bind beyond loopback without a token", async () => {
    const { env } = createTestEnv();
    await expect(env.serveInspector({ host: "0.0.0.0" })).rejects.toThrow(ConfigurationError);
    await expect(env.serveInspector({ host: "0.0.0.0" })).rejects.toThrow(/pass a token/);
  });

  it("with a token, rejects a missing or wrong token with 401 on the page and the WebSocket, and accepts the right one", async () => {
    const { env } = createTestEnv();
    const viewer = await env.serveInspector({ host: "0.0.0.0", token: "kitchen-secret" });
    viewers.push(viewer);
    const withToken = new URL(viewer.url);
    expect(withToken.searchParams.get("token")).toBe("kitchen-secret");
    const base = `http://127.0.0.1:${withToken.port}`;
    const ws = `ws://127.0.0.1:${withToken.port}/ws`;

    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/?token=kitchen-secre`)).status).toBe(401);
    expect((await fetch(`${base}/?token=kitchen-secretx`)).status).toBe(401);
    const page = await fetch(`${base}/?token=kitchen-secret`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("liveworker viewer");

    expect(await upgradeStatus(ws)).toBe(401);
    expect(await upgradeStatus(`${ws}?token=wrong`)).toBe(401);
    expect(await upgradeStatus(`${ws}?token=kitchen-secret`)).toBe("open");
  });

  it("refuses WebSocket upgrades from a foreign Origin (403) and accepts the viewer's own origins and non-browser clients", async () => {
    const { env } = createTestEnv();
    const viewer = await env.serveInspector();
    viewers.push(viewer);
    const { port } = new URL(viewer.url);
    const ws = `ws://127.0.0.1:${port}/ws`;

    for (const origin of ["http://attacker.example", `http://attacker.example:${port}`, `http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`, "null"]) {
      expect(await upgradeStatus(ws, { origin }), origin).toBe(403);
    }
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]) {
      expect(await upgradeStatus(ws, { origin }), origin).toBe("open");
    }
    expect(await upgradeStatus(ws)).toBe("open");
  });

  it("refuses a foreign Host (DNS rebinding) with 421 on the page and the WebSocket, token or not", async () => {
    const { env } = createTestEnv();
    const open = await env.serveInspector();
    const withToken = await env.serveInspector({ host: "0.0.0.0", token: "kitchen-secret" });
    viewers.push(open, withToken);
    for (const [viewer, query] of [[open, ""], [withToken, "?token=kitchen-secret"]] as const) {
      const { port } = new URL(viewer.url);
      for (const host of ["attacker.example", `attacker.example:${port}`, `127.0.0.1:${Number(port) + 1}`, `localhost.attacker.example:${port}`]) {
        const page = await get(Number(port), `/${query}`, { host });
        expect(page.status, host).toBe(421);
        expect(page.body).not.toContain("liveworker viewer");
        expect(await upgradeStatus(`ws://127.0.0.1:${port}/ws${query}`, { host }), host).toBe(421);
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
        const page = await get(Number(port), `/${query}`, { host });
        expect(page.status, host).toBe(200);
        expect(page.body).toContain("liveworker viewer");
        expect(await upgradeStatus(`ws://127.0.0.1:${port}/ws${query}`, { host }), host).toBe("open");
      }
    }
  });

  it("bound to a machine address with a token, accepts that address as Host and refuses loopback names and others", async ({ skip }) => {
    const external = externalAddress();
    if (!external) return skip("this machine has no non-loopback IPv4 address");
    const { env } = createTestEnv();
    const viewer = await env.serveInspector({ host: external, token: "kitchen-secret" });
    viewers.push(viewer);
    const { port, hostname } = new URL(viewer.url);
    expect(hostname).toBe(external);
    const page = await fetch(viewer.url);
    expect(page.status).toBe(200);
    expect(await upgradeStatus(`ws://${external}:${port}/ws?token=kitchen-secret`, { origin: `http://${external}:${port}` })).toBe("open");
    for (const host of ["attacker.example", `localhost:${port}`]) {
      const refused = await new Promise<number>((resolve, reject) => {
        request({ host: external, port, path: "/?token=kitchen-secret", headers: { host } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
          .on("error", reject)
          .end();
      });
      expect(refused, host).toBe(421);
    }
    expect(await upgradeStatus(`ws://${external}:${port}/ws?token=kitchen-secret`, { origin: "http://attacker.example" })).toBe(403);
  });
});
