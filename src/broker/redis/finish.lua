-- finish(consumer, label, token, task, attempt, tally (JSON), found index (-1: none),
-- cut short '0'/'1', why (non-empty: files failed, so the attempt failed), hunt id), for
-- the finish and finish_take scripts. Returns accepted | answer | retried | stale. The
-- consumer's lease is left to the caller: finish_take's take moves it, the finish
-- script drops it.
local function finish(consumer, label, token, task, attempt_arg, tally, found_arg, cut_short, why, hunt)
  local found = -1
  if found_arg ~= '-1' then found = tonumber(found_arg) end
  -- The fence, without a `cjson.decode`: the row still begins as this take's row.
  local text = redis.call('HGET', table_key, task)
  if not holds(text, token, attempt_arg) then
    event({ event = 'stale', task = tonumber(task), worker = label })
    return 'stale'
  end
  if why ~= '' and found < 0 then
    local r = cjson.decode(text)
    local max = tonumber(redis.call('HGET', state_key, 'max_attempts'))
    local verdict, note = after_failure(tonumber(attempt_arg), max, why)
    if verdict == 'dead' then
      dead_letter(task, note, tally)
    else
      r.state, r.note = 'NotStarted', note
      set_row(task, r)
      requeue(task)
      event({ event = 'retried', task = tonumber(task), worker = label, why = why })
    end
    return 'retried'
  end
  -- The take's row, Completed: its token and attempt kept; the note says whether the
  -- find cut it short.
  local note = ''
  if cut_short == '1' then note = ',"note":"' .. CUT_SHORT .. '"' end
  write_rows(task, '{"state":"Completed","entry":"' .. token .. '","attempts":' .. attempt_arg
    .. ',"worker":' .. label_json(label) .. note .. '}')
  -- Written out, not through cjson.encode: this runs once a task. `task` is the digits
  -- of a row's key that a take wrote.
  push_event('{"event":"finished","task":' .. task .. ',"worker":' .. label_json(label)
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
