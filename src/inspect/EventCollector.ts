import { describeError } from "../errors.js";
import type { AnyActorRef, InspectionEvent } from "xstate";
import { isFinalStatus, type LifecycleEvent } from "../backend/events.js";
import { readableActor } from "./inspectable.js";

/** A job or worker actor as the viewer lists it. */
export interface ActorRecord {
  /** The actor id: `job:<spec>/<jobId>` or `worker:<name>/<jobId>`. */
  id: string;
  kind: "job" | "worker";
  /** For a worker, the id of its job actor. */
  parentId: string | undefined;
  /** Current machine state (`"executing"`; nested states dotted). */
  state: string;
  /** XState snapshot status: `"active"`, `"done"`, `"error"` or `"stopped"`. */
  status: string;
  /** A worker's attempt number. */
  attempt: number | undefined;
  /** Message of the error the actor is in (worker `error`/`crashed`, failed job), or a cancelled job's reason. */
  error: string | undefined;
  /** When the actor was first seen and last changed (collector clock). */
  firstAt: number;
  lastAt: number;
}

/** One state change of one actor: the timeline's raw material. */
export interface TransitionRecord {
  seq: number;
  at: number;
  actorId: string;
  state: string;
  attempt: number | undefined;
  error: string | undefined;
  /** The error's stack, when it has one (its first 12 lines). */
  stack?: string;
  /** True when a worker enters `recovering`: a restart was granted. */
  restart: boolean;
  /** On a restart: the backoff granted before the next attempt (ms), when known. */
  backoffMs?: number;
}

/** Options of `EventCollector`. */
export interface EventCollectorOptions {
  /** Transitions kept; older ones (and the finished actors only they mention) are dropped. Default 10 000. */
  maxEvents?: number;
  /** Time source for `at`. Default `Date.now`. */
  now?: () => number;
}

/** What changed since the last `drain()`. */
export interface CollectorDelta {
  actors: ActorRecord[];
  transitions: TransitionRecord[];
}

/**
 * Turns XState inspection events of liveworker jobs into actor records and a
 * bounded list of state changes (the viewer's timeline). Ignores actors that
 * are not jobs or workers (the attempts' promise actors) and snapshots that
 * change no state, so its cost per event is a map lookup.
 *
 * @example
 * const collector = new EventCollector({ maxEvents: 1_000 });
 * const env = LiveEnv.create({ inspect: (event) => collector.observe(event) });
 * // … run jobs …
 * collector.transitions(); // [{ actorId: "worker:chop/j1", state: "initializing", … }, …]
 */
export class EventCollector {
  private readonly maxEvents: number;
  private readonly now: () => number;
  private readonly actors = new Map<string, ActorRecord>();
  private log: TransitionRecord[] = [];
  /** How many of `log`'s transitions each actor has. */
  private readonly retained = new Map<string, number>();
  private seq = 0;
  private changedActors = new Set<string>();
  private newTransitions: TransitionRecord[] = [];
  private readonly listeners = new Set<() => void>();
  /** Actors this process inspects (`observe`): lifecycle events of theirs are not needed. */
  private readonly local = new Set<string>();
  /** When each actor running at `seed` was read: lifecycle events older than that are replays. */
  private readonly seededAt = new Map<string, number>();
  /** When the first worker of a still `queued` job was seen (its job's start), by job id. */
  private readonly spawnedAt = new Map<string, number>();
  /** Job actors known from lifecycle events (and not from `observe`): every job, when the collector follows lifecycle events only. */
  private readonly lifecycleKnown = new Set<string>();
  /** Backoffs of other processes' restarts (`worker.restart`, which comes before its `recovering`), by worker id. */
  private readonly grantedBackoff = new Map<string, number>();

  constructor(options: EventCollectorOptions = {}) {
    this.maxEvents = options.maxEvents ?? 10_000;
    if (!Number.isInteger(this.maxEvents) || this.maxEvents < 1) {
      throw new RangeError(`maxEvents must be a whole number >= 1; got ${String(options.maxEvents)}`);
    }
    this.now = options.now ?? Date.now;
  }

