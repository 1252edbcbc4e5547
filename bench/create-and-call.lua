-- wrk script for scripts/bench-calls.sh: POST /api/jobs/create-and-call, one small chat call per
-- request, all for one team; each request waits for its job (submit, queue, a worker's call to
-- the mock, settlement) and answers with the result. The team, its key and the model group come
-- from the environment (BENCH_TEAM, BENCH_KEY, BENCH_MODEL), so the key never appears on a
-- command line.
--
-- Besides wrk's own summary, done() prints one line per HTTP status seen ("status 200 41234"),
-- summed over the threads, and how many 200s said "status":"completed" ("completed N"), so the
-- script can check the answers against the rows in PostgreSQL.

local team = os.getenv("BENCH_TEAM") or error("BENCH_TEAM is not set")
local key = os.getenv("BENCH_KEY") or error("BENCH_KEY is not set")
local model = os.getenv("BENCH_MODEL") or error("BENCH_MODEL is not set")

wrk.method = "POST"
wrk.path = "/api/jobs/create-and-call"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"team_id":"%s","job_type":"chat","model":"%s","messages":[{"role":"user","content":"hello"}]}',
  team, model)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  completed = 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 and string.find(body, '"status":"completed"', 1, true) then
    completed = completed + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  local all_completed = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    all_completed = all_completed + thread:get("completed")
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
  io.write(string.format("completed %d\n", all_completed))
  io.write(string.format("errors connect %d read %d write %d timeout %d status %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
