-- fail: ARGV = prefix, consumer, worker label, token, task, attempt, why, release (0/1).
-- With release = 1 the task is handed back unfinished and the attempt does not count.
-- Returns retried | stale.
local consumer, label, token, task, attempt_text, why = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local text = redis.call('HGET', table_key, task)
if not holds(text, token, attempt_text) then
  event({ event = 'stale', task = tonumber(task), worker = label })
  return 'stale'
end
redis.call('ZREM', leases_key, consumer)
local r = cjson.decode(text)
local attempt = tonumber(attempt_text)
if ARGV[8] == '1' then
  r.attempts = math.max((r.attempts or 1) - 1, 0)
  event({ event = 'released', task = tonumber(task), worker = label })
else
  local max = tonumber(redis.call('HGET', state_key, 'max_attempts'))
  local verdict, note = after_failure(attempt, max, why)
  if verdict == 'dead' then
    dead_letter(task, note, nil)
    return 'retried'
  end
  r.note = note
  event({ event = 'retried', task = tonumber(task), worker = label, why = why })
end
r.state = 'NotStarted'
set_row(task, r)
requeue(task)
return 'retried'
