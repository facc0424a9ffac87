-- PUT a People Finder profile: for each request a random line "slug user_name" of LIST_FILE, the
-- whole profile replaced (its pronouns and login count change each time), with a bearer TOKEN.
dofile((os.getenv("WRK_LUA_DIR") or ".") .. "/report.lua")

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local people, counter = {}, 0
function init(args)
   wrk.headers["Content-Type"] = "application/json"
   local token = os.getenv("TOKEN")
   if token and #token > 0 then wrk.headers["Authorization"] = "Bearer " .. token end
   local f = assert(io.open(assert(os.getenv("LIST_FILE"), "LIST_FILE unset"), "rb"))
   local data = f:read("*a")
   f:close()
   for slug, name in data:gmatch("(%S+) (%S+)\n") do
      people[#people + 1] = { slug, name }
   end
   assert(#people > 0, "empty LIST_FILE")
   math.randomseed(os.time() + (tid or 0) * 7919)
end

function request()
   counter = counter + 1
   local p = people[math.random(#people)]
   local body = '{"sso_email_id":"' .. p[2] .. '","first_name":"Wrk","last_name":"User",' ..
      '"preferred_first_name":"W' .. counter .. '","pronouns":"they/them","email_address":"' .. p[2] ..
      '@example.com","primary_phone_number":"020 7946 0000","grade":"grade_7","workdays":["mon","tue"],' ..
      '"login_count":' .. counter .. ',"not_employee":false}'
   return wrk.format("PUT", "/api/peoplefinder/people/" .. p[1], nil, body)
end
