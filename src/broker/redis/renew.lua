-- renew: ARGV = prefix, consumer, entry. 1 while this consumer holds the entry (its idle
-- time starts again), 0 once another worker took it over.
if owns(ARGV[2], ARGV[3]) then
  redis.call('XCLAIM', stream, group, ARGV[2], 0, ARGV[3], 'JUSTID')
  return 1
end
return 0
