-- alive: ARGV = prefix, hunt id, ttl ms. Keeps a running hunt's keys and its place among
-- the active hunts for another ttl, by the server's clock.
local ttl = tonumber(ARGV[3])
for _, k in ipairs({ spec_key, state_key, ready_key, leases_key, table_key, events_key, dead_key, answer_key, p .. ':refused' }) do
  redis.call('PEXPIRE', k, ttl)
end
redis.call('ZADD', 'hunt:active', now_ms() + ttl, ARGV[2])
return 1
