import { IS_FINAL, FOLLOW_TTL, TRIM_FOR_READERS } from "./luaHelpers.js";

/** Scripts of a job's streams: appends, end markers, the input's consumer group and acknowledgements, the output readers' cursors. */
export const STREAM_SCRIPTS = {
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
${IS_FINAL}
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return {'gone', 0} end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[2] then return {'fenced', 0} end
local n = (#ARGV - 4) / 2
-- Ended, or its job is over: nothing is written, and a writer waiting for room (n = 0) stops waiting.
if final(st) or redis.call('HEXISTS', KEYS[1], 'x:' .. ARGV[1]) == 1 then return {'closed', 0} end
local last = redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[1], n)
if n > 0 then
  local ord = redis.call('HINCRBY', KEYS[1], 'ord', n)
  for i = 1, n do
    redis.call('XADD', KEYS[2], (last - n + i) .. '-0', 'd', ARGV[4 + 2 * i], 't', ARGV[3 + 2 * i], 'o', ord - n + i)
  end
  -- The newest message, kept apart: last() finds it even when the history limit dropped it.
  redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], ARGV[4 + 2 * n], 'lt:' .. ARGV[1], ARGV[3 + 2 * n], 'lo:' .. ARGV[1], last - 1, 'lr:' .. ARGV[1], ord)
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
if n > 0 then redis.call('PUBLISH', KEYS[5], 'd|' .. ARGV[1]) end
return {'ok', lag}`,
  },
  /**
   * Opens a reader: where it starts, and (for a reader that pins) its cursor
   * and lease, so that it holds writers back and keeps what it has not read
   * from the moment it is opened, not from its first read. KEYS: job, stream,
   * cursors, leases. ARGV: suffix, from (`oldest` | `live`), reader id (''
   * none), expires (ms). Returns the number of entries before the reader's
   * first: 0 from the oldest; for a live reader every entry there is now,
   * except an end or failure marker (a live reader of an ended stream ends).
   * A pinning reader's position is the offset of the first message it can
   * read (an oldest reader's: the oldest the stream kept).
   */
  lwOpenReader: {
    keys: 4,
    lua: `${FOLLOW_TTL}
local n = tonumber(redis.call('HGET', KEYS[1], 'n:' .. ARGV[1]) or '0')
local start = 0
local position = 0
if ARGV[2] == 'live' then
  start = n
  if redis.call('HEXISTS', KEYS[1], 'x:' .. ARGV[1]) == 1 then start = n - 1 end
  position = start
else
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  if #oldest > 0 then position = tonumber(string.match(oldest[1][1], '^(%d+)')) - 1 else position = n end
end
if ARGV[3] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[3], position, ARGV[3])
  redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
  followTtl(KEYS[1], KEYS[3])
  followTtl(KEYS[1], KEYS[4])
end
return {start, position}`,
  },
  /**
   * Moves a pinning reader's cursor to how far it has read: writers waiting
   * for it are told, and what no reader needs any more and the history
   * limit does not keep is dropped (as the next append would drop it).
   * KEYS: job, stream, cursors, leases, channel. ARGV: suffix, reader id,
   * position, expires (ms), historyLimit. Returns 1, or 0 when the job is gone.
   */
  lwMoveCursor: {
    keys: 5,
    lua: `${FOLLOW_TTL}
