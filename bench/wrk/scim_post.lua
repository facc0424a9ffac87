-- POST /scim/v2/Users with a unique userName per request: bench-<RUN_ID>-<thread>-<counter>.
dofile((os.getenv("WRK_LUA_DIR") or ".") .. "/report.lua")

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local run_id, counter = os.getenv("RUN_ID") or tostring(os.time()), 0
function init(args)
   wrk.headers["Content-Type"] = "application/scim+json"
   wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("TOKEN"), "TOKEN unset")
end

function request()
   counter = counter + 1
   local name = string.format("bench-%s-%d-%d", run_id, tid or 0, counter)
   local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
      '","name":{"givenName":"Wrk","familyName":"User"},"emails":[{"value":"' .. name ..
      '@example.com","type":"work","primary":true}],"active":true}'
   return wrk.format("POST", "/scim/v2/Users", nil, body)
end
