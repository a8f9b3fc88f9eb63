import type { Redis } from "ioredis";

type Listener = (message: string) => void;

/**
 * One subscriber connection per backend, shared by everything that waits
 * for a job's news (data appended, input acknowledged, status, cancel): a
 * channel is subscribed while someone watches it. After a reconnect every
 * listener is called with `reconnected` (what was published meanwhile is
 * lost), so waiters look again.
 */
export class Notifier {
  private readonly channels = new Map<string, { listeners: Set<Listener>; ready: Promise<void> }>();

  constructor(private readonly subscriber: Redis) {
    subscriber.on("message", (channel: string, message: string) => {
      const watched = this.channels.get(channel);
      if (watched) for (const listener of [...watched.listeners]) listener(message);
    });
    let connectedOnce = false;
    subscriber.on("ready", () => {
      if (connectedOnce) for (const { listeners } of this.channels.values()) for (const listener of [...listeners]) listener("reconnected");
      connectedOnce = true;
    });
  }

  /** Calls `listener` with each message on `channel`; `ready` resolves once subscribed. */
  watch(channel: string, listener: Listener): { ready: Promise<void>; stop: () => void } {
    let watched = this.channels.get(channel);
    if (!watched) {
      const ready = this.subscriber.subscribe(channel).then(
        () => undefined,
        () => undefined,
      );
      watched = { listeners: new Set(), ready };
      this.channels.set(channel, watched);
    }
    watched.listeners.add(listener);
    const entry = watched;
    return {
      ready: entry.ready,
      stop: () => {
        if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
        if (this.channels.get(channel) === entry) {
          this.channels.delete(channel);
          this.subscriber.unsubscribe(channel).catch(() => {});
        }
      },
    };
  }
}
