-- wrk script: GET, with the same closing statistics line as post.lua.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('STATS {"statuses":{},"requests":%d,"rps":%f,"p50_ms":%f,"p99_ms":%f,"max_ms":%f,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
