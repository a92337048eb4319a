-- retire: ARGV = prefix, hunt id, verdict, keep ms. The hunt leaves the active set and
-- its keys expire after `keep`, so the broker does not grow with the number of hunts.
redis.call('HSET', state_key, 'status', ARGV[3], 'stop', 1)
redis.call('ZREM', 'hunt:active', ARGV[2])
for _, k in ipairs({ spec_key, state_key, ready_key, leases_key, table_key, events_key, dead_key, answer_key, p .. ':refused' }) do
  redis.call('PEXPIRE', k, tonumber(ARGV[4]))
end
return 1
