-- A hunt's task count, batch and files never change: read once per hunt (the library's
-- locals outlive a call), not at every take. `static_for` is the prefix they are of.
local static_for, tasks, batch, files = nil, 0, 1, 0

-- The first entry of an XREADGROUP reply, or nil.
local function first(reply)
  if reply and reply[1] and #reply[1][2] > 0 then return reply[1][2][1] end
  return nil
end

-- take(consumer, label, lease ms, check expired leases '0'/'1'), for the take and
-- finish_take scripts. Returns a table {kind = task|wait|over|again}; `again` means a
-- queue entry was used up (a garbage entry refused, a task given up) and the caller
-- should take again at once.
local function take(consumer, label, lease_ms, check, none_held)
  -- A hunt that is gone (its keys expire together) or stopped is over. `max_attempts` is
  -- read only when a task comes back (attempt 2 or later).
  local st = redis.call('HMGET', state_key, 'stop', 'terminal', 'scan_at')
  if st[1] ~= '0' then return { kind = 'over' } end
  if static_for ~= p then
    local s = redis.call('HMGET', state_key, 'tasks', 'batch', 'files')
    tasks, batch, files = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
    static_for = p
  end
  if tonumber(st[2]) >= tasks then return { kind = 'over' } end

  -- This consumer's own pending entry first: a worker that restarted under its name, or
  -- whose report was lost with its connection, runs the task again.
  -- `none_held`: the caller just settled this consumer's one entry (finish_take), so
  -- the look is skipped.
  local e = nil
  if not none_held then
    e = first(redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', '1', 'STREAMS', stream, '0'))
  end
  local now, now_text = now_ms_and_text()
  -- The lease scan walks the pending list (one entry per worker thread) on every take
  -- that finds no new task, and otherwise at most once per eighth of a lease (the
  -- hunt's `scan_at`): a lease that ran out is taken over at most that much later, and
  -- a take in a busy hunt skips the scan's cost.
  local scanned = false
  local function scan()
    scanned = true
    redis.call('HSET', state_key, 'scan_at', now + math.max(1, math.floor(tonumber(lease_ms) / 8)))
    local cursor = '0-0'
    repeat
      local c = redis.call('XAUTOCLAIM', stream, group, consumer, lease_ms, cursor, 'COUNT', '1')
      if #c[2] > 0 then return c[2][1] end
      cursor = c[1]
    until cursor == '0-0'
    return nil
  end
  if not e and check == '1' and now >= (tonumber(st[3]) or 0) then e = scan() end
  if not e then
    e = first(redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', '1', 'STREAMS', stream, '>'))
  end
  if not e and check == '1' and not scanned then e = scan() end
  if not e then return { kind = 'wait' } end

  local id, fields = e[1], {}
  for i = 1, #(e[2] or {}), 2 do fields[e[2][i]] = e[2][i + 1] end
  -- Tasks carry indices, never paths; one that is not a task of this hunt is dropped.
  -- Its fields are checked as text too (digits, as `publish` writes them), so the reply
  -- and the events carry them as they are, with no number turned back into text.
  local task_text, from_text, to_text = fields.task, fields.from, fields.to
  local of_hunt = digits(task_text) and digits(from_text) and digits(to_text)
  local task = of_hunt and tonumber(task_text)
  if of_hunt then
    local want_from, want_to = task_range(task, batch, files)
    of_hunt = task < tasks and tonumber(from_text) == want_from and tonumber(to_text) == want_to
  end
  if not of_hunt then
    redis.call('XACK', stream, group, id)
    redis.call('XADD', dead_key, '*', 'entry', id, 'why', 'not a task of this hunt')
    touch(dead_key)
    event({ event = 'garbage', entry = id, why = 'the queue entry ' .. id .. ' is not a task of this hunt (fields: ' .. cjson.encode(fields) .. ')' })
    return { kind = 'again' }
  end
  -- A task's row as `publish` wrote it is not decoded: NotStarted, no attempt yet.
  local text = redis.call('HGET', table_key, task_text)
  local attempt, attempt_text = 1, '1'
  if text and text ~= NEW_ROW then
    local r = cjson.decode(text)
    if r.state == 'Completed' or r.state == 'Failed' then
      -- A copy of a task already settled (a late requeue): nothing to do.
      redis.call('XACK', stream, group, id)
      return { kind = 'again' }
    end
    attempt = (r.attempts or 0) + 1
    attempt_text = tostring(attempt)
    local given_up = taken_too_often(attempt, tonumber(redis.call('HGET', state_key, 'max_attempts')))
    if given_up then
      redis.call('XACK', stream, group, id)
      dead_letter(task_text, given_up, nil)
      return { kind = 'again' }
    end
  end
  redis.call('HSET', table_key, task_text, running_row(id, attempt_text, now_text, label))
  -- Written out, not through cjson.encode: this runs once a task (label_json: common.lua).
  push_event('{"event":"started","task":' .. task_text .. ',"worker":' .. label_json(label) .. ',"attempt":' .. attempt_text .. '}')
  return { kind = 'task', entry = id, task = task_text, from = from_text, to = to_text, attempt = attempt_text }
end

-- A take's reply as JSON; a task's written out, not through cjson.encode (its entry
-- id is digits and a dash, the rest digits as text), since this runs once a task.
local function taken_json(t)
  if t.kind == 'task' then
    return '{"kind":"task","entry":"' .. t.entry .. '","task":' .. t.task .. ',"from":' .. t.from
      .. ',"to":' .. t.to .. ',"attempt":' .. t.attempt .. '}'
  end
  return cjson.encode(t)
end
