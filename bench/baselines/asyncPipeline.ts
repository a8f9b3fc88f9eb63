import type { StandardSchemaV1 } from "@standard-schema/spec";

/**
 * The hand-written baseline of the stream scenarios: a bounded async queue
 * per hop (feed → processor → emit → reader), the same validation through
 * Standard Schema, no library. What a careful user would write by hand.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private ended = false;
  private reader: (() => void) | undefined;
  private writer: (() => void) | undefined;

  constructor(
    private readonly schema: StandardSchemaV1 | undefined,
    private readonly highWaterMark = 1024,
  ) {}

  /** Validates, appends, and waits while the queue is full. */
  push(value: unknown): Promise<void> {
    if (this.ended) return Promise.reject(new Error("queue ended"));
    let data = value as T;
    if (this.schema) {
      const result = this.schema["~standard"].validate(value) as StandardSchemaV1.Result<T>;
      if (result.issues) return Promise.reject(new Error(result.issues[0]?.message));
      data = result.value;
    }
    this.items.push(data);
    this.wakeReader();
    if (this.items.length - this.head < this.highWaterMark) return Promise.resolve();
    return new Promise<void>((resolve) => (this.writer = resolve));
  }

  end(): void {
    this.ended = true;
    this.wakeReader();
  }

  private wakeReader(): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.items[this.head++]!;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        const writer = this.writer;
        this.writer = undefined;
        writer?.();
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.reader = resolve));
    }
  }
}

/** One pipeline run: feed `count` messages, process each, read all outputs. */
export async function runPipeline(
  count: number,
  schemas: { input: StandardSchemaV1 | undefined; output: StandardSchemaV1 | undefined },
  makeInput: (i: number) => unknown,
  process: (data: any) => unknown,
): Promise<number> {
  const input = new AsyncQueue<unknown>(schemas.input);
  const output = new AsyncQueue<{ data: unknown; timestamp: number }>(undefined);
  const worker = (async () => {
    for await (const data of input) {
      const result = process(data);
      // validate like emit does, then timestamp like the library's output
      let value = result;
      if (schemas.output) {
        const checked = schemas.output["~standard"].validate(result) as StandardSchemaV1.Result<unknown>;
        if (checked.issues) throw new Error("invalid output");
        value = checked.value;
      }
      await output.push({ data: value, timestamp: Date.now() });
    }
    output.end();
  })();
  const feeder = (async () => {
    for (let i = 0; i < count; i++) await input.push(makeInput(i));
    input.end();
  })();
  let read = 0;
  for await (const message of output) {
    if (message.data !== undefined) read++;
  }
  await Promise.all([worker, feeder]);
  return read;
}
