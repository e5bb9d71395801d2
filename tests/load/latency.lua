-- wrk script for tests/load/run: after the run, prints one machine-readable line with the
-- request count, errors and the latency percentiles in microseconds, including p99.9, which
-- wrk's --latency table does not show.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "FAIRWAY_LOAD requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d " ..
    "timeout=%d p50=%d p99=%d p999=%d max=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
