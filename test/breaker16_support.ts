/** Shared setup of the breaker16 browser tests (issue 16's viewer): Debian chromium through playwright-core. */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";

export const CHROMIUM = "/usr/bin/chromium";
export const PAGE_WAIT_MS = 15_000;
export const silent = { debug() {}, info() {}, warn() {}, error() {} };

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/ensure-chromium.sh`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

/** Launches the browser before a file's tests and closes it after; the returned proxy is the browser once launched. */
export function useBrowser(): Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launch();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  return new Proxy({} as Browser, {
    get: (_, key) => {
      const value = Reflect.get(browser!, key) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(browser) : value;
    },
  });
}

export async function openViewer(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.waitForSelector("#connection.open", { timeout: PAGE_WAIT_MS });
  return page;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ViewerInit {
  actors: Array<{ id: string; kind: string; parentId?: string; state: string; status: string; attempt?: number; error?: string }>;
  transitions: Array<{ actorId: string; at: number; state: string; restart: boolean; error?: string; stack?: string; backoffMs?: number }>;
  now: number;
}

/** What the viewer sends a page that connects now (its first message). */
export async function viewerInit(pageUrl: string): Promise<ViewerInit> {
  const { WebSocket } = await import("ws");
  const url = new URL(pageUrl);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${url.host}/ws${url.search}`);
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as ViewerInit & { type: string };
      if (message.type !== "init") return;
      socket.close();
      resolve(message);
    });
    socket.once("error", reject);
  });
}
