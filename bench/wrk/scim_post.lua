-- POST a SCIM user with a unique userName per request (bench-<RUN_ID>-<thread>-<counter>) to
-- TARGET (default /scim/v2/Users), with an optional bearer TOKEN. The floor's insert takes the
-- same body at /users.
dofile((os.getenv("WRK_LUA_DIR") or ".") .. "/report.lua")

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local run_id, counter, target = os.getenv("RUN_ID") or tostring(os.time()), 0, "/scim/v2/Users"
function init(args)
   target = os.getenv("TARGET") or target
   wrk.headers["Content-Type"] = "application/scim+json"
   local token = os.getenv("TOKEN")
   if token and #token > 0 then wrk.headers["Authorization"] = "Bearer " .. token end
end

function request()
   counter = counter + 1
   local name = string.format("bench-%s-%d-%d", run_id, tid or 0, counter)
   local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
      '","name":{"givenName":"Wrk","familyName":"User"},"emails":[{"value":"' .. name ..
      '@example.com","type":"work","primary":true}],"active":true}'
   return wrk.format("POST", target, nil, body)
end
