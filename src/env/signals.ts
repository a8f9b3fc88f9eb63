/** What the signal handler needs of an env. */
export interface SignalClosable {
  close(options: { graceMs: number }): Promise<void>;
  readonly logger: { info(message: string, fields?: Record<string, unknown>): void };
}

const SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/** Envs created with `handleSignals: true` and not yet closed, with their grace. */
const registered = new Map<SignalClosable, number>();
let installed = false;
/** Set once a signal arrived: a second one exits at once. */
let shuttingDown = false;

/**
 * Closes `env` (with `graceMs`) when the process gets SIGINT or SIGTERM. One
 * process-wide handler serves every env: on the first signal it closes all
 * registered envs in parallel, then re-raises the signal once, after the
 * slowest close (the longest grace), so the process ends by that signal as
 * it would have without liveworker. A second signal during that shutdown
 * re-raises at once (the "press Ctrl-C twice" habit).
 *
 * @returns a function that unregisters `env` (called by `env.close()`).
 */
export function closeOnSignals(env: SignalClosable, graceMs: number): () => void {
  registered.set(env, graceMs);
  install();
  return () => {
    registered.delete(env);
    if (registered.size === 0 && !shuttingDown) uninstall();
  };
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  if (shuttingDown) {
    reraise(signal);
    return;
  }
  shuttingDown = true;
  const envs = [...registered];
  const closing = envs.map(([env, graceMs]) => {
    env.logger.info(`received ${signal}: closing env with ${graceMs} ms grace`);
    return env.close({ graceMs });
  });
  void Promise.allSettled(closing).then(() => reraise(signal));
}

/** Ends the process by `signal`, as its default action would have. */
function reraise(signal: NodeJS.Signals): void {
  uninstall();
  process.kill(process.pid, signal);
}
