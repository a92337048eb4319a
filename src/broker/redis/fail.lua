-- fail: ARGV = prefix, consumer, worker label, entry, task, attempt, why, release (0/1).
-- With release = 1 the task is handed back unfinished and the attempt does not count.
-- Returns retried | stale.
local consumer, label, entry, task = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local attempt, why = tonumber(ARGV[6]), ARGV[7]
if not owns(consumer, entry) then
  event({ event = 'stale', task = tonumber(task), worker = label })
  return 'stale'
end
redis.call('XACK', stream, group, entry)
local max = tonumber(redis.call('HGET', state_key, 'max_attempts'))
local r = row(task)
if ARGV[8] ~= '1' and attempt >= max then
  dead_letter(task, 'attempt ' .. attempt .. ' of ' .. max .. ': ' .. why, nil)
  return 'retried'
end
r.state = 'NotStarted'
if ARGV[8] == '1' then
  r.attempts = math.max((r.attempts or 1) - 1, 0)
  event({ event = 'released', task = tonumber(task), worker = label })
else
  r.note = 'attempt ' .. attempt .. ': ' .. why
  event({ event = 'retried', task = tonumber(task), worker = label, why = why })
end
set_row(task, r)
local spec = cjson.decode(redis.call('GET', spec_key))
local from = tonumber(task) * spec.batch
requeue(task, from, math.min(from + spec.batch, spec.files))
return 'retried'