  /**
   * Feeds one XState inspection event (use as an `inspect` function): raw, as
   * XState makes it, or as an env's `inspect` gets it (workers named by their
   * system id, errors serialised).
   */
  observe(event: InspectionEvent): void {
    // `@xstate.actor` comes before the actor has a snapshot; its first `@xstate.snapshot` follows at start.
    if (event.type !== "@xstate.snapshot") return;
    const actorRef = readableActor(event.actorRef as AnyActorRef);
    const kind = kindOf(actorRef.id);
    if (!kind) return;
    this.local.add(actorRef.id);
    this.lifecycleKnown.delete(actorRef.id);
    this.record(actorRef, kind, event.snapshot as SnapshotLike);
  }

  /**
   * Feeds one lifecycle event of a job that may run in another process (a
   * shared backend), or that is still queued here (its actor is made when it
   * starts): `job.status` and `worker.state` move the job's and the worker's
   * records as their actors' snapshots would. Ignored for an actor this
   * process inspects (`observe`): its snapshots say more.
   */
  observeLifecycle(event: LifecycleEvent): void {
    if (event.type === "job.status") {
      const id = `job:${event.specName}/${event.jobId}`;
      if (this.local.has(id) || this.seededLater(id, event.at)) return;
      this.lifecycleKnown.add(id);
      this.apply(id, "job", undefined, event.status, isFinalStatus(event.status) ? "done" : "active", undefined, event.error, event.at);
    } else if (event.type === "worker.state") {
      const id = `worker:${event.workerName}/${event.jobId}`;
      if (this.local.has(id) || this.seededLater(id, event.at)) return;
      const final = event.state === "done" || event.state === "crashed" || event.state === "stopped";
      const backoffMs = event.state === "recovering" ? this.grantedBackoff.get(id) : undefined;
      this.grantedBackoff.delete(id);
      this.apply(id, "worker", `job:${event.specName}/${event.jobId}`, event.state, final ? "done" : "active", event.attempt, event.error, event.at, backoffMs);
    } else if (event.type === "worker.restart") {
      const id = `worker:${event.workerName}/${event.jobId}`;
      if (!this.local.has(id) && Number.isFinite(event.delayMs)) this.grantedBackoff.set(id, event.delayMs);
    }
  }

  /**
   * Records a job actor that was already running (and its workers) when the
   * collector attached: their states now. Their lifecycle events
   * (`observeLifecycle`) move them on from there.
   */
  seed(root: AnyActorRef): void {
    // Named as inspection events name it (a worker's system id), so its later events find this record.
    const actor = readableActor(root);
    const kind = kindOf(actor.id);
    if (!kind) return;
    const snapshot = actor.getSnapshot() as SnapshotLike;
    this.record(actor, kind, snapshot);
    // A shared backend replays the job's earlier events after this: they are older than what the actor said.
    this.seededAt.set(actor.id, this.actors.get(actor.id)?.lastAt ?? this.now());
    for (const child of Object.values(snapshot.children ?? {})) if (child) this.seed(child);
  }

  /** The collector's time now (its `now` option: the env's clock), the clock every `at` it records is on. */
  time(): number {
    return this.now();
  }

  /** Records a job that waits in its queue when the collector attaches (no actor yet): `queued`, moved on by its lifecycle events. */
  seedQueued(name: string, jobId: string): void {
    const id = `job:${name}/${jobId}`;
    if (this.actors.has(id)) return;
    this.apply(id, "job", undefined, "queued", "active", undefined, undefined);
    this.seededAt.set(id, this.actors.get(id)!.lastAt);
    this.lifecycleKnown.add(id);
  }

  /** True for an event older than the seed of actor `id` (a replay of what its snapshot already said). */
  private seededLater(id: string, at: number): boolean {
    const seeded = this.seededAt.get(id);
    return seeded !== undefined && at < seeded;
  }

  /** Ids of the job actors known from lifecycle events (not from `observe`), still retained. */
  lifecycleJobs(): string[] {
    return [...this.lifecycleKnown];
  }

