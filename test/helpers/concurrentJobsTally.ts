import type { Fault } from "./concurrentJobsScenario.js";

/**
 * Counts over all runs of the concurrent-jobs property test, to show the
 * scenarios reach what the checks are about.
 *
 * @example
 * const tally = createTally();
 * tally.completed++;
 */
export function createTally() {
  return {
    runs: 0,
    jobs: 0,
    messagesFed: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    cancelledWhileQueued: 0,
    startedAfterWaiting: 0,
    closes: 0,
    fencedEmits: 0,
    fencedEmitsWhileJobRuns: 0,
    stopTimeouts: 0,
    heartbeatTimeouts: 0,
    initTimeouts: 0,
    redeliveries: 0,
    faultsHit: {} as Partial<Record<Fault["kind"], number>>,
  };
}
