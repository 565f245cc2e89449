-- wrk side of ratio 2 (uncached course page): GET /api/v1/courses/{id} with id drawn
-- uniformly from 1..max_course, the range pgbench draws from (course_detail.sql).
-- Usage: wrk ... -s course_detail.lua <url> -- <max_course>
local max_course
function init(args)
    max_course = tonumber(args[1])
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
function request()
    return wrk.format("GET", "/api/v1/courses/" .. math.random(1, max_course))
end
