/** Lua functions the backend's scripts share (pasted at the top of a script's source). */

/** Final statuses, as a Lua set test. */
export const IS_FINAL = `local function final(st) return st == 'completed' or st == 'failed' or st == 'cancelled' end`;

/** Gives every key of a job (its streams, their reader sets, its journal, its hash) `ms` to live. */
export const EXPIRE_JOB = `local function expireJob(job, journal, streamPrefix, ms)
  local fields = redis.call('HKEYS', job)
  for _, f in ipairs(fields) do
    if string.sub(f, 1, 2) == 'n:' then
      local s = streamPrefix .. string.sub(f, 3)
      redis.call('PEXPIRE', s, ms)
      redis.call('PEXPIRE', s .. '/cursors', ms)
      redis.call('PEXPIRE', s .. '/leases', ms)
    end
  end
  redis.call('PEXPIRE', journal, ms)
  redis.call('PEXPIRE', job, ms)
end`;

/** A key written after its job got its time to live gets the same. */
export const FOLLOW_TTL = `local function followTtl(job, key)
  local ttl = redis.call('PTTL', job)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end`;

/**
 * Drops what no reader of an output needs any more and its history limit
 * does not keep (the messages before the slowest reader's position and
 * before the newest `limit`), then tells writers waiting for room.
 */
export const TRIM_FOR_READERS = `local function trimForReaders(job, stream, cursors, channel, suffix, limit)
  local last = tonumber(redis.call('HGET', job, 'n:' .. suffix) or '0')
  if redis.call('HEXISTS', job, 'x:' .. suffix) == 1 then last = last - 1 end
  local keep = last - limit
  local head = redis.call('ZRANGE', cursors, 0, 0, 'WITHSCORES')
  if #head > 0 and tonumber(head[2]) < keep then keep = tonumber(head[2]) end
  if keep > 0 then redis.call('XTRIM', stream, 'MINID', (keep + 1) .. '-0') end
  redis.call('PUBLISH', channel, 'a|' .. suffix)
end`;
