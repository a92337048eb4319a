-- clock: the server's time in ms (leases and "last heard from" use one clock, the
-- broker's, whatever the hosts' clocks say).
return now_ms()
