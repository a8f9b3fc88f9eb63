import { Redis } from "ioredis";

/**
 * Baseline of the Redis stream row: one job's stream done by hand with
 * ioredis, the same way liveworker batches (a pipeline per batch, not a
 * round trip per message): the producer `XADD`s the input in batches (and
 * waits while `highWaterMark` are unacknowledged), a consumer reads it
 * through a consumer group (`XREADGROUP`), does the same work, `XADD`s each
 * result to the output and `XACK`s the batch in one pipeline, and a reader
 * `XREAD`s the output until it has every message. Data is V8-serialised, as
 * liveworker's is.
 */
export async function rawStreams(url: string, prefix: string) {
  const producer = new Redis(url, { enableAutoPipelining: true });
  const consumer = new Redis(url);
  const reader = new Redis(url);
  const { serialize, deserialize } = await import("node:v8");
  let run = 0;
  const BATCH = 512;
  const job = async (count: number, highWaterMark: number): Promise<number> => {
    const input = `${prefix}:raw:${++run}:in`;
    const output = `${prefix}:raw:${run}:out`;
    await consumer.xgroup("CREATE", input, "g", "0", "MKSTREAM");
    let acked = 0;
    const produce = (async () => {
      for (let i = 0; i < count; i += BATCH) {
        while (i - acked >= highWaterMark) await new Promise((resolve) => setTimeout(resolve, 1));
        const pipeline = producer.pipeline();
        for (let j = i; j < Math.min(count, i + BATCH); j++) pipeline.xadd(input, "*", "d", serialize({ n: j, label: "item" }));
        await pipeline.exec();
      }
    })();
    const consume = (async () => {
      let done = 0;
      while (done < count) {
        const read = (await consumer.xreadgroupBuffer("GROUP", "g", "c", "COUNT", BATCH, "BLOCK", 1000, "STREAMS", input, ">")) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        if (!read) continue;
        const entries = read[0]![1];
        const pipeline = consumer.pipeline();
        for (const [, fields] of entries) {
          const data = deserialize(fields[1]!) as { n: number };
          pipeline.xadd(output, "*", "d", serialize({ n: data.n, doubled: data.n * 2 }));
        }
        pipeline.xack(input, "g", ...entries.map(([id]) => id.toString()));
        await pipeline.exec();
        done += entries.length;
        acked = done;
      }
    })();
    let got = 0;
    let after = "0-0";
    while (got < count) {
      const read = (await reader.xreadBuffer("COUNT", BATCH, "BLOCK", 1000, "STREAMS", output, after)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      if (!read) continue;
      for (const [id, fields] of read[0]![1]) {
        deserialize(fields[1]!);
        after = id.toString();
        got++;
      }
    }
    await Promise.all([produce, consume]);
    await producer.del(input, output);
    return got;
  };
  return {
    job,
    close: async () => {
      producer.disconnect();
      consumer.disconnect();
      reader.disconnect();
    },
  };
}
