/**
 * The Lua scripts of the Redis backend. Each runs atomically: a job's status
 * moves, its data lands and its fencing token is checked in one step. Keys
 * and arguments are documented per script; `tok` is the job's fencing token
 * (raised each time a process takes the job), and a write that names another
 * token than the job's is refused (`fenced`).
 */

/** Final statuses, as a Lua set test. */
const IS_FINAL = `local function final(st) return st == 'completed' or st == 'failed' or st == 'cancelled' end`;

/** Gives every key of a job (its streams, their reader sets, its journal, its hash) `ms` to live. */
const EXPIRE_JOB = `local function expireJob(job, journal, streamPrefix, ms)
  local fields = redis.call('HKEYS', job)
  for _, f in ipairs(fields) do
    if string.sub(f, 1, 2) == 'n:' then
      local s = streamPrefix .. string.sub(f, 3)
      redis.call('PEXPIRE', s, ms)
      redis.call('PEXPIRE', s .. ':cursors', ms)
      redis.call('PEXPIRE', s .. ':leases', ms)
    end
  end
  redis.call('PEXPIRE', journal, ms)
  redis.call('PEXPIRE', job, ms)
end`;

/** A key written after its job got its time to live gets the same. */
const FOLLOW_TTL = `local function followTtl(job, key)
  local ttl = redis.call('PTTL', job)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end`;

