-- wrk script: POST one unique, realistic memory per request to /api/v1/memories.
--
-- Environment: MEMTRACE_BENCH_KEY (API key), MEMTRACE_BENCH_RUN (a run id, so
-- bodies never repeat across runs on one data dir). Each wrk thread seeds its own
-- generator (run id, thread number, clock), and every body also carries the run id,
-- thread number and a per-thread counter in its first 200 bytes, so no two bodies
-- share a dedup key (a duplicate would be a 409). done() prints one BENCH_JSON line.

local threads = {}
local thread_count = 0

local agents = {}
for i = 0, 7 do agents[#agents + 1] = string.format("wrk-agent-%02d", i) end
local events = {
  {"tool_call", "episodic"}, {"tool_call", "episodic"}, {"page_crawled", "episodic"},
  {"file_edited", "episodic"}, {"api_call", "episodic"}, {"user_message", "episodic"},
  {"observation", "episodic"}, {"error", "episodic"}, {"decision", "decision"},
  {"entity_seen", "entity"},
}
local tags = {"crawling", "products", "auth", "billing", "backend", "db", "perf", "ci",
              "deploy", "staging", "customer", "bug", "api", "search", "latency"}
local words = {"the", "request", "returned", "a", "cached", "page", "after", "retrying",
               "with", "backoff", "while", "queue", "was", "draining", "worker", "noticed",
               "latency", "grew", "past", "budget", "split", "batch", "schema", "customer",
               "invoice", "deploy", "staging", "green", "planner", "ticket", "flaky", "test"}

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  threads[#threads + 1] = thread
end

function init(args)
  run = os.getenv("MEMTRACE_BENCH_RUN") or "run"
  local run_num = tonumber(string.sub(run, 1, 6), 16) or 0
  math.randomseed(run_num * 7919 + tid * 1000003 + os.time())
  counter = 0
  non2xx = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["x-api-key"] = os.getenv("MEMTRACE_BENCH_KEY")
  local parts = {}
  for i = 1, 1600 do parts[i] = words[math.random(#words)] end
  filler = table.concat(parts, " ")
end

local function pick_tags()
  local n = math.random(0, 3)
  local out = {}
  for i = 1, n do out[i] = '"' .. tags[math.random(#tags)] .. '"' end
  return "[" .. table.concat(out, ",") .. "]"
end

function request()
  counter = counter + 1
  local ev = events[math.random(#events)]
  local roll = math.random()
  local extra = ""
  if roll > 0.95 then
    local len = math.random(2000, 6000)
    local at = math.random(1, #filler - len)
    extra = " " .. string.sub(filler, at, at + len)
  elseif roll > 0.70 then
    local len = math.random(200, 900)
    local at = math.random(1, #filler - len)
    extra = " " .. string.sub(filler, at, at + len)
  end
  local content = string.format("step %s-%d-%d: %s on shop%d.example.com took %d ms%s",
    run, tid, counter, ev[1], math.random(0, 40), math.random(1, 3000), extra)
  local body = string.format(
    '{"agent_id":"%s","session_id":"sess_wrk_%s_%d_%d","memory_type":"%s","event_type":"%s",'
    .. '"content":"%s","metadata":{"thread":%d,"n":%d,"rand":%d},"tags":%s,"importance":%.2f}',
    agents[math.random(#agents)], run, tid, math.floor(counter / 200), ev[2], ev[1], content,
    tid, counter, math.random(1, 1000000000), pick_tags(), math.random())
  return wrk.format(nil, "/api/v1/memories", nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + (thread:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"timeout":%d,"status":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,'
    .. '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
