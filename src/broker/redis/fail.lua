-- fail: ARGV = prefix, consumer, worker label, entry, task, attempt, why, release (0/1).
-- With release = 1 the task is handed back unfinished and the attempt does not count.
-- Returns retried | stale.
local consumer, label, entry, task = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local attempt, why = tonumber(ARGV[6]), ARGV[7]
local r = row(task)
if not settle(consumer, entry, r, attempt) then
  event({ event = 'stale', task = tonumber(task), worker = label })
  return 'stale'
end
local max = tonumber(redis.call('HGET', state_key, 'max_attempts'))
if ARGV[8] == '1' then
  r.attempts = math.max((r.attempts or 1) - 1, 0)
  event({ event = 'released', task = tonumber(task), worker = label })
else
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
local spec = cjson.decode(redis.call('GET', spec_key))
requeue(task, task_range(tonumber(task), spec.batch, spec.files))
return 'retried'