  /** Every actor still retained, oldest first. */
  actorRecords(): ActorRecord[] {
    return [...this.actors.values()].map((record) => ({ ...record }));
  }

  /** Retained state changes, oldest first (at most `maxEvents`). */
  transitions(): TransitionRecord[] {
    return [...this.log];
  }

  /** Returns and forgets what changed since the previous call. */
  drain(): CollectorDelta {
    const delta = {
      actors: [...this.changedActors].flatMap((id) => {
        const record = this.actors.get(id);
        return record ? [{ ...record }] : [];
      }),
      transitions: this.newTransitions,
    };
    this.changedActors = new Set();
    this.newTransitions = [];
    return delta;
  }

  /** Calls `listener` after each recorded change. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(actorRef: AnyActorRef, kind: "job" | "worker", snapshot: SnapshotLike): void {
    const context = snapshot.context ?? {};
    const attempt = typeof context.attempt === "number" ? context.attempt : undefined;
    const parentId = (actorRef as { _parent?: AnyActorRef })._parent?.id;
    // A job's row shows its statuses, as its lifecycle events do (`stopping` drains workers and reads as `running`).
    const state = kind === "job" ? jobStatus(stateName(snapshot.value)) : stateName(snapshot.value);
    // The worker machine keeps the backoff its supervisor granted (`RESTART.delayMs`) while it recovers.
    const backoffMs = kind === "worker" && state === "recovering" && typeof context.backoffMs === "number" ? context.backoffMs : undefined;
    // A cancelled job's cause is its reason (the job machine's `cancelReason`).
    const cause = kind === "job" && state === "cancelled" && typeof context.cancelReason === "string" ? context.cancelReason : context.error;
    this.apply(actorRef.id, kind, parentId, state, snapshot.status, attempt, cause, undefined, backoffMs);
  }

  /** Records that actor `id` is in `state` (a transition when its state or attempt changed). */
  /** `when`: the event's own time (a lifecycle event, maybe replayed long after); default now. `backoffMs`: a restart's granted backoff. */
  private apply(
    id: string,
    kind: "job" | "worker",
    parentId: string | undefined,
    state: string,
    status: string,
    attempt: number | undefined,
    cause: unknown,
    when?: number,
    backoffMs?: number,
  ): void {
    let at = typeof when === "number" && Number.isFinite(when) ? when : this.now();
    const error = errorOf(kind, state, cause);
    let record = this.actors.get(id);
    if (record && record.state === state && record.status === status && record.attempt === attempt) return;
    // XState reports a job's spawned workers before the job's own new state: the job started when they did.
    if (!record && kind === "worker" && parentId !== undefined && this.actors.get(parentId)?.state === "queued" && !this.spawnedAt.has(parentId)) this.spawnedAt.set(parentId, at);
    if (kind === "job" && record?.state === "queued" && state !== "queued") {
      at = Math.min(at, this.spawnedAt.get(id) ?? at);
      this.spawnedAt.delete(id);
    }
    const entered = !record || record.state !== state || record.attempt !== attempt;
    if (!record) {
      record = { id, kind, parentId, state, status, attempt, error, firstAt: at, lastAt: at };
      this.actors.set(id, record);
    } else {
      Object.assign(record, { state, status, attempt, error, lastAt: at });
    }
    this.changedActors.add(record.id);
    if (entered) {
      const transition: TransitionRecord = {
        seq: ++this.seq,
        at,
        actorId: id,
        state,
        attempt,
        error,
        ...(error !== undefined && stackOf(cause) !== undefined ? { stack: stackOf(cause) } : {}),
        restart: kind === "worker" && state === "recovering",
        ...(backoffMs !== undefined ? { backoffMs } : {}),
      };
      this.log.push(transition);
      this.retained.set(id, (this.retained.get(id) ?? 0) + 1);
      this.newTransitions.push(transition);
      if (this.newTransitions.length > this.maxEvents) this.newTransitions.splice(0, this.newTransitions.length - this.maxEvents);
      this.trim();
    } else if (record.status !== "active" && !this.retained.has(id)) {
      // Ended without a change of state, its own changes already dropped: nothing mentions it any more.
      this.forget(id);
    }
    for (const listener of this.listeners) listener();
  }

