/** Scripts of lifecycle events: the env's stream and the jobs' journals. */
export const EVENT_SCRIPTS = {
  /**
   * Publishes lifecycle events, in order, each to the env's event stream
   * (every event: what `env.subscribe` and a journal's live part read) and to
   * its job's journal (what a late `job.subscribe` replays), in one step, so
   * a replay read with the env stream's newest id sees exactly the events
   * published up to it. A journal keeps what the memory journal keeps
   * (`JobJournal`): a progress report replaces the entry before it when that
   * was the same worker's (a gauge: 1,000 reports in a row must not push the
   * story's start out of the newest `journalLimit`), and after a final status
   * it takes nothing (the job's hash remembers that, in `je`, and the trailing
   * progress entry's worker and id in `jp` / `ji`, so no entry is read back;
   * without a job hash the journal's last entry is read back instead). The
   * caller gives the number of keys first. KEYS: the env's stream, then per
   * event its job's journal and hash (a job's may repeat). ARGV: env stream
   * cap (approximate), journal cap, then per event: its bytes, kind (`p`
   * progress, `f` final status, `o` other), the progress's worker name (''
   * otherwise), the fencing token its publisher holds the job under (''
   * none): an event of a stale holder (another process took the job over)
   * is dropped, so observers never see a second story (a second final
   * status) from a process that lost the job. Returns how many were published. Keys of several jobs in one script: a single Redis, not a
   * Cluster (as BullMQ's queue keys here).
   */
  lwEvents: {
    keys: undefined,
    lua: `local n = (#KEYS - 1) / 2
local published = 0
for e = 0, n - 1 do
  local journal, job = KEYS[2 + 2 * e], KEYS[3 + 2 * e]
  local at = 3 + e * 4
  local bytes, kind, worker, token = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  -- Redis runs Lua 5.1: no goto, so the event's work sits in this if.
  if token == '' or redis.call('HGET', job, 'tok') == token then
    published = published + 1
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', bytes)
    if redis.call('HEXISTS', job, 'st') == 0 then
      -- No job hash (events of a job this env does not store): the journal's last entry tells the same, read back.
      local last = redis.call('XREVRANGE', journal, '+', '-', 'COUNT', 1)[1]
      local lastKind, lastWorker = 'o', ''
      if last then
        for f = 1, #last[2], 2 do
          if last[2][f] == 'k' then lastKind = last[2][f + 1] elseif last[2][f] == 'w' then lastWorker = last[2][f + 1] end
        end
      end
      if lastKind ~= 'f' then
        if last and kind == 'p' and lastKind == 'p' and lastWorker == worker then redis.call('XDEL', journal, last[1]) end
        redis.call('XADD', journal, 'MAXLEN', ARGV[2], '*', 'e', bytes, 'k', kind, 'w', worker)
      end
    else
      local state = redis.call('HMGET', job, 'je', 'jp', 'ji')
      if not state[1] then
        if kind == 'p' and state[2] == worker and state[3] then redis.call('XDEL', journal, state[3]) end
        local id = redis.call('XADD', journal, 'MAXLEN', ARGV[2], '*', 'e', bytes)
        if kind == 'p' then redis.call('HSET', job, 'jp', worker, 'ji', id)
        else
          redis.call('HDEL', job, 'jp', 'ji')
          if kind == 'f' then redis.call('HSET', job, 'je', 1) end
        end
      end
    end
  end
end
return published`,
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
} as const;
