/** Conformance, `StreamConsumer`: where a consumer starts, taking, acknowledging, copies (a stateful worker's commit: `state.cases.ts`). */
import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/Backend.js";
import { ValidationError } from "../../src/errors.js";
import { TestGuard, failureOf, stillPending, streamKey, streamOptions } from "../helpers/backendProbes.js";
import type { Conformance } from "./context.js";

/** Registers the cases (inside one backend's `describe`). */
export function consumerCases({ factory, withJob, arrived, peekArrived, consumerOpened, whenCopying, whenCopyingUnlessGap }: Conformance): void {
  describe("StreamConsumer", () => {
    /** An input of job j1 holding `data`. */
    async function inputWith(backend: Backend, ...data: unknown[]) {
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      for (const item of data) await input.append(item);
      return input;
    }

    it("starts at the first message, and peeking does not take it", async () => {
      const consumer = (await inputWith(await withJob(), "a", "b")).consumer();
      expect((await peekArrived(consumer))?.data).toBe("a");
      expect(consumer.peekNow()?.data).toBe("a");
      expect((await consumer.peek())?.data).toBe("a");
    });

    it("moves to the next message on take; a new consumer starts after what was acknowledged", async () => {
      const input = await inputWith(await withJob(), "a", "b", "c");
      const consumer = input.consumer();
      consumer.take((await peekArrived(consumer))!);
      expect((await peekArrived(consumer))?.data).toBe("b");
      consumer.ack();
      consumer.close();
      expect((await peekArrived(input.consumer()))?.data).toBe("b");
    });

    it("starts a new consumer again at a message taken but not acknowledged (at-least-once)", async () => {
      const input = await inputWith(await withJob(), "a", "b", "c");
      const consumer = input.consumer();
      consumer.take((await peekArrived(consumer))!);
      consumer.ack();
      consumer.take((await peekArrived(consumer))!);
      consumer.close();
      const next = await consumerOpened(input.consumer());
      expect(await peekArrived(next)).toMatchObject({ data: "b", offset: 1 });
    });

    it("shows, once caught up with another input's message, every message of its input that arrived before that one", async () => {
      const backend = await withJob();
      const sauce = backend.streams.open(streamKey("j1", { role: "input", tag: "sauce" }), streamOptions());
      const dough = backend.streams.open(streamKey("j1", { role: "input", tag: "dough" }), streamOptions());
      const fromSauce = sauce.consumer();
      const fromDough = dough.consumer();
      // The dough consumer looked before anything arrived, and waits.
      const waiting = fromDough.peek();
      expect(await stillPending(factory, waiting)).toBe(true);
      await dough.append("dough first");
      await sauce.append("sauce second");
      const second = (await fromSauce.peek())!;
      await fromDough.catchUp?.(second);
      const first = fromDough.peekNow();
      expect(first?.data).toBe("dough first");
      expect(first!.order).toBeLessThan(second.order);
      expect((await waiting)?.data).toBe("dough first");
    });

    it("waits in peek for the next message, and resolves undefined after the last one once the input ends", async () => {
      const input = await inputWith(await withJob());
      const consumer = input.consumer();
      const waiting = consumer.peek();
      expect(await stillPending(factory, waiting)).toBe(true);
      await input.append("a");
      const message = (await waiting)!;
      expect(message.data).toBe("a");
      consumer.take(message);
      const atEnd = consumer.peek();
      input.end("input terminated");
      expect(await atEnd).toBeUndefined();
    });

    it("fences a consumer's acks with its guard: a stale ack acknowledges nothing", async () => {
      const input = await inputWith(await withJob(), "a", "b", "c");
      const attempt = new TestGuard();
      const consumer = input.consumer(attempt);
      consumer.take((await peekArrived(consumer))!);
      consumer.ack();
      consumer.take((await peekArrived(consumer))!);
      attempt.cancel(new Error("attempt 1 is stale"));
      try {
        consumer.ack();
      } catch {
        // Refusing by throwing is allowed; what counts is that nothing was acknowledged.
      }
      const next = await consumerOpened(input.consumer(new TestGuard()));
      expect((await peekArrived(next))?.data).toBe("b");
    });

    whenCopying("hands out copies of data: changing the original after append changes nothing for readers", async () => {
      const backend = await withJob();
      const order = { toppings: ["basil"] };
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const input = backend.streams.open(streamKey("j1", { role: "input" }), streamOptions());
      const reader = output.reader();
      await output.append(order);
      await input.append(order);
      order.toppings.push("pineapple");
      const read = (await arrived(reader))!.data;
      const consumed = (await peekArrived(input.consumer()))!.data;
      expect(read).not.toBe(order);
      expect(read).toEqual({ toppings: ["basil"] });
      expect(consumed).toEqual({ toppings: ["basil"] });
      expect((await output.last())!.data).toEqual({ toppings: ["basil"] });
    });

    whenCopyingUnlessGap("copy-per-receiver")("gives each reader and consumer its own copy: what one changes, the next does not see", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const first = output.reader();
      const second = output.reader();
      await output.append({ toppings: ["basil"] });
      ((await arrived(first))!.data as { toppings: string[] }).toppings.push("changed by reader 1");
      expect((await arrived(second))!.data).toEqual({ toppings: ["basil"] });

      const input = await inputWith(backend, { toppings: ["basil"] });
      const consumer = input.consumer();
      ((await peekArrived(consumer))!.data as { toppings: string[] }).toppings.push("changed by attempt 1");
      consumer.close();
      expect((await peekArrived(input.consumer()))!.data).toEqual({ toppings: ["basil"] });
    });

    whenCopying("refuses data that cannot be copied (a function) with a ValidationError naming the stream, writing nothing", async () => {
      const backend = await withJob();
      const output = backend.streams.open(streamKey("j1"), streamOptions());
      const reader = output.reader();
      const refused = await failureOf(() => output.append({ onDone: () => "hi" }));
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).message).toContain(output.label);
      expect(await output.last()).toBeUndefined();
      await output.append("plain");
      expect(await arrived(reader)).toMatchObject({ data: "plain", offset: 0 });
    });
  });
}
