-- Shared by every hunt function (library.rs makes them one Redis function library, so
-- this runs once, at FUNCTION LOAD, not at every call). Each call's ARGV[1] is the hunt's
-- key prefix, `hunt:<id>`, and each function begins with `begin(ARGV[1])`.
-- The queue is a list of task numbers (`:ready`, popped in O(1)) and a sorted set of
-- leases (`:leases`: consumer -> its lease's deadline in ms by the server's clock; a
-- consumer holds one task at a time, so its next take moves its lease with one ZADD;
-- and one member `-` at +inf that is never removed, so the key, and its expiry,
-- outlive its last lease). Which task a consumer holds is its field `c:CONSUMER` in
-- `:table`, beside the task rows, so a take writes both in one HSET.
-- The library's locals outlive a call: what one call leaves in them must not reach the
-- next (see `begin`).
local p, spec_key, state_key, ready_key, leases_key, table_key, events_key, dead_key, answer_key

-- The server's clock in ms. Lua's arithmetic reads TIME's digits itself: `tonumber` and
-- `math.floor` are C calls, about 3,500 of the server's instructions a task.
local function now_ms()
  local t = redis.call('TIME')
  local us = t[2]
  return t[1] * 1000 + (us - us % 1000) / 1000
end

-- Every key a script writes lives as long as the hunt's spec: a hunt whose coordinator
-- is gone expires whole.
local function touch(key)
  local ttl = redis.call('PTTL', spec_key)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end

-- A script that reports and takes in one run (finish_take) holds its events and its
-- rows here and writes them at its end, in one RPUSH and one HSET (`flush`); every
-- other script writes each at once (`held_events` nil).
local held_events, held_rows = nil, nil

