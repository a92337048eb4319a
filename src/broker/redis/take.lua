-- A hunt's task count never changes: read once per hunt (the library's locals outlive a
-- call), not at every take. `static_for` is the prefix it is of.
local static_for, tasks = nil, 0

-- The task whose token field `name` names (`c:CONSUMER` in `:table`), and its row,
-- while that row is still the token's take; else nil.
local function held_task(name)
  local token = redis.call('HGET', table_key, name)
  local t = token and string.match(token, '^(%d+)-%d+$')
  if not t then return nil end
  local text = redis.call('HGET', table_key, t)
  if holds(text, token) then return t, text end
  return nil
end

-- take(consumer, label, lease ms, check expired leases '0'/'1', none_held), for the take
-- and finish_take scripts. Returns a table {kind = task|wait|over|again}; `again` means
-- a queue entry was used up (garbage refused, a task given up, a late copy of a settled
-- task) and the caller should take again at once.
local function take(consumer, label, lease_ms, check, none_held)
  -- A hunt that is gone (its keys expire together) or stopped is over. `max_attempts` is
  -- read only when a task comes back (attempt 2 or later).
  local st = redis.call('HMGET', state_key, 'stop', 'scan_at')
  if st[1] ~= '0' then return { kind = 'over' } end
  if static_for ~= p then
    tasks = tonumber(redis.call('HGET', state_key, 'tasks'))
    static_for = p
  end
  local mine = 'c:' .. consumer

  -- The task this consumer holds first, while its row still shows that take: a worker
  -- that restarted under its name, or whose report was lost with its connection, runs
  -- it again (as another attempt, so the old lease is fenced off). `none_held`: the
  -- caller just settled it (finish_take), so the look is skipped.
  local task_text, text = nil, nil
  if not none_held then task_text, text = held_task(mine) end
  local now = now_ms()
  -- An expired lease is looked for (one O(log n) step on the sorted set) on every take
  -- that finds no new task, and otherwise at most once per eighth of a lease (the
  -- hunt's `scan_at`): a lease that ran out is taken over at most that much later, and
  -- a take in a busy hunt skips the look's cost. A lease whose consumer no longer
  -- holds a task (its row moved on) is dropped; a few at most per look.
  local scanned = false
  local function scan()
    scanned = true
    redis.call('HSET', state_key, 'scan_at', now + math.max(1, math.floor(tonumber(lease_ms) / 8)))
    for _ = 1, 8 do
      local c = redis.call('ZRANGE', leases_key, '-inf', now, 'BYSCORE', 'LIMIT', '0', '1')[1]
      if not c then return nil end
      redis.call('ZREM', leases_key, c)
      local t, r = held_task('c:' .. c)
      if t then
        text = r
        return t
      end
    end
    return nil
  end
  if not task_text and check == '1' and now >= (tonumber(st[2]) or 0) then task_text = scan() end
  if not task_text then task_text = redis.call('LPOP', ready_key) end
  if not task_text and check == '1' and not scanned then task_text = scan() end
  if not task_text then
    -- Nothing to take: this consumer holds no lease; the hunt is over once no task is
    -- queued or leased (the sorted set holds only its `-`), else wait for the leases out.
    redis.call('ZREM', leases_key, consumer)
    if redis.call('ZCARD', leases_key) <= 1 then return { kind = 'over' } end
    return { kind = 'wait' }
  end

  -- Tasks are numbers, never paths; one that is not a task of this hunt is dropped.
  -- It is checked as text (digits, as `publish` writes them), so the reply and the
  -- events carry it as it is, with no number turned back into text.
  if not (digits(task_text) and tonumber(task_text) < tasks) then
    redis.call('XADD', dead_key, '*', 'entry', task_text, 'why', 'not a task of this hunt')
    touch(dead_key)
    event({ event = 'garbage', entry = task_text, why = 'the queue entry ' .. cjson.encode(task_text) .. ' is not a task of this hunt' })
    return { kind = 'again' }
  end
  -- A task's row as `publish` wrote it is not decoded: NotStarted, no attempt yet.
  if text == nil then text = held_row(task_text) or redis.call('HGET', table_key, task_text) end
  local attempt, attempt_text, token = 1, '1', task_text .. '-1'
  if text and text ~= NEW_ROW then
    local r = cjson.decode(text)
    if r.state == 'Completed' or r.state == 'Failed' then
      -- A copy of a task already settled: nothing to do.
      return { kind = 'again' }
    end
    attempt = (r.attempts or 0) + 1
    attempt_text = tostring(attempt)
    token = next_token(task_text, r)
    local given_up = taken_too_often(attempt, tonumber(redis.call('HGET', state_key, 'max_attempts')))
    if given_up then
      dead_letter(task_text, given_up, nil)
      return { kind = 'again' }
    end
  end
  -- The consumer's one lease moves to this task: one ZADD, whatever it held before.
  redis.call('ZADD', leases_key, now + lease_ms, consumer)
  write_rows(task_text, running_row(token, attempt_text, label), mine, token)
  -- Written out, not through cjson.encode: this runs once a task (label_json: common.lua).
  push_event('{"event":"started","task":' .. task_text .. ',"worker":' .. label_json(label) .. ',"attempt":' .. attempt_text .. '}')
  return { kind = 'task', entry = token, task = task_text, attempt = attempt_text }
end

-- A take's reply as JSON; a task's written out, not through cjson.encode (its token is
-- digits and a dash, the rest digits as text), since this runs once a task. The task's
-- files follow from its number and the hunt's batch, which the worker knows.
local function taken_json(t)
  if t.kind == 'task' then
    return '{"kind":"task","entry":"' .. t.entry .. '","task":' .. t.task .. ',"attempt":' .. t.attempt .. '}'
  end
  return cjson.encode(t)
end
