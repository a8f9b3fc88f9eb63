/**
 * `liveworker/redis`: the Redis backend. Needs the optional peer
 * dependencies `bullmq` and `ioredis` (`npm install bullmq ioredis`).
 *
 * @example
 * import { LiveEnv } from "liveworker";
 * import { redisBackend } from "liveworker/redis";
 * const env = LiveEnv.create({ projectId: "kitchen", backend: redisBackend({ connection: "redis://127.0.0.1:6379" }) });
 */
export { redisBackend, REDIS_BACKEND_DEFAULTS, type RedisBackendOptions } from "./redisBackend.js";
export { RedisUnavailableError, type RedisConnection } from "./connection.js";
export { RedisDataLostError } from "./RedisDataLostError.js";
