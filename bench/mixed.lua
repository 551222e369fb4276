-- Mixed load for the memory figures (bench/run, wrk -s): per 10 requests, 3 system-scope
-- searches that skip the cache (20 client tokens, so 20 rate-limit keys), 2 patient-scope
-- searches (post-filter), 3 cache hits, 1 search with a query never seen before (the cache
-- fills to cache.max_bytes and evicts) and 1 metadata read without a token.
local tokens = {}
local counter = 0
local prefix = ""
local sys, pt, patient

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do
    tokens[#tokens + 1] = line
  end
  sys = os.getenv("SYS_TOKEN")
  pt = os.getenv("PT_TOKEN")
  patient = os.getenv("PATIENT")
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  prefix = tostring(math.random(1, 1000000000))
end

local function search(token, extra, nocache)
  local headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/fhir+json" }
  if nocache then
    headers["Cache-Control"] = "no-cache"
  end
  return wrk.format("GET", "/fhir/Observation?patient=" .. patient .. "&_count=20" .. extra, headers)
end

function request()
  counter = counter + 1
  local k = counter % 10
  if k < 3 then
    return search(tokens[(counter % #tokens) + 1], "", true)
  elseif k < 5 then
    return search(pt, "", true)
  elseif k < 8 then
    return search(sys, "", false)
  elseif k == 8 then
    return search(sys, "&_bench=" .. prefix .. "-" .. counter, false)
  else
    return wrk.format("GET", "/fhir/metadata", { ["Accept"] = "application/fhir+json" })
  end
end
