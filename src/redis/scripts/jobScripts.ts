import { IS_FINAL, EXPIRE_JOB } from "./luaHelpers.js";

/** Scripts of a job's life: stored, taken (a new fencing token), restart history, released, finished, cancelled. */
export const JOB_SCRIPTS = {
  /**
   * Stores a job. KEYS: job, journal. ARGV: queueKey, record, streamPrefix,
   * nonce (unique per add). Returns 1, or 0 when a job of this id is queued
   * or running (1 when it is this add's own job: the call sent again after
   * its reply was lost with the connection). A final job of the id is
   * forgotten first (its keys deleted).
   */
  lwAdd: {
    keys: 2,
    lua: `${IS_FINAL}
local st = redis.call('HGET', KEYS[1], 'st')
if st and not final(st) then
  if redis.call('HGET', KEYS[1], 'an') == ARGV[4] then return 1 end
  return 0
end
if st then
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'n:' then
      local s = ARGV[3] .. string.sub(f, 3)
      redis.call('DEL', s, s .. '/cursors', s .. '/leases')
    end
  end
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('HSET', KEYS[1], 'q', ARGV[1], 'r', ARGV[2], 'st', 'queued', 'tok', 0, 'ord', 0, 'an', ARGV[4])
return 1`,
  },
  /**
   * A process takes a job. KEYS: job, channel. ARGV: nonce (BullMQ's lock
   * token, unique per take). Returns `{ statusBefore, token, record,
   * cancelReason, restartHistory, attempts, heldBefore, states }` (`''` for a
   * history or attempts never stored; `heldBefore` `1` when a process held
   * the job and never gave it back: its lease expired; `states`: node, state
   * bytes, node, … for each `ws:<node>` field, the states stateful workers
   * committed), or `{ status }` when
   * the job is final or gone (`gone`): then it must not run. The call sent
   * again after its reply was lost (same nonce) gets the same answer, the
   * token not raised twice.
   */
  lwStart: {
    keys: 2,
    lua: `local st = redis.call('HGET', KEYS[1], 'st')
if not st then return {'gone'} end
if st ~= 'queued' and st ~= 'running' then return {st} end
local held = redis.call('HGET', KEYS[1], 'held') or '0'
local tok
if st == 'running' and redis.call('HGET', KEYS[1], 'tn') == ARGV[1] then
  local before = redis.call('HMGET', KEYS[1], 'tok', 'tb', 'th')
  tok, st, held = tonumber(before[1]), before[2], before[3]
else
  tok = redis.call('HINCRBY', KEYS[1], 'tok', 1)
  redis.call('HSET', KEYS[1], 'st', 'running', 'held', 1, 'tn', ARGV[1], 'tb', st, 'th', held)
end
redis.call('PUBLISH', KEYS[2], 's|running')
local f = redis.call('HMGET', KEYS[1], 'r', 'cx', 'rh', 'ra')
local states = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 3) == 'ws:' then
    states[#states + 1] = string.sub(all[i], 4)
    states[#states + 1] = all[i + 1]
  end
end
return {st, tostring(tok), f[1], f[2] or '', f[3] or '', f[4] or '', held, states}`,
  },
  /**
   * Stores what a process that resumes the job starts from: its restart
   * history (field `rh`) or its workers' attempts (`ra`). KEYS: job. ARGV:
   * token, field, bytes. Returns 1, or 0 when fenced.
   */
  lwRecord: {
    keys: 1,
    lua: `if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1`,
  },
  /**
   * Gives a job back (its process closes): held by no process until the next
   * take. KEYS: job, channel. ARGV: token. Returns 1, or 0 when fenced.
   */
  lwRelease: {
    keys: 2,
    lua: `if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'held', 0)
redis.call('PUBLISH', KEYS[2], 's|running')
return 1`,
  },
  /**
   * Records a job's outcome. KEYS: job, channel, journal. ARGV: token,
   * status, outcome, retentionMs, streamPrefix. Returns 1, or 0 when fenced.
   */
  lwFinish: {
    keys: 3,
    lua: `${EXPIRE_JOB}
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'out', ARGV[3])
expireJob(KEYS[1], KEYS[3], ARGV[5], tonumber(ARGV[4]))
redis.call('PUBLISH', KEYS[2], 's')
return 1`,
  },
  /**
   * Cancels a job. KEYS: job, channel, journal, the job's BullMQ lock.
   * ARGV: reason, outcome (used when queued), retentionMs, streamPrefix.
   * Returns `queued` (now final, cancelled: a queued job, a released one no
   * process holds, or one whose holder's lease expired: its BullMQ lock is
   * gone), `running` (its process is told) or `final`.
   */
  lwCancel: {
    keys: 4,
    lua: `${EXPIRE_JOB}
local st = redis.call('HGET', KEYS[1], 'st')
-- Held by no process: released (it waits in its queue again), or its holder died (no lock: no process renews it).
local free = st == 'running' and (redis.call('HGET', KEYS[1], 'held') == '0' or redis.call('EXISTS', KEYS[4]) == 0)
if st == 'queued' or free then
  -- A holder that only stalled is fenced: it writes nothing when it wakes up.
  if free then redis.call('HINCRBY', KEYS[1], 'tok', 1) end
  redis.call('HSET', KEYS[1], 'st', 'cancelled', 'out', ARGV[2])
  expireJob(KEYS[1], KEYS[3], ARGV[4], tonumber(ARGV[3]))
  redis.call('PUBLISH', KEYS[2], 's')
  return 'queued'
end
if st == 'running' then
  redis.call('HSETNX', KEYS[1], 'cx', ARGV[1])
  redis.call('PUBLISH', KEYS[2], 'c')
  return 'running'
end
return 'final'`,
  },
} as const;