local function push_event(json)
  if held_events then
    held_events[#held_events + 1] = json
    return
  end
  -- The coordinator pops the list empty, which deletes the key: only a push that makes
  -- it again needs its expiry (the keep-alive renews it from there), not every push.
  if redis.call('RPUSH', events_key, json) == 1 then touch(events_key) end
end

-- Writes `:table` fields (task rows, `c:CONSUMER` tokens): name `a` value `b`, and name
-- `c` value `d` where given. Two pairs at most, named, not a vararg: a vararg's table and
-- its `ipairs` cost the server about 7,700 instructions a task.
local function write_rows(a, b, c, d)
  if held_rows then
    local n = #held_rows
    held_rows[n + 1], held_rows[n + 2] = a, b
    if c then held_rows[n + 3], held_rows[n + 4] = c, d end
  elseif c then
    redis.call('HSET', table_key, a, b, c, d)
  else
    redis.call('HSET', table_key, a, b)
  end
end

-- A row held for `flush` by this call, or nil (a take that meets a copy of the task
-- just reported reads the row the report wrote).
local function held_row(task)
  if not held_rows then return nil end
  for i = 1, #held_rows, 2 do
    if held_rows[i] == task then return held_rows[i + 1] end
  end
  return nil
end

local function flush()
  local events, rows = held_events, held_rows
  held_events, held_rows = nil, nil
  if rows and #rows > 0 then redis.call('HSET', table_key, unpack(rows)) end
  if events and #events > 0 and redis.call('RPUSH', events_key, unpack(events)) == #events then
    touch(events_key)
  end
end

-- An event, as JSON. `tally` is a report's counts exactly as the worker sent them
-- (cjson would turn its empty lists into objects), spliced in as they are.
local function event(e, tally)
  local json = cjson.encode(e)
  if tally then json = string.sub(json, 1, -2) .. ',"tally":' .. tally .. '}' end
  push_event(json)
end

-- A worker's label as a JSON string, encoded once, not at every call: the events of a
-- report and a take are written out around it. Emptied past 1,000 labels, so a
-- long-lived server's library does not grow with every worker it has seen.
local label_cache, labels_cached = {}, 0
local function label_json(label)
  local j = label_cache[label]
  if not j then
    if labels_cached >= 1000 then label_cache, labels_cached = {}, 0 end
    j = cjson.encode(label)
    label_cache[label] = j
    labels_cached = labels_cached + 1
  end
  return j
end

-- The start of every call: the keys of hunt `prefix` (made again only when the prefix
-- differs from the last call's), and nothing held from a call that failed midway.
local function begin(prefix)
  held_events, held_rows = nil, nil
  if prefix == p then return end
  p = prefix
  spec_key, state_key = p .. ':spec', p .. ':state'
  ready_key, leases_key, table_key = p .. ':ready', p .. ':leases', p .. ':table'
  events_key, dead_key, answer_key = p .. ':events', p .. ':dead', p .. ':answer'
end

-- A task's row as `publish` writes it: a take that finds it spares a `cjson.decode`.
local NEW_ROW = '{"state":"NotStarted","attempts":0}'

local function row(task)
  local r = held_row(task) or redis.call('HGET', table_key, task)
  if r then return cjson.decode(r) end
  return { state = 'NotStarted', attempts = 0 }
end

-- The row a take writes, written out, not through cjson.encode (this runs once a task;
-- `entry` is the lease's token, `TASK-TAKE`: the task and which take of it this is,
-- counting hand-backs, so no two takes of a task share one; `attempt` is digits). The
-- fence reads back its first fields as `running_prefix` gives them. Only `running_row`
-- writes a Running row.
local function running_prefix(token, attempt)
  return '{"state":"Running","entry":"' .. token .. (attempt and ('","attempts":' .. attempt .. ',') or '",')
end

local function running_row(token, attempt, label)
  return running_prefix(token, attempt) .. '"worker":' .. label_json(label) .. '}'
end

-- The fence of a report, a failure, a hand-back or a renewal: true when row `text` is
-- still the Running row of the take whose token is `token` (at `attempt`, as text,
-- where given), so no takeover, report or hand-back came since.
local function holds(text, token, attempt)
  local prefix = running_prefix(token, attempt)
  return type(text) == 'string' and string.sub(text, 1, #prefix) == prefix
end

-- The token of the take after the one row `r` (decoded) names, or the first.
local function next_token(task, r)
  local last = r and type(r.entry) == 'string' and tonumber(string.match(r.entry, '-(%d+)$')) or 0
  return task .. '-' .. (last + 1)
end

local function set_row(task, r)
  write_rows(task, cjson.encode(r))
end

-- The task gives up: the dead letter.
local function dead_letter(task, why, tally)
  local r = row(task)
  r.state = 'Failed'
  r.note = why
  set_row(task, r)
  redis.call('XADD', dead_key, '*', 'task', task, 'why', why)
  touch(dead_key)
  event({ event = 'failed', task = tonumber(task), why = why }, tally)
end

-- The task goes back on the queue: another attempt. A list that was emptied was
-- deleted, and is made again here without an expiry: it gets its hunt's.
local function requeue(task)
  if redis.call('RPUSH', ready_key, task) == 1 then touch(ready_key) end
end

-- The rules of src/broker/contract.rs, repeated for the scripts;
-- `the_scripts_keep_the_rust_contract` (src/broker/redis.rs) runs these against the Rust,
-- case by case.
local CUT_SHORT = 'cut short by the find'

-- True when `s` is a whole number >= 0 written as `%.14g` writes one (no sign, no
-- leading zero, no exponent): such a string can go into JSON as it is.
local function digits(s)
  return type(s) == 'string' and (s == '0' or string.find(s, '^[1-9]%d*$') ~= nil)
end

-- A failed attempt: 'retry' and its row's note, or 'dead' (the dead letter) and why.
local function after_failure(attempt, max, why)
  if attempt >= max then return 'dead', 'attempt ' .. attempt .. ' of ' .. max .. ': ' .. why end
  return 'retry', 'attempt ' .. attempt .. ': ' .. why
end

-- At a take: why a task is given up before its attempt `attempt`, or nil.
local function taken_too_often(attempt, max)
  if attempt > max then
    return 'taken ' .. (attempt - 1) .. ' times and never finished: its workers died, or lost their leases'
  end
  return nil
end
