export * from "./worker.js";
export * from "./job.js";
export * from "./restartPolicy.js";
