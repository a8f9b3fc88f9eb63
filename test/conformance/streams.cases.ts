/** Conformance, `StreamStore` and `JobStream`: order, readers, history, ends, backpressure, guards, `last()`. */
import { describe, expect, it } from "vitest";
import { StreamClosedError, UnrecoverableError } from "../../src/errors.js";
import { TestGuard, failureOf, readAll, stillPending, streamKey, streamOptions, until } from "../helpers/backendProbes.js";
import type { Conformance } from "./context.js";

/** Registers the cases (inside one backend's `describe`). */
export function streamCases({ factory, withJob, arrived, peekArrived, nothingMore, unlessGap, whenCopying }: Conformance): void {
  describe("StreamStore and JobStream", () => {
    it("opens the same stream for the same key, and another for another job, node, tag or role", async () => {
      const backend = await withJob("j1", "j2");
      const stream = backend.streams.open(streamKey("j1"), streamOptions());
      expect(backend.streams.open(streamKey("j1"), streamOptions())).toBe(stream);
      const others = [
        streamKey("j2"),
        streamKey("j1", { node: "slice" }),
        streamKey("j1", { tag: "log" }),
        streamKey("j1", { role: "input" }),
      ].map((key) => backend.streams.open(key, streamOptions()));
      expect(new Set([stream, ...others]).size).toBe(5);
      await stream.append("only in j1");
      for (const other of others) expect(await other.last()).toBeUndefined();
    });

    it("keeps the options of the first open", async () => {
      const backend = await withJob();
      const stream = backend.streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      backend.streams.open(streamKey("j1"), streamOptions({ highWaterMark: 100 }));
      stream.reader();
      expect(await stillPending(factory, stream.append("a"))).toBe(true);
    });

    it("forgets a job's streams on dispose: the next open makes a new one, the old one stays usable", async () => {
      const backend = await withJob();
      const old = backend.streams.open(streamKey("j1"), streamOptions());
      await old.append("before");
      backend.streams.dispose("j1");
      const fresh = backend.streams.open(streamKey("j1"), streamOptions());
      expect(fresh).not.toBe(old);
      // A shared backend forgets its own handles only: the job's data stays for other processes until the job is forgotten (StreamStore.dispose).
      if (backend.shared) expect(await fresh.last()).toMatchObject({ data: "before" });
      else expect(await fresh.last()).toBeUndefined();
      await old.append("after");
      old.end("done");
      expect(await readAll(old.reader())).toEqual(["before", "after"]);
    });

    it("names the stream, its job and spec in its label", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1", { role: "input", tag: "default" }), streamOptions());
      expect(stream.label).toContain('"default"');
      expect(stream.label).toContain('"j1"');
      expect(stream.label).toContain('"chop"');
    });

    it("keeps append order, offsets counting from 0", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      for (const data of ["a", "b", "c"]) await stream.append(data);
      const messages = [await arrived(reader), await arrived(reader), await arrived(reader)];
      expect(messages.map((message) => [message?.offset, message?.data])).toEqual([
        [0, "a"],
        [1, "b"],
        [2, "c"],
      ]);
      expect(await nothingMore(reader)).toBe(true);
    });

    it("gives each reader its own cursor", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const eager = stream.reader();
      const lazy = stream.reader();
      await stream.append("a");
      await stream.append("b");
      expect([(await arrived(eager))?.data, (await arrived(eager))?.data]).toEqual(["a", "b"]);
      expect((await arrived(lazy))?.data).toBe("a");
      const another = stream.reader();
      expect((await arrived(another))?.data).toBe("a");
      expect((await arrived(lazy))?.data).toBe("b");
    });

    it("starts a live reader at the next message appended, skipping what came before", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      await stream.append("old");
      const live = stream.reader("live");
      expect(live.nextNow()).toBeUndefined();
      await stream.append("new");
      stream.end("done");
      expect(await readAll(live)).toEqual(["new"]);
    });

    it("starts a late reader at the oldest message the history limit keeps", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ historyLimit: 2 }));
      for (const data of [1, 2, 3, 4, 5]) await stream.append(data);
      stream.end("done");
      const late = stream.reader();
      expect((await arrived(late))?.offset).toBe(3);
      expect(await readAll(late)).toEqual([5]);
    });

    it("keeps what an open reader has not read, beyond the history limit", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ historyLimit: 1 }));
      const reader = stream.reader();
      for (const data of [1, 2, 3, 4]) await stream.append(data);
      stream.end("done");
      expect(await readAll(reader)).toEqual([1, 2, 3, 4]);
      expect(await readAll(stream.reader())).toEqual([4]);
    });

    it("nextNow takes only what is there now; next waits and resolves on the next append", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      expect(reader.nextNow()).toBeUndefined();
      const waiting = reader.next();
      expect(await stillPending(factory, waiting)).toBe(true);
      await stream.append("a");
      expect((await waiting)?.data).toBe("a");
      await stream.append("b");
      expect((await arrived(reader))?.data).toBe("b");
      expect(reader.nextNow()).toBeUndefined();
    });

    it("ends: readers finish after the last message, appends fail with StreamClosedError naming the stream", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      const waiting = stream.reader("live").next();
      await stream.append("a");
      const idle = stream.reader("live");
      const idleWait = idle.next();
      expect(stream.closed).toBeUndefined();
      stream.end("job completed");
      stream.end("ended again");
      expect(stream.closed?.reason).toBe("job completed");
      expect(stream.closed?.error).toBeUndefined();
      expect((await waiting)?.data).toBe("a");
      expect(await idleWait).toBeUndefined();
      expect(await readAll(reader)).toEqual(["a"]);
      const error = await failureOf(() => stream.append("late"));
      expect(error).toBeInstanceOf(StreamClosedError);
      expect((error as Error).message).toContain(stream.label);
      expect((await stream.last())?.data).toBe("a");
    });

    it("fails: readers and the consumer reject with the error after the last message; appends fail", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const reader = output.reader();
      await output.append("a");
      await input.append("x");
      const consumer = input.consumer();
      const failure = new UnrecoverableError("oven on fire");
      output.fail(failure, "job failed");
      input.fail(failure, "job failed");
      expect(output.closed?.reason).toBe("job failed");
      expect((await reader.next())?.data).toBe("a");
      await expect(reader.next()).rejects.toThrow("oven on fire");
      await expect(output.reader("live").next()).rejects.toBeInstanceOf(UnrecoverableError);
      const last = (await consumer.peek())!;
      expect(last.data).toBe("x");
      consumer.take(last);
      await expect(consumer.peek()).rejects.toThrow("oven on fire");
      expect(await failureOf(() => output.append("late"))).toBeInstanceOf(StreamClosedError);
    });

    whenCopying("gives each reader of a failed stream a copy of its own of the error, rebuilt as its class", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const waiting = output.reader().next();
      const failure = new UnrecoverableError("oven on fire");
      output.fail(failure, "job failed");
      const errors = [await failureOf(() => waiting), await failureOf(() => output.reader().next()), await failureOf(() => output.reader().next())];
      for (const error of errors) {
        expect(error).toBeInstanceOf(UnrecoverableError);
        expect(error).not.toBe(failure);
        expect((error as Error).message).toBe("oven on fire");
      }
      expect(new Set(errors).size).toBe(errors.length);
    });

    it("rejects a pending next or peek with the canceller's reason once it fires, and at once after", async () => {
      const backend = await withJob();
      const reader = backend.streams.open(streamKey("j1"), streamOptions()).reader();
      const consumer = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions()).consumer();
      const attempt = new TestGuard();
      const next = reader.next(attempt);
      const peek = consumer.peek(attempt);
      expect(await stillPending(factory, next)).toBe(true);
      expect(await stillPending(factory, peek)).toBe(true);
      const reason = new Error("attempt 1 abandoned");
      attempt.cancel(reason);
      await expect(next).rejects.toBe(reason);
      await expect(peek).rejects.toBe(reason);
      await expect(reader.next(attempt)).rejects.toBe(reason);
      await expect(consumer.peek(attempt)).rejects.toBe(reason);
    });

    it("makes an output's writer wait once its slowest reader is highWaterMark behind, until that reader reads", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 2 }));
      const fast = stream.reader();
      const slow = stream.reader();
      expect(await stillPending(factory, stream.append("a"))).toBe(false);
      const full = stream.append("b");
      expect(await stillPending(factory, full)).toBe(true);
      await arrived(fast);
      await arrived(fast);
      expect(await stillPending(factory, full)).toBe(true);
      await arrived(slow);
      await full;
    });

    it("lets a closed reader hold no writer back", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      const reader = stream.reader();
      const full = stream.append("a");
      expect(await stillPending(factory, full)).toBe(true);
      reader.close();
      reader.close();
      await full;
      expect(await stillPending(factory, stream.append("b"))).toBe(false);
    });

    it("never makes the writer of an output without readers wait", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 2, historyLimit: 10 }));
      for (let n = 0; n < 10; n++) expect(await stillPending(factory, stream.append(n))).toBe(false);
    });

    it("makes an input's writer wait once highWaterMark messages are unacknowledged, until the consumer acks", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1", { role: "input" }), streamOptions({ highWaterMark: 2 }));
      expect(await stillPending(factory, stream.append("a"))).toBe(false);
      const full = stream.append("b");
      expect(await stillPending(factory, full)).toBe(true);
      const consumer = stream.consumer();
      consumer.take((await peekArrived(consumer))!);
      expect(await stillPending(factory, full)).toBe(true);
      consumer.ack();
      await full;
    });

    it("rejects a waiting writer with its guard's reason once the guard fires", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      stream.reader();
      const attempt = new TestGuard();
      const full = stream.append("a", attempt);
      expect(await stillPending(factory, full)).toBe(true);
      const reason = new Error("attempt 1 abandoned");
      attempt.cancel(reason);
      await expect(full).rejects.toBe(reason);
    });

    unlessGap("writer-waits-for-room")("keeps a writer waiting for room when another writer's guard fires", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1", { role: "input" }), streamOptions({ highWaterMark: 1 }));
      const feeder = stream.append("from a client");
      const upstream = new TestGuard();
      const piped = stream.append("from upstream", upstream);
      upstream.cancel(new Error("upstream attempt abandoned"));
      await expect(piped).rejects.toThrow("upstream attempt abandoned");
      expect(await stillPending(factory, feeder)).toBe(true);
    });

    it("releases a writer waiting for room when the stream ends (it does not hang)", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ highWaterMark: 1 }));
      stream.reader();
      const full = stream.append("a");
      let settled = false;
      full.then(
        () => (settled = true),
        () => (settled = true),
      );
      stream.end("job completed");
      await until(() => settled, "the waiting writer to be released");
    });

    it("writes nothing when the writer's guard refuses (assertLive throws)", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions());
      const reader = stream.reader();
      const stale = new TestGuard();
      const reason = new Error("attempt 1 is stale");
      stale.cancel(reason);
      expect(await failureOf(() => stream.append("from a stale attempt", stale))).toBe(reason);
      expect(reader.nextNow()).toBeUndefined();
      expect(await stream.last()).toBeUndefined();
      await stream.append("from the live attempt", new TestGuard());
      expect(await arrived(reader)).toMatchObject({ offset: 0, data: "from the live attempt" });
    });

    it("stamps messages with the stream's clock, and with 0 without one", async () => {
      const backend = await withJob();
      let time = 1_000;
      const output = backend.streams.open(streamKey("j1"), streamOptions({ now: () => time }));
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const reader = output.reader();
      await output.append("a");
      time = 1_500;
      await output.append("b");
      await input.append("x");
      expect([(await arrived(reader))?.timestamp, (await arrived(reader))?.timestamp]).toEqual([1_000, 1_500]);
      expect((await peekArrived(input.consumer()))?.timestamp).toBe(0);
    });

    it("resolves last() to undefined before any append, then to the newest message, on outputs and inputs", async () => {
      const backend = await withJob();
      for (const role of ["output", "input"] as const) {
        const stream = backend.streams.open(streamKey("j1", { role }), streamOptions());
        await expect(stream.last()).resolves.toBeUndefined();
        await stream.append("a");
        await expect(stream.last()).resolves.toMatchObject({ data: "a", offset: 0 });
        await stream.append("b");
        await expect(stream.last()).resolves.toMatchObject({ data: "b", offset: 1 });
        if (role === "input") {
          // Acknowledged messages leave an input; the newest stays last().
          const consumer = stream.consumer();
          consumer.take((await peekArrived(consumer))!);
          consumer.take((await peekArrived(consumer))!);
          consumer.ack();
        }
        stream.end("done");
        await expect(stream.last()).resolves.toMatchObject({ data: "b", offset: 1 });
      }
    });

    it("keeps the newest message as last(), even when the history limit dropped it", async () => {
      const stream = (await withJob()).streams.open(streamKey("j1"), streamOptions({ historyLimit: 0 }));
      expect(await stream.last()).toBeUndefined();
      await stream.append("a");
      await stream.append("b");
      expect(await stream.last()).toMatchObject({ data: "b", offset: 1 });
      expect(await nothingMore(stream.reader())).toBe(true);
    });

    it("orders messages of a job's streams by arrival", async () => {
      const backend = await withJob();
      const sauce = backend.streams.open(streamKey("j1", { tag: "sauce" }), streamOptions());
      const dough = backend.streams.open(streamKey("j1", { tag: "dough" }), streamOptions());
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const orders: number[] = [];
      for (const stream of [sauce, dough, input, sauce, dough]) {
        await stream.append("x");
        orders.push((await stream.last())!.order);
      }
      expect([...orders].sort((a, b) => a - b)).toEqual(orders);
      expect(new Set(orders).size).toBe(orders.length);
    });
  });
}
