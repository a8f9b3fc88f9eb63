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
function upgradeStatus(url: string): Promise<number | "open"> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
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
});
