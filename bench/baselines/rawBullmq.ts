import { Queue, QueueEvents, Worker, type ConnectionOptions } from "bullmq";

/**
 * Baseline of the Redis short-jobs row: what a user writes with BullMQ alone
 * for the same work (a job carries one number, its processor returns it + 1,
 * the caller waits for the result): `queue.add` → a `Worker` with the same
 * concurrency → `job.waitUntilFinished(queueEvents)`, jobs removed once done.
 */
export async function rawBullmq(connection: ConnectionOptions, prefix: string, concurrency: number) {
  const name = "short-raw";
  const queue = new Queue(name, { connection, prefix });
  const events = new QueueEvents(name, { connection, prefix });
  const worker = new Worker(name, async (job) => (job.data as { n: number }).n + 1, { connection, prefix, concurrency });
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
