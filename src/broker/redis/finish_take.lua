-- finish_take: ARGV = finish's ten after the prefix (as finish.lua's script reads them),
-- then the lease ms for the take. A worker's one round trip per task: reports its task,
-- then takes the next for the same consumer, as the two scripts would one after the
-- other (a stale report counts nothing and the take still runs; a report that ends the
-- hunt leaves `over`). Entries used up by the take (garbage, tasks given up) are passed
-- over here, a few at most, before `again` goes back to the caller. The report's and
-- the take's rows go out in one HSET, their events in one RPUSH.
-- Returns `FINISHED TAKEN`: finish's word, a space, take's JSON.
held_events, held_rows = {}, {}
local finished = finish(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
-- A report that was not stale settled the consumer's one task: nothing of its own is
-- left to look for.
local none_held = finished ~= 'stale'
local taken = take(ARGV[2], ARGV[3], ARGV[12], '1', none_held)
for _ = 1, 8 do
  if taken.kind ~= 'again' then break end
  taken = take(ARGV[2], ARGV[3], ARGV[12], '1', none_held)
end
flush()
return finished .. ' ' .. taken_json(taken)
