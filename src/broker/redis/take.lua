-- take(consumer, label, lease ms, check expired leases '0'/'1'), for the take and
-- finish_take scripts. Returns a table {kind = task|wait|over|again}; `again` means a
-- queue entry was used up (a garbage entry refused, a task given up) and the caller
-- should take again at once.
local function take(consumer, label, lease_ms, check, none_held)
  if redis.call('EXISTS', spec_key) == 0 then return { kind = 'over' } end
  local st = redis.call('HMGET', state_key, 'stop', 'tasks', 'terminal', 'batch', 'files', 'max_attempts', 'scan_at')
  if st[1] == '1' or tonumber(st[3]) >= tonumber(st[2]) then
    return { kind = 'over' }
  end
  local tasks, batch, files, max = tonumber(st[2]), tonumber(st[4]), tonumber(st[5]), tonumber(st[6])

  local function first(reply)
    if reply and reply[1] and #reply[1][2] > 0 then return reply[1][2][1] end
    return nil
  end

  -- This consumer's own pending entry first: a worker that restarted under its name, or
  -- whose report was lost with its connection, runs the task again.
  -- `none_held`: the caller just settled this consumer's one entry (finish_take), so
  -- the look is skipped.
  local e = nil
  if not none_held then
    e = first(redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '0'))
  end
  local now = now_ms()
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
      local c = redis.call('XAUTOCLAIM', stream, group, consumer, lease_ms, cursor, 'COUNT', 1)
      if #c[2] > 0 then return c[2][1] end
      cursor = c[1]
    until cursor == '0-0'
    return nil
  end
  if not e and check == '1' and now >= (tonumber(st[7]) or 0) then e = scan() end
  if not e then
    e = first(redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>'))
  end
  if not e and check == '1' and not scanned then e = scan() end
  if not e then return { kind = 'wait' } end

  local id, fields = e[1], {}
  for i = 1, #(e[2] or {}), 2 do fields[e[2][i]] = e[2][i + 1] end
  local task, from, to = tonumber(fields.task), tonumber(fields.from), tonumber(fields.to)
  -- Tasks carry indices, never paths; one that is not a task of this hunt is dropped.
  local of_hunt = task and task == math.floor(task) and task >= 0 and task < tasks
  if of_hunt then
    local want_from, want_to = task_range(task, batch, files)
    of_hunt = from == want_from and to == want_to
  end
  if not of_hunt then
    redis.call('XACK', stream, group, id)
    redis.call('XADD', dead_key, '*', 'entry', id, 'why', 'not a task of this hunt')
    touch(dead_key)
    event({ event = 'garbage', entry = id, why = 'the queue entry ' .. id .. ' is not a task of this hunt (fields: ' .. cjson.encode(fields) .. ')' })
    return { kind = 'again' }
  end
  local r = row(fields.task)
  if r.state == 'Completed' or r.state == 'Failed' then
    -- A copy of a task already settled (a late requeue): nothing to do.
    redis.call('XACK', stream, group, id)
    return { kind = 'again' }
  end
  local attempt = (r.attempts or 0) + 1
  local given_up = taken_too_often(attempt, max)
  if given_up then
    redis.call('XACK', stream, group, id)
    dead_letter(fields.task, given_up, nil)
    return { kind = 'again' }
  end
  r.state, r.worker, r.attempts, r.since, r.note, r.entry = 'Running', label, attempt, now, nil, id
  set_row(fields.task, r)
  -- Written out, not through cjson.encode: this runs once a task (label_json: common.lua).
  push_event('{"event":"started","task":' .. task .. ',"worker":' .. label_json(label) .. ',"attempt":' .. attempt .. '}')
  return { kind = 'task', entry = id, task = task, from = from, to = to, attempt = attempt }
end

-- A take's reply as JSON; a task's written out, not through cjson.encode (its entry
-- id is digits and a dash), since this runs once a task.
local function taken_json(t)
  if t.kind == 'task' then
    return '{"kind":"task","entry":"' .. t.entry .. '","task":' .. t.task .. ',"from":' .. t.from
      .. ',"to":' .. t.to .. ',"attempt":' .. t.attempt .. '}'
  end
  return cjson.encode(t)
end
