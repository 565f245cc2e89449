-- wrk side of ratio 3 (purchase): POST /api/v1/purchases, each with a new Idempotency-Key.
-- Thread t of wrk's threads plays `per_thread` buyers (tokens file: one "user_id token" per
-- line) and walks the bench runs like pgbench's clients do (purchase.sql): buyer slot j at
-- its n-th purchase buys run rbase + ((slot * step + n) % nruns), so (buyer, run) never
-- repeats. Non-2xx answers are counted by wrk ("Non-2xx or 3xx responses").
-- Usage: wrk ... -s purchase.lua <url> -- <tokens file> <per_thread> <rbase> <nruns> <step> <tag>
local counter = 0
local threads = {}
function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end
local tokens, per_thread, rbase, nruns, step, tag
function init(args)
    tokens = {}
    for line in io.lines(args[1]) do
        local _, token = line:match("^(%d+) (%S+)$")
        table.insert(tokens, token)
    end
    per_thread, rbase, nruns, step, tag =
        tonumber(args[2]), tonumber(args[3]), tonumber(args[4]), tonumber(args[5]), args[6]
end
function request()
    local j = counter % per_thread
    local n = math.floor(counter / per_thread) + 1
    counter = counter + 1
    local slot = tid * per_thread + j
    local run = rbase + ((slot * step + n) % nruns)
    local body = '{"course_run_id":' .. run .. ',"plan":"basic"}'
    return wrk.format("POST", "/api/v1/purchases", {
        ["Authorization"] = "Bearer " .. tokens[slot + 1],
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = "wrk-" .. tag .. "-" .. slot .. "-" .. n,
    }, body)
end