export const SCRIPTS = {
  /**
   * Stores a job. KEYS: job, journal. ARGV: queueKey, record, streamPrefix.
   * Returns 1, or 0 when a job of this id is queued or running. A final job
   * of the id is forgotten first (its keys deleted).
   */
  lwAdd: {
    keys: 2,
    lua: `${IS_FINAL}
local st = redis.call('HGET', KEYS[1], 'st')
if st and not final(st) then return 0 end
if st then
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'n:' then
      local s = ARGV[3] .. string.sub(f, 3)
      redis.call('DEL', s, s .. ':cursors', s .. ':leases')
    end
  end
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('HSET', KEYS[1], 'q', ARGV[1], 'r', ARGV[2], 'st', 'queued', 'tok', 0, 'ord', 0)
return 1`,
  },
  /**
   * A process takes a job. KEYS: job, channel. Returns `{ statusBefore, token,
   * record, cancelReason }`, or `{ status }` when the job is final or gone
   * (`gone`): then it must not run.
   */
  lwStart: {
    keys: 2,
    lua: `local st = redis.call('HGET', KEYS[1], 'st')
if not st then return {'gone'} end
if st ~= 'queued' and st ~= 'running' then return {st} end
local tok = redis.call('HINCRBY', KEYS[1], 'tok', 1)
redis.call('HSET', KEYS[1], 'st', 'running', 'held', 1)
redis.call('PUBLISH', KEYS[2], 's')
return {st, tostring(tok), redis.call('HGET', KEYS[1], 'r'), redis.call('HGET', KEYS[1], 'cx') or ''}`,
  },
  /**
   * Gives a job back (its process closes): held by no process until the next
   * take. KEYS: job, channel. ARGV: token. Returns 1, or 0 when fenced.
   */
  lwRelease: {
    keys: 2,
    lua: `if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'held', 0)
redis.call('PUBLISH', KEYS[2], 's')
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
   * Cancels a job. KEYS: job, channel, journal. ARGV: reason, outcome (used
   * when queued), retentionMs, streamPrefix. Returns `queued` (now final,
   * cancelled: a queued job, or a released one no process holds), `running`
   * (its process is told) or `final`.
   */
  lwCancel: {
    keys: 3,
    lua: `${EXPIRE_JOB}
local st = redis.call('HGET', KEYS[1], 'st')
-- A released job (running, held by no process: it waits in its queue again) is cancelled like a queued one.
if st == 'queued' or (st == 'running' and redis.call('HGET', KEYS[1], 'held') == '0') then
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
  /**
   * Publishes a lifecycle event: to the env's event stream (every event, what
   * `env.subscribe` and a journal's live part read) and to its job's journal
   * (what a late `job.subscribe` replays), in one step, so a replay read with
   * the env stream's newest id sees exactly the events published up to it.
   * The journal keeps what the memory journal keeps (`JobJournal`): a progress
   * report replaces the entry before it when that was the same worker's (a
   * gauge: 1,000 reports in a row must not push the story's start out of the
   * newest `journalLimit`), and after a final status it takes nothing.
   * KEYS: env events, journal. ARGV: event bytes, kind (`p` progress, `f`
   * final status, `o` other), the progress's worker name ('' otherwise),
   * envLimit (approximate), journalLimit.
   */
  lwPublish: {
    keys: 2,
    lua: `redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[1])
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
if last then
  local kind, worker = 'o', ''
  for i = 1, #last[2], 2 do
    if last[2][i] == 'k' then kind = last[2][i + 1] elseif last[2][i] == 'w' then worker = last[2][i + 1] end
  end
  if kind == 'f' then return 0 end
  if ARGV[2] == 'p' and kind == 'p' and worker == ARGV[3] then redis.call('XDEL', KEYS[2], last[1]) end
end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], '*', 'e', ARGV[1], 'k', ARGV[2], 'w', ARGV[3])
return 1`,
  },
  /**
   * Reads a job's journal and the env stream's newest id in one step (what a
   * late `job.subscribe` replays, and where its live part starts). KEYS:
   * journal, env events. Returns `{ entries, newestId }` ('0-0' for an empty stream).
   */
  lwReplay: {
    keys: 2,
    lua: `local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
return {redis.call('XRANGE', KEYS[1], '-', '+'), newest and newest[1] or '0-0'}`,
  },
  /**
   * Appends messages. KEYS: job, stream, cursors, leases, channel. ARGV:
   * suffix, token ('' for a writer without one), historyLimit (-1: an input),
   * now (ms, for reader expiry), then per message its timestamp and its bytes.
   * Returns `{ 'ok', lag }` (inputs: messages not acknowledged; outputs: how
   * far the slowest live reader is behind), or `{ 'closed' | 'fenced' | 'gone', 0 }`.
   * An output keeps its newest `historyLimit` messages and whatever a live
   * reader has not read. With no message, it only measures the lag.
   */
  lwAppend: {
    keys: 5,
    lua: `${FOLLOW_TTL}
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return {'gone', 0} end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[2] then return {'fenced', 0} end
local n = (#ARGV - 4) / 2
if n > 0 and redis.call('HEXISTS', KEYS[1], 'x:' .. ARGV[1]) == 1 then return {'closed', 0} end
local last = redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[1], n)
if n > 0 then
  local ord = redis.call('HINCRBY', KEYS[1], 'ord', n)
  for i = 1, n do
    redis.call('XADD', KEYS[2], (last - n + i) .. '-0', 'd', ARGV[4 + 2 * i], 't', ARGV[3 + 2 * i], 'o', ord - n + i)
  end
  -- The newest message, kept apart: last() finds it even when the history limit dropped it.
  redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], ARGV[4 + 2 * n], 'lt:' .. ARGV[1], ARGV[3 + 2 * n], 'lo:' .. ARGV[1], last - 1)
  followTtl(KEYS[1], KEYS[2])
end
local lag = 0
local limit = tonumber(ARGV[3])
if limit < 0 then
  lag = redis.call('XLEN', KEYS[2])
else
  local slowest = last
  while true do
    local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    if #head == 0 then break end
    local expires = tonumber(redis.call('HGET', KEYS[4], head[1]) or '0')
    if expires < tonumber(ARGV[4]) then
      redis.call('ZREM', KEYS[3], head[1])
      redis.call('HDEL', KEYS[4], head[1])
    else
      slowest = tonumber(head[2])
      break
    end
  end
  lag = last - slowest
  local keep = last - limit
  if slowest < keep then keep = slowest end
  if n > 0 and keep > 0 then redis.call('XTRIM', KEYS[2], 'MINID', (keep + 1) .. '-0') end
end
if n > 0 then redis.call('PUBLISH', KEYS[5], 'd') end
return {'ok', lag}`,
  },
  /**
   * Ends or fails a stream: a marker entry after its last message. KEYS:
   * job, stream, channel. ARGV: suffix, kind (`e` end, `f` failed), reason,
   * error bytes ('' for an end). Returns 1, or 0 when already closed or the job is gone.
   */
  lwMark: {
    keys: 3,
    lua: `${FOLLOW_TTL}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'x:' .. ARGV[1], 1) == 0 then return 0 end
local last = redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[1], 1)
redis.call('XADD', KEYS[2], last .. '-0', 'm', ARGV[2], 'why', ARGV[3], 'err', ARGV[4])
followTtl(KEYS[1], KEYS[2])
redis.call('PUBLISH', KEYS[3], 'd')
return 1`,
  },
  /**
   * Reads an input through its consumer group (`lw`, consumer `c`): ARGV
   * from (`0` or the last pending id read: the messages handed out and not
   * acknowledged, after it; `>`: new ones), count, suffix, create (`1`: make
   * the group first). When no pending message is left after `from`, reads new
   * ones in the same call. KEYS: job, stream. Returns
   * `{ entries | false, checkpoint | false, pendingDone (0 | 1), cancelReason | false }`:
   * a cancel recorded before this read comes with it, so the job hears of it
   * before what was read (an end of input fed after the cancel must not complete it).
   */
  lwConsume: {
    keys: 2,
    lua: `${FOLLOW_TTL}
if ARGV[4] == '1' then
  redis.pcall('XGROUP', 'CREATE', KEYS[2], 'lw', '0', 'MKSTREAM')
  followTtl(KEYS[1], KEYS[2])
  redis.call('HSETNX', KEYS[1], 'n:' .. ARGV[3], 0)
end
local from = ARGV[1]
local entries = false
local read = redis.call('XREADGROUP', 'GROUP', 'lw', 'c', 'COUNT', ARGV[2], 'STREAMS', KEYS[2], from)
if read and #read[1][2] > 0 then entries = read[1][2] end
local pendingDone = 0
if from == '>' then pendingDone = 1
elseif not entries then
  pendingDone = 1
  read = redis.call('XREADGROUP', 'GROUP', 'lw', 'c', 'COUNT', ARGV[2], 'STREAMS', KEYS[2], '>')
  if read and #read[1][2] > 0 then entries = read[1][2] end
end
return {entries, redis.call('HGET', KEYS[1], 'k:' .. ARGV[3]), pendingDone, redis.call('HGET', KEYS[1], 'cx')}`,
  },
  /**
   * Acknowledges input (and commits a checkpoint with it). KEYS: job,
   * stream, channel. ARGV: token ('' none), suffix, has checkpoint (`1`/`0`),
   * checkpoint bytes, then the entry ids. Acknowledged entries are deleted.
   * Returns 1, or 0 when fenced.
   */
  lwAck: {
    keys: 3,
    lua: `if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
if #ARGV > 4 then
  local ids = {}
  for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
  redis.call('XACK', KEYS[2], 'lw', unpack(ids))
  redis.call('XDEL', KEYS[2], unpack(ids))
end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'k:' .. ARGV[2], ARGV[4]) end
redis.call('PUBLISH', KEYS[3], 'a')
return 1`,
  },
  /**
   * Reads an output after `start` (exclusive) and, for a reader that pins,
   * records its position and lease (writers waiting for room are told).
   * KEYS: stream, cursors, leases, job, channel. ARGV: start id, count,
   * reader id ('' none), position, expires (ms).
   */
  lwRange: {
    keys: 5,
    lua: `${FOLLOW_TTL}
if ARGV[3] ~= '' then
  local before = redis.call('ZSCORE', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
  followTtl(KEYS[4], KEYS[2])
  followTtl(KEYS[4], KEYS[3])
  if before and tonumber(before) < tonumber(ARGV[4]) then redis.call('PUBLISH', KEYS[5], 'a') end
end
return redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])`,
  },
  /**
   * Ends (or fails) every stream of a job that has entries and is not
   * closed yet. KEYS: job, channel. ARGV: streamPrefix, kind (`e` | `f`),
   * reason, error bytes.
   */
  lwEndAll: {
    keys: 2,
    lua: `${FOLLOW_TTL}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 2) == 'n:' then
    local suffix = string.sub(f, 3)
    if redis.call('HSETNX', KEYS[1], 'x:' .. suffix, 1) == 1 then
      local last = redis.call('HINCRBY', KEYS[1], f, 1)
      local s = ARGV[1] .. suffix
      redis.call('XADD', s, last .. '-0', 'm', ARGV[2], 'why', ARGV[3], 'err', ARGV[4])
      followTtl(KEYS[1], s)
    end
  end
end
redis.call('PUBLISH', KEYS[2], 'd')
return 1`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
