-- GET each line of LIST_FILE in turn, a line being "PATH<TAB>AUTHORIZATION" (identity-bench
-- hawk-headers signs them just before the run): every request has its own nonce, so none is a
-- replay. Thread t sends lines t, t + T, t + 2T, ... and wraps around at the end (a wrapped
-- request is a replay and answers 401: make the file long enough for the run). The warm-up run
-- (RUN_ID w…, lib.sh's scenario) reads LIST_FILE.warm, so the measured run replays none of it.
dofile((os.getenv("WRK_LUA_DIR") or ".") .. "/report.lua")

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local paths, headers, n, i, step = {}, {}, 0, 0, 1
function init(args)
   local file = assert(os.getenv("LIST_FILE"), "LIST_FILE unset")
   if (os.getenv("RUN_ID") or ""):sub(1, 1) == "w" then file = file .. ".warm" end
   local f = assert(io.open(file, "rb"))
   local t = tonumber(os.getenv("THREADS") or "2")
   local k = 0
   for line in f:lines() do
      if k % t == (tid - 1) then
         local tab = line:find("\t", 1, true)
         n = n + 1
         paths[n], headers[n] = line:sub(1, tab - 1), line:sub(tab + 1)
      end
      k = k + 1
   end
   f:close()
   assert(n > 0, "empty LIST_FILE")
end

function request()
   i = i % n + 1
   return wrk.format("GET", paths[i], { Authorization = headers[i] })
end
