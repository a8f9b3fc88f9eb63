/**
 * The Lua scripts of the Redis backend. Each runs atomically: a job's status
 * moves, its data lands and its fencing token is checked in one step. Keys
 * and arguments are documented per script; `tok` is the job's fencing token
 * (raised each time a process takes the job), and a write that names another
 * token than the job's is refused (`fenced`).
 */
import { EVENT_SCRIPTS } from "./scripts/eventScripts.js";
import { JOB_SCRIPTS } from "./scripts/jobScripts.js";
import { STREAM_SCRIPTS } from "./scripts/streamScripts.js";

/** Every script, by the command name ioredis defines for it (`client.lwAdd(…)`). */
export const SCRIPTS = { ...JOB_SCRIPTS, ...STREAM_SCRIPTS, ...EVENT_SCRIPTS } as const;

export type ScriptName = keyof typeof SCRIPTS;
