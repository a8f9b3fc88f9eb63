/**
 * Child processes for multi-process tests: a TypeScript fixture run with
 * `node --import tsx`, telling the test what happens as JSON lines on
 * stdout. The test waits for lines, never for time, and ends every child it
 * started by its pid (`stopChildren`, in `afterEach`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** One JSON line a child printed: at least `event`; the rest as the fixture says. */
export type ChildLine = { readonly event: string } & Readonly<Record<string, unknown>>;

/** How a child ended: its exit code, or the signal that ended it. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running (or ended) child process. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Every JSON line printed so far, in order. */
  readonly lines: readonly ChildLine[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<ChildExit>;
  /**
   * The first line (printed already or later) that `matches`.
   *
   * @param timeoutMs default 10 000.
   * @throws Error (a rejection) naming `what`, with the child's stderr, when the child exits first or `timeoutMs` passes.
   */
  waitFor(what: string, matches: (line: ChildLine) => boolean, timeoutMs?: number): Promise<ChildLine>;
  /** Sends `signal` to the child's pid, unless it has exited. */
  signal(signal: NodeJS.Signals): void;
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Starts `node --import tsx <fixture> ...args` in the repository's root with
 * `env` added to this process's environment; stdout is read as JSON lines
 * (other lines are kept in the error messages), stderr is kept for errors.
 *
 * @param fixture path of the script, e.g. `fileURLToPath(new URL("./fixtures/x.ts", import.meta.url))`.
 * @throws Error when the process cannot be spawned (no pid).
 */
export function startChild(name: string, fixture: string, args: readonly string[], env: Readonly<Record<string, string>>): Child {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", fixture, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start child "${name}" (${fixture})`);
  const pid = child.pid;
  const lines: ChildLine[] = [];
  const other: string[] = [];
  let stderr = "";
  const listeners = new Set<() => void>();
  let exit: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) =>
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
      for (const listener of listeners) listener();
    }),
  );
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout! }).on("line", (text) => {
    try {
      lines.push(JSON.parse(text) as ChildLine);
    } catch {
      other.push(text);
      return;
    }
    for (const listener of listeners) listener();
  });
  const describe = () => `child "${name}" (pid ${pid})${exit ? `, exited ${JSON.stringify(exit)}` : ""}\nstdout (not JSON): ${other.join("\n")}\nstderr: ${stderr}`;

  return {
    name,
    pid,
    lines,
    exited,
    waitFor(what, matches, timeoutMs = 10_000) {
      return new Promise<ChildLine>((resolve, reject) => {
        const check = () => {
          const found = lines.find(matches);
          if (found) done(() => resolve(found));
          else if (exit) done(() => reject(new Error(`${describe()}\nexited before: ${what}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`${describe()}\ntimed out after ${timeoutMs} ms waiting for: ${what}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    signal(signal) {
      if (exit !== undefined) return;
      try {
        process.kill(pid, signal);
      } catch (error) {
        // Exited, not yet reaped: nothing to signal.
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
    },
  };
}

/** SIGKILLs every child of `children` that is still running (by its pid) and waits until all have exited. */
export async function stopChildren(children: readonly Child[]): Promise<void> {
  for (const child of children) child.signal("SIGKILL");
  await Promise.all(children.map((child) => child.exited));
}
