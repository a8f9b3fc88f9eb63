import type { Backend } from "../../src/backend/Backend.js";
import { memoryBackend } from "../../src/backend/memory/memoryBackend.js";
import { redisBackend } from "../../src/redis/index.js";
import { redisUrl, uniquePrefix } from "./redisServer.js";

/** A backend the conformance suite (and backend-agnostic tests) run against. */
export interface BackendFactory {
  /** What `LW_BACKEND` selects it by. */
  readonly name: string;
  /**
   * True when everything crossing the backend arrives as a copy (data,
   * records, events; errors rebuilt as their class), as it does between processes.
   */
  readonly copies: boolean;
  /**
   * How long (ms) a test waits before it concludes that something did not
   * happen (a job did not start, a write still waits). 0: one macrotask turn,
   * enough for a backend that does no I/O.
   */
  readonly quietMs: number;
  /**
   * True when what is written is there to read within the step: a reader's
   * `nextNow` and a consumer's `peekNow` see it at once (a backend that does
   * no I/O). False: a reader or consumer sees
   * it once it has read it from the store, so a test waits for it (`next`,
   * `peek`), as a reader in another process would.
   */
  readonly immediate: boolean;
  /**
   * Conformance cases (by id) this backend is known to miss; they run as
   * expected failures, so fixing the backend turns them red until the id
   * goes. Each id names a documented promise (of `Backend.ts`, or of the
   * backend's own docs) that the backend does not keep.
   */
  readonly knownGaps: ReadonlySet<string>;
  create(): Backend;
  /**
   * Another backend on the same store as `backend` (made by this factory):
   * another process of its env. Only for shared backends.
   */
  peer?(backend: Backend): Backend;
}

/** What the memory backend does not do yet of `Backend.ts` (and, for copy-per-receiver, of `memoryBackend`'s `copy`). */
const MEMORY_GAPS: ReadonlySet<string> = new Set([]);

/** The prefix of each Redis backend made here, so that a peer shares its keys. */
const redisPrefixes = new WeakMap<Backend, string>();

function redisOn(prefix: string): Backend {
  const backend = redisBackend({ connection: redisUrl(), prefix, retentionMs: 60_000, leaseMs: 5_000 });
  redisPrefixes.set(backend, prefix);
  return backend;
}

const AVAILABLE: readonly BackendFactory[] = [
  { name: "memory", copies: false, quietMs: 0, immediate: true, knownGaps: MEMORY_GAPS, create: () => memoryBackend() },
  { name: "memory-copy", copies: true, quietMs: 0, immediate: true, knownGaps: MEMORY_GAPS, create: () => memoryBackend({ copy: true }) },
  {
    name: "redis",
    copies: true,
    quietMs: 150,
    immediate: false,
    knownGaps: new Set([]),
    // Keys of each backend apart (a prefix of its own), kept a minute after their job ended.
    create: () => redisOn(uniquePrefix("suite")),
    peer: (backend) => {
      const prefix = redisPrefixes.get(backend);
      if (prefix === undefined) throw new Error("test: peer() of a backend this factory did not make");
      return redisOn(prefix);
    },
  },
];

/** Backends a `LW_BACKEND` left unset selects: those that need no service. */
const WITHOUT_SERVICES = ["memory", "memory-copy"];

/** Names `LW_BACKEND` accepts, including backends not built yet. */
const PLANNED: string[] = [];

/**
 * The backends `LW_BACKEND` selects (`memory`, `memory-copy` or `redis`):
 * the one named, or every available one when unset or empty.
 *
 * @throws Error when the name is unknown, or names a backend not available yet.
 * @example
 * describe.each(selectedBackends().map((factory) => [factory.name, factory] as const))("%s backend", (_name, factory) => { ... });
 */
export function selectedBackends(): BackendFactory[] {
  return selectBackends(process.env.LW_BACKEND);
}

/**
 * The one backend the behaviour suite runs on: the one `LW_BACKEND` names, or
 * `memory` when it is unset or empty.
 *
 * @throws Error as `selectBackends` does.
 */
export function suiteBackend(): BackendFactory {
  const name = process.env.LW_BACKEND?.trim() ?? "";
  return name === "" ? AVAILABLE[0]! : selectBackends(name)[0]!;
}

/** The backends a `LW_BACKEND` value selects; see `selectedBackends`. */
export function selectBackends(selection: string | undefined): BackendFactory[] {
  const name = selection?.trim() ?? "";
  if (name === "") return AVAILABLE.filter((candidate) => WITHOUT_SERVICES.includes(candidate.name));
  const factory = AVAILABLE.find((candidate) => candidate.name === name);
  if (factory) return [factory];
  const available = AVAILABLE.map((candidate) => candidate.name).join(", ");
  if (PLANNED.includes(name)) {
    throw new Error(`LW_BACKEND=${name}: that backend is not available yet; set LW_BACKEND to one of: ${available} (or leave it unset for all)`);
  }
  throw new Error(`Unknown LW_BACKEND ${JSON.stringify(selection)}; set it to one of: ${available} (or leave it unset for all)`);
}
