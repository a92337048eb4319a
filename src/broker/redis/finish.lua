-- finish(consumer, label, entry, task, attempt, tally (JSON), found index (-1: none),
-- cut short '0'/'1', why (non-empty: files failed, so the attempt failed), hunt id), for
-- the finish and finish_take scripts. Returns accepted | answer | retried | stale.
local function finish(consumer, label, entry, task, attempt_arg, tally, found_arg, cut_short, why, hunt)
  local found = -1
  if found_arg ~= '-1' then found = tonumber(found_arg) end
  -- The fence without a `cjson.decode`: a row that begins as this take's row written by
  -- `running_row` is Running, from this entry, at this attempt (its entry and attempt
  -- then also carry digits only, so they go into JSON as they are). Any other row (one
  -- written by an older hunt, or by cjson) is decoded and checked field by field.
  local text = redis.call('HGET', table_key, task)
  local prefix = running_prefix(entry, attempt_arg)
  local r, fast = nil, text ~= nil and string.sub(text, 1, #prefix) == prefix
  local settled
  if fast then
    settled = redis.call('XACK', stream, group, entry) == 1
  else
    if text then r = cjson.decode(text) else r = { state = 'NotStarted', attempts = 0 } end
    settled = settle(consumer, entry, r, tonumber(attempt_arg))
  end
  if not settled then
    event({ event = 'stale', task = tonumber(task), worker = label })
    return 'stale'
  end
  if why ~= '' and found < 0 then
    if not r then r = cjson.decode(text) end
    local max = tonumber(redis.call('HGET', state_key, 'max_attempts'))
    local verdict, note = after_failure(tonumber(attempt_arg), max, why)
    if verdict == 'dead' then
      dead_letter(task, note, tally)
    else
      r.state, r.note = 'NotStarted', note
      set_row(task, r)
      local spec = cjson.decode(redis.call('GET', spec_key))
      requeue(task, task_range(tonumber(task), spec.batch, spec.files))
      event({ event = 'retried', task = tonumber(task), worker = label, why = why })
    end
    return 'retried'
  end
  if fast then
    -- The take's row, Completed: its entry, attempt and start kept, as the decoded
    -- row's would be; the note says whether the find cut it short.
    local since = string.match(text, '^"since":(%d+)', #prefix + 1)
    local note = ''
    if cut_short == '1' then note = ',"note":"' .. CUT_SHORT .. '"' end
    redis.call('HSET', table_key, task, '{"state":"Completed","entry":"' .. entry .. '","attempts":' .. attempt_arg
      .. (since and (',"since":' .. since) or '') .. ',"worker":' .. label_json(label) .. note .. '}')
  else
    r.state, r.worker = 'Completed', label
    if cut_short == '1' then r.note = CUT_SHORT else r.note = nil end
    set_row(task, r)
  end
  terminal()
  -- Written out, not through cjson.encode: this runs once a task. `task` is the digits
  -- of a row's key (a fenced report's task is one a take wrote), or read as a number.
  local task_json = task
  if not fast then task_json = tonumber(task) end
  push_event('{"event":"finished","task":' .. task_json .. ',"worker":' .. label_json(label)
    .. ',"cut_short":' .. (cut_short == '1' and 'true' or 'false') .. ',"tally":' .. tally .. '}')
  if found >= 0 then
    local answer = { index = found, task = tonumber(task), worker = label }
    if redis.call('SET', answer_key, cjson.encode(answer), 'NX') then
      touch(answer_key)
      redis.call('HSET', state_key, 'stop', 1, 'status', 'found')
      redis.call('XADD', 'hunt:control', 'MAXLEN', '~', 1000, '*', 'hunt', hunt, 'kind', 'stop')
      answer.event = 'answer'
      event(answer)
      return 'answer'
    end
  end
  return 'accepted'
end
