-- Prints one machine-readable line at the end of a wrk run:
--   WRKJSON {"rps":…,"p50_ms":…,"p99_ms":…,"non2xx":…,"errors":…}
function done(summary, latency, requests)
   local s = summary
   local secs = s.duration / 1e6
   local e = s.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non2xx":%d,"errors":%d}\n',
      s.requests, s.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.status, e.connect + e.read + e.write + e.timeout))
end
