-- wrk script of bench/api.py: requests from a prepared file, statuses counted, a JSON summary.
-- BENCH_DATA: one request per line, "METHOD<TAB>PATH<TAB>TOKEN<TAB>IDEMPOTENT(0/1)<TAB>BODY";
-- each thread takes every BENCH_THREADS-th line from its own offset, so no two requests share a line
-- (until the file runs out: then it wraps, and the statuses show it). BENCH_OUT: where done() writes.
local threads, counter = {}, 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  items, statuses, wrapped = {}, {}, 0
  for line in io.lines(os.getenv("BENCH_DATA")) do
    local m, p, t, i, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    table.insert(items, {m, p, t, i == "1", b})
  end
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  first = ((id - 1) % #items) + 1
  pos = first
  math.randomseed(os.time() * 100 + id)
  n = 0
end

function request()
  local item = items[pos]
  pos = pos + step
  if pos > #items then pos, wrapped = first, wrapped + 1 end
  n = n + 1
  local headers = {["Content-Type"] = "application/json", ["Accept-Language"] = "zh-CN"}
  if item[3] ~= "" then headers["Authorization"] = "Bearer " .. item[3] end
  if item[4] then headers["Idempotency-Key"] = string.format("bench-%d-%d-%d-%d", os.time(), id, n, math.random(1e9)) end
  local body = nil
  if item[5] ~= "" then body = item[5] end
  return wrk.format(item[1], item[2], headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, wraps = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do counts[k] = (counts[k] or 0) + v end
    wraps = wraps + t:get("wrapped")
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%d": %d', k, v)) end
  local e = summary.errors
  local f = io.open(os.getenv("BENCH_OUT"), "w")
  f:write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"mean_us": %f, "max_us": %d, "wrapped": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d}, "statuses": {%s}}', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.mean, latency.max, wraps, e.connect, e.read,
    e.write, e.timeout, table.concat(parts, ", ")))
  f:close()
end
