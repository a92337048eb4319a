-- renew: ARGV = prefix, consumer, token (`TASK-TAKE`), lease ms. 1 while the task's row
-- still shows this take (the consumer's lease then runs for another lease from now), 0
-- once another worker took it over or it was settled.
local task = string.match(ARGV[3], '^(%d+)-%d+$')
if not task or not holds(redis.call('HGET', table_key, task), ARGV[3]) then return 0 end
redis.call('ZADD', leases_key, 'XX', now_ms() + tonumber(ARGV[4]), ARGV[2])
return 1
