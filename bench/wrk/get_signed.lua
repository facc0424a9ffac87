-- GET each line of LIST_FILE in turn, a line being "PATH<TAB>AUTHORIZATION" (identity-bench
-- hawk-headers signs them just before the run): every request has its own nonce, so none is a
-- replay. Thread t of THREADS sends lines t, t + T, t + 2T, ... and wraps around at the end (a
-- wrapped request is a replay and answers 401: make the file long enough for the run). The
-- warm-up run (RUN_ID w…, lib.sh's scenario) reads LIST_FILE.warm, so the measured run replays
-- none of its nonces.
--
-- Held as one string plus offsets in FFI arrays, as in get_random.lua: a Lua table of hundreds of
-- thousands of strings makes LuaJIT's collector stall the thread, which wrk counts as latency.
dofile((os.getenv("WRK_LUA_DIR") or ".") .. "/report.lua")
local ffi = require("ffi")

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local data, starts, tabs, stops, n, i = "", nil, nil, nil, 0, 0
function init(args)
   local file = assert(os.getenv("LIST_FILE"), "LIST_FILE unset")
   if (os.getenv("RUN_ID") or ""):sub(1, 1) == "w" then file = file .. ".warm" end
   local f = assert(io.open(file, "rb"))
   data = f:read("*a")
   f:close()
   local t = tonumber(os.getenv("THREADS") or "2")
   local lines = 1
   for _ in data:gmatch("\n") do lines = lines + 1 end
   local mine = math.floor(lines / t) + 1
   starts, tabs, stops = ffi.new("int32_t[?]", mine), ffi.new("int32_t[?]", mine), ffi.new("int32_t[?]", mine)
   local pos, k = 1, 0
   while pos <= #data do
      local nl = data:find("\n", pos, true) or (#data + 1)
      if k % t == (tid - 1) and nl > pos then
         local tab = data:find("\t", pos, true)
         starts[n], tabs[n], stops[n], n = pos, tab, nl - 1, n + 1
      end
      k = k + 1
      pos = nl + 1
   end
   assert(n > 0, "empty LIST_FILE")
end

function request()
   local j = i % n
   i = i + 1
   return wrk.format("GET", data:sub(starts[j], tabs[j] - 1), { Authorization = data:sub(tabs[j] + 1, stops[j]) })
end
