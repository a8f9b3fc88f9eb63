import { Queue, QueueEvents, Worker, type ConnectionOptions } from "bullmq";

/**
 * Baselines of the Redis short-jobs rows: what a user writes with BullMQ
 * alone for the same work (a job carries one number, the caller waits for
 * the result): `queue.add` → a `Worker` with the same concurrency →
 * `job.waitUntilFinished(queueEvents)`, jobs removed once done.
 *
 * - `rawBullmq(…)`: the processor returns n + 1 (the raw baseline);
 * - `rawBullmq(…, runJob)`: the processor runs the same liveworker job in an
 *   in-memory env: the ceiling of liveworker on Redis, the work it cannot
 *   avoid (BullMQ's queue, liveworker's own supervisor and worker actors)
 *   with none of its Redis data plane (streams, events, job hash).
 */
export async function rawBullmq(
  connection: ConnectionOptions,
  prefix: string,
  concurrency: number,
  runJob: (n: number) => number | Promise<number> = (n) => n + 1,
) {
  const name = "short-raw";
  const queue = new Queue(name, { connection, prefix });
  const events = new QueueEvents(name, { connection, prefix });
  const worker = new Worker(name, async (job) => runJob((job.data as { n: number }).n), { connection, prefix, concurrency });
  // Each pending `waitUntilFinished` listens to the queue's 'closing': a batch of 200 is not a leak.
  queue.setMaxListeners(0);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  let next = 0;
  const oneJob = async (n: number): Promise<void> => {
    const job = await queue.add(name, { n }, { jobId: `raw-${next++}`, removeOnComplete: true, removeOnFail: true });
    const result = await job.waitUntilFinished(events);
    if (result !== n + 1) throw new Error(`wrong result ${String(result)}`);
  };
  return {
    batch: async (size: number) => {
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < size; i++) jobs.push(oneJob(i));
      await Promise.all(jobs);
    },
    close: async () => {
      await worker.close();
      await events.close();
      await queue.close();
    },
  };
}
