-- GET PREFIX .. <random line of LIST_FILE> .. SUFFIX, with an optional bearer TOKEN.
dofile((os.getenv("WRK_LUA_DIR") or ".") .. "/report.lua")

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local items, n, prefix, suffix = {}, 0, "", ""
function init(args)
   prefix = os.getenv("PREFIX") or "/"
   suffix = os.getenv("SUFFIX") or ""
   local token = os.getenv("TOKEN")
   if token and #token > 0 then wrk.headers["Authorization"] = "Bearer " .. token end
   local f = assert(io.open(assert(os.getenv("LIST_FILE"), "LIST_FILE unset"), "r"))
   for line in f:lines() do
      if #line > 0 then n = n + 1; items[n] = line end
   end
   f:close()
   assert(n > 0, "empty LIST_FILE")
   math.randomseed(os.time() + (tid or 0) * 7919)
end

function request()
   return wrk.format("GET", prefix .. items[math.random(n)] .. suffix)
end
