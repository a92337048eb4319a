-- finish(consumer, label, entry, task, attempt, tally (JSON), found index (-1: none),
-- cut short '0'/'1', why (non-empty: files failed, so the attempt failed), hunt id), for
-- the finish and finish_take scripts. Returns accepted | answer | retried | stale.
local function finish(consumer, label, entry, task, attempt_arg, tally, found_arg, cut_short, why, hunt)
  local attempt, found = tonumber(attempt_arg), tonumber(found_arg)
  local r = row(task)
  if not settle(consumer, entry, r, attempt) then
    event({ event = 'stale', task = tonumber(task), worker = label })
    return 'stale'
  end
  if why ~= '' and found < 0 then
    local max = tonumber(redis.call('HGET', state_key, 'max_attempts'))
    local verdict, note = after_failure(attempt, max, why)
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
  r.state, r.worker = 'Completed', label
  if cut_short == '1' then r.note = CUT_SHORT else r.note = nil end
  set_row(task, r)
  terminal()
  -- Written out, not through cjson.encode: this runs once a task.
  push_event('{"event":"finished","task":' .. tonumber(task) .. ',"worker":' .. label_json(label)
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