${TRIM_FOR_READERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local before = redis.call('ZSCORE', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
followTtl(KEYS[1], KEYS[3])
followTtl(KEYS[1], KEYS[4])
if before and tonumber(before) >= tonumber(ARGV[3]) then return 1 end
trimForReaders(KEYS[1], KEYS[2], KEYS[3], KEYS[5], ARGV[1], tonumber(ARGV[5]))
return 1`,
  },
  /**
   * Renews a pinning reader's lease, while its job is known: a reader of a
   * job whose keys expired recreates nothing (and what it writes lives as
   * long as the job). KEYS: job, leases. ARGV: reader id, expires (ms).
   */
  lwRenewPin: {
    keys: 2,
    lua: `${FOLLOW_TTL}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
followTtl(KEYS[1], KEYS[2])
return 1`,
  },
  /**
   * Closes a pinning reader: it holds nothing back any more. What no other
   * reader needs and the history limit does not keep is dropped (a reader
   * that attaches later gets `historyLimit` messages, as in memory), and
   * writers waiting for room are told. KEYS: job, stream, cursors, leases,
   * channel. ARGV: suffix, reader id, historyLimit.
   */
  lwCloseReader: {
    keys: 5,
    lua: `${TRIM_FOR_READERS}
if redis.call('ZREM', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('HDEL', KEYS[4], ARGV[2])
trimForReaders(KEYS[1], KEYS[2], KEYS[3], KEYS[5], ARGV[1], tonumber(ARGV[3]))
return 1`,
  },
  /**
   * Ends or fails a stream: a marker entry after its last message. KEYS:
   * job, stream, channel. ARGV: suffix, kind (`e` end, `f` failed), reason,
   * error bytes ('' for an end), token ('' for a writer without one: a
   * client ending an input). Returns 1, 0 when already closed, -1 when
   * fenced, -2 when the job is gone (Redis lost it: nothing is written).
   */
  lwMark: {
    keys: 3,
    lua: `${FOLLOW_TTL}
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[5] then return -1 end
if redis.call('HSETNX', KEYS[1], 'x:' .. ARGV[1], 1) == 0 then return 0 end
local last = redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[1], 1)
redis.call('XADD', KEYS[2], last .. '-0', 'm', ARGV[2], 'why', ARGV[3], 'err', ARGV[4])
followTtl(KEYS[1], KEYS[2])
redis.call('PUBLISH', KEYS[3], 'd|' .. ARGV[1])
return 1`,
  },
  /**
   * Reads an input through its consumer group (`lw`, consumer `c`): ARGV
   * from (the id of the last entry the consumer received, `0` at first: the
   * messages handed out and not acknowledged after it; `>`: new ones only),
   * count, suffix, create (`1`: make the group first). When no pending
   * message is left after `from`, reads new ones in the same call: a call
   * sent again (its reply was lost with the connection) finds what the first
   * one handed out among the pending messages. KEYS: job, stream. Returns
   * `{ entries | false, pendingDone (0 | 1), cancelReason | false }`:
   * a cancel recorded before this read comes with it, so the job hears of it
   * before what was read (an end of input fed after the cancel must not complete it).
   * ARGV[5]: the reader's fencing token ('' none). Returns 0 when the job is
   * gone (Redis lost it): then it creates nothing (no group, no stream, no
   * counter in a new hash); -1 when fenced: a stale holder reads nothing (its
   * read would hand new entries to the group's one consumer, and the holder
   * that took the job over, reading new entries only, would never see them).
   */
  lwConsume: {
    keys: 2,
    lua: `${FOLLOW_TTL}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[5] then return -1 end
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
return {entries, pendingDone, redis.call('HGET', KEYS[1], 'cx')}`,
  },
  /**
   * Acknowledges input. KEYS: job, stream, channel. ARGV: token ('' none),
   * suffix, then the entry ids. Acknowledged entries are deleted. Returns 1,
   * 0 when fenced, -1 when the job is gone (Redis lost it).
   */
  lwAck: {
    keys: 3,
    lua: `if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
if #ARGV > 2 then
  local ids = {}
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
  redis.call('XACK', KEYS[2], 'lw', unpack(ids))
  redis.call('XDEL', KEYS[2], unpack(ids))
end
redis.call('PUBLISH', KEYS[3], 'a|' .. ARGV[2])
return 1`,
  },
  /**
   * Commits a stateful worker's state with its input, atomically: the
   * entries each input's consumer took are acknowledged (and deleted), and
   * the state is stored in the job's hash (field `ws:<node>`). Numkeys
   * first: 2 + the number of inputs. KEYS: job, channel, then the input
   * streams. ARGV: token ('' none), node, state bytes, then per input (in
   * KEYS' order) its suffix, its count of ids, and the ids. Returns 1, 0
   * when fenced (nothing changes), -1 when the job is gone.
   */
  lwCommit: {
    keys: undefined,
    lua: `if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
local at = 4
for s = 3, #KEYS do
  local suffix, count = ARGV[at], tonumber(ARGV[at + 1])
  at = at + 2
  local ids = {}
  for i = 0, count - 1 do
    ids[#ids + 1] = ARGV[at + i]
    if #ids == 500 or i == count - 1 then
      redis.call('XACK', KEYS[s], 'lw', unpack(ids))
      redis.call('XDEL', KEYS[s], unpack(ids))
      ids = {}
    end
  end
  at = at + count
  if count > 0 then redis.call('PUBLISH', KEYS[2], 'a|' .. suffix) end
end
redis.call('HSET', KEYS[1], 'ws:' .. ARGV[2], ARGV[3])
return 1`,
  },
  /**
   * Reads an output after `start` (exclusive) and, for a reader that pins,
   * records its position and lease (writers waiting for room are told).
   * KEYS: stream, cursors, leases, job, channel. ARGV: start id, count,
   * reader id ('' none), position, expires (ms), suffix (names the stream
   * in the notification). Returns the entries, or 0 when the job is gone
   * (Redis lost it, or its keys expired): then it writes nothing.
   */
  lwRange: {
    keys: 5,
    lua: `${FOLLOW_TTL}
if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
if ARGV[3] ~= '' then
  local before = redis.call('ZSCORE', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
  followTtl(KEYS[4], KEYS[2])
  followTtl(KEYS[4], KEYS[3])
  if before and tonumber(before) < tonumber(ARGV[4]) then redis.call('PUBLISH', KEYS[5], 'a|' .. ARGV[6]) end
end
return redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])`,
  },
  /**
   * Ends (or fails) every stream of a job that has entries and is not
   * closed yet. KEYS: job, channel. ARGV: streamPrefix, kind (`e` | `f`),
   * reason, error bytes, token ('' none). Returns 1, 0 when the job is
   * gone, -1 when fenced.
   */
  lwEndAll: {
    keys: 2,
    lua: `${FOLLOW_TTL}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'tok') ~= ARGV[5] then return -1 end
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
