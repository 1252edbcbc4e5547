-- wrk script for scripts/bench-jobs.sh: POST /api/jobs/create, one small chat job per request,
-- all for one team (the hot-row worst case). The team, its key and the model group come from
-- the environment (BENCH_TEAM, BENCH_KEY, BENCH_MODEL), so the key never appears on a command line.
--
-- Besides wrk's own summary, done() prints one line per HTTP status seen ("status 202 41234"),
-- summed over the threads, so the script can check every 2xx against the rows in PostgreSQL.
--
-- BENCH_NUL_EVERY=N (default 0: never) makes every N-th request of a thread carry U+0000 in its
-- message (`"content":"a\u0000b"`), which the API must refuse with a 422 at the door without
-- slowing the other requests down (issue 8: a 1 % mix must keep >= 0.9 of the clean rate).

local team = os.getenv("BENCH_TEAM") or error("BENCH_TEAM is not set")
local key = os.getenv("BENCH_KEY") or error("BENCH_KEY is not set")
local model = os.getenv("BENCH_MODEL") or error("BENCH_MODEL is not set")

wrk.method = "POST"
wrk.path = "/api/jobs/create"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"team_id":"%s","job_type":"chat","model":"%s","messages":[{"role":"user","content":"hello"}]}',
  team, model)

local nul_every = tonumber(os.getenv("BENCH_NUL_EVERY") or "0")
local clean_request, nul_request
local sent = 0

-- Only when a mix is asked for: wrk's static request is cheaper than a request() function.
if nul_every > 0 then
  function request()
    if not clean_request then
      clean_request = wrk.format()
      nul_request = wrk.format(nil, nil, nil, string.format(
        '{"team_id":"%s","job_type":"chat","model":"%s","messages":[{"role":"user","content":"a\\u0000b"}]}', team, model))
    end
    sent = sent + 1
    if sent % nul_every == 0 then return nul_request end
    return clean_request
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
  io.write(string.format("errors connect %d read %d write %d timeout %d status %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