  /**
   * Drops the oldest tenth past the cap at once, and the ended actors only
   * they mentioned: O(transitions dropped), with a count of retained
   * transitions per actor (a scan of every actor and transition at each trim
   * cost the viewer a twentieth of a short job's CPU).
   */
  private trim(): void {
    if (this.log.length <= this.maxEvents) return;
    const drop = this.log.length - Math.floor(this.maxEvents * 0.9);
    for (let i = 0; i < drop; i++) {
      const id = this.log[i]!.actorId;
      const left = this.retained.get(id)! - 1;
      if (left > 0) {
        this.retained.set(id, left);
        continue;
      }
      this.retained.delete(id);
      if (this.actors.get(id)?.status !== "active") this.forget(id);
    }
    this.log = this.log.slice(drop);
  }

  private forget(id: string): void {
    this.actors.delete(id);
    this.local.delete(id);
    this.lifecycleKnown.delete(id);
    this.grantedBackoff.delete(id);
    this.spawnedAt.delete(id);
    this.seededAt.delete(id);
  }
}

interface SnapshotLike {
  value?: unknown;
  status: string;
  context?: { attempt?: unknown; error?: unknown; backoffMs?: unknown; cancelReason?: unknown };
  children?: Record<string, AnyActorRef | undefined>;
}

/** The status a job machine state reads as (as `job.status` events say it): any state but these four is `running`. */
function jobStatus(machineState: string): string {
  return machineState === "queued" || machineState === "completed" || machineState === "failed" || machineState === "cancelled" ? machineState : "running";
}

function kindOf(id: string): "job" | "worker" | undefined {
  if (id.startsWith("job:")) return "job";
  if (id.startsWith("worker:")) return "worker";
  return undefined;
}

/** `"a"` for `"a"`, `"a.b"` for `{ a: "b" }`. */
function stateName(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const [key, child] = Object.entries(value)[0] ?? [];
    return key === undefined ? "" : child && (typeof child === "string" || Object.keys(child).length > 0) ? `${key}.${stateName(child)}` : key;
  }
  return "";
}

/** Longest error message kept (characters): the viewer's memory and a page's first message stay bounded. */
const MAX_MESSAGE = 2_000;
/** Longest line of a stack kept (its first line repeats the message). */
const MAX_STACK_LINE = 300;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text);

/** An error's stack (a thrown `Error`, or one serialised for inspectors): its first 12 lines, each cut to 300 characters. */
function stackOf(error: unknown): string | undefined {
  let stack: unknown;
  try {
    stack = typeof error === "object" && error !== null ? (error as { stack?: unknown }).stack : undefined;
  } catch {
    return undefined;
  }
  return typeof stack === "string" ? stack.split("\n").slice(0, 12).map((line) => cut(line, MAX_STACK_LINE)).join("\n") : undefined;
}

function errorOf(kind: "job" | "worker", state: string, error: unknown): string | undefined {
  const text = errorText(kind, state, error);
  return text === undefined ? undefined : cut(text, MAX_MESSAGE);
}

function errorText(kind: "job" | "worker", state: string, error: unknown): string | undefined {
  // A cancelled job keeps why (its reason); a failed job and a failing worker keep their error.
  const inError = kind === "worker" ? state === "error" || state === "crashed" : state === "failed" || state === "cancelled";
  if (!inError || (state === "cancelled" && error === undefined)) return undefined;
  // A failure with no error value (`throw undefined`) still is a failure: it gets a mark and a cause.
  if (error === undefined) return "undefined (the attempt failed without an error value: `throw undefined`)";
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  // Inspectors get errors serialised (`{ name, message, … }`).
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    const { name, message } = error as { name?: unknown; message: string };
    return typeof name === "string" ? `${name}: ${message}` : message;
  }
  return describeError(error);
}
