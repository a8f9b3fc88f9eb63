import type { StreamKey } from "../backend/Backend.js";
import type { ChangeSignal } from "./ChangeSignal.js";
import type { RedisContext } from "./context.js";

/** What a reader or consumer of a Redis job stream needs of its stream (`RedisJobStream`). */
export interface StreamHandle {
  readonly ctx: RedisContext;
  readonly key: StreamKey;
  readonly label: string;
  /** Messages an output keeps for readers that come later (`StreamLimits.historyLimit`). */
  readonly options: { readonly historyLimit: number };
  /** Within its job: `<role>:<node>/<tag>`. */
  readonly suffix: string;
  readonly streamKey: string;
  readonly jobKey: string;
  readonly channel: string;
  /** Notifications of the job's channel. */
  readonly changes: ChangeSignal;
  /** Resolves once the job's channel is subscribed. */
  watching(): Promise<void>;
  /** True once this process knows the stream ended (or failed). */
  readonly closedHere: boolean;
  /** Set once Redis lost the job's data (`RedisDataLostError`): cursors end with it. */
  readonly lost: Error | undefined;
  /** A reader found the stream's end (or failure). */
  learnClosed(reason: string, error?: unknown): void;
  /** A cursor (reader, consumer) of this process opened: the handle keeps the job's channel for it until `detach`. */
  attach(): void;
  /** The cursor read the end, or was closed. */
  detach(): void;
}
