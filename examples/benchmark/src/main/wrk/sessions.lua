-- wrk script of the Tether benchmark: every request carries the cookie of one of the sessions
-- created in the warm-up phase, round-robin, so the load is spread over all of them.
--
--   wrk -t T -c C -d D -s sessions.lua http://127.0.0.1:PORT -- COOKIE_FILE MODE CONTEXT COOKIE_NAME THREADS
--
-- COOKIE_FILE: one session id per line.  MODE: read | write | mix (80 % read, 20 % write) on the bench
-- servlet, or page: page.jsp, 80 % rendering only, 20 % with ?write=1 (a cart line changed).
-- CONTEXT: the application's context path (/bench).  Thread t of T uses sessions t, t+T, t+2T, ...
-- so no two threads share a session; within a thread consecutive requests use different sessions.
-- done() prints one line "BENCH_JSON {...}" that the harness parses.

local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local cookies = {}
local n, idx, step, mode, readPath, writePath, cookieName

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  n = #cookies
  if n == 0 then error("no sessions in " .. args[1]) end
  mode = args[2]
  readPath = args[3] .. "/b/read"
  writePath = args[3] .. "/b/write"
  if mode == "page" then
    readPath = args[3] .. "/page.jsp"
    writePath = args[3] .. "/page.jsp?write=1"
  end
  cookieName = args[4]
  step = tonumber(args[5])
  idx = tid or 0
  math.randomseed(os.time() + 7919 * idx)
end

function request()
  local cookie = cookies[(idx % n) + 1]
  idx = idx + step
  local path = readPath
  if mode == "write" or ((mode == "mix" or mode == "page") and math.random() < 0.2) then
    path = writePath
  end
  return wrk.format("GET", path, { ["Cookie"] = cookieName .. "=" .. cookie })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"errConnect":%d,"errRead":%d,"errWrite":%d,'
      .. '"errStatus":%d,"errTimeout":%d,"latMeanUs":%.1f,"latMaxUs":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"p999Us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
