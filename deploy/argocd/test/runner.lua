-- Runs the TetrisApp health check against every case in a cases file, each in a fresh sandbox
-- close to the one Argo CD gives a custom health script: base functions and table only (no string,
-- math, io, os, require or load), and strings without methods (`s:find()` fails there too). Argo
-- CD's own VM (hack/argocd/health-oracle, run by operator/tests/argocd) is the authority.
-- Usage: lua5.1 runner.lua HEALTH_LUA CASES_LUA
-- CASES_LUA returns a list of { name = ..., obj = {...}, status = ..., message = ... }.
local healthPath, casesPath = arg[1], arg[2]
if healthPath == nil or casesPath == nil then
  io.stderr:write("usage: lua5.1 runner.lua HEALTH_LUA CASES_LUA\n")
  os.exit(2)
end

local source = assert(io.open(healthPath)):read("*a")
local cases = dofile(casesPath)

local function sandbox(obj)
  return {
    obj = obj,
    ipairs = ipairs, pairs = pairs, next = next, type = type,
    tostring = tostring, tonumber = tonumber, error = error, pcall = pcall,
    select = select, unpack = unpack, table = table,
  }
end

-- Argo CD's VM gives strings no metatable; lua5.1 gives them the string library as methods.
local stringMethods = getmetatable("")

local function run(chunk)
  local index = stringMethods.__index
  stringMethods.__index = nil
  local ok, result = pcall(chunk)
  stringMethods.__index = index
  return ok, result
end

local passed, failed = 0, 0
for _, case in ipairs(cases) do
  local chunk, parseError = loadstring(source, "=health.lua")
  if chunk == nil then
    io.stderr:write("health.lua does not parse: " .. parseError .. "\n")
    os.exit(2)
  end
  setfenv(chunk, sandbox(case.obj))
  local ok, result = run(chunk)
  local problem = nil
  if not ok then
    problem = "raised an error: " .. tostring(result)
  elseif type(result) ~= "table" then
    problem = "returned " .. type(result) .. " instead of a table"
  elseif result.status ~= case.status then
    problem = "status " .. tostring(result.status) .. ", want " .. case.status ..
      " (message: " .. tostring(result.message) .. ")"
  elseif case.message ~= nil and result.message ~= case.message then
    problem = "message " .. string.format("%q", tostring(result.message)) .. ", want " ..
      string.format("%q", case.message)
  end
  if problem == nil then
    passed = passed + 1
    print("ok   " .. case.name .. " -> " .. case.status)
  else
    failed = failed + 1
    print("FAIL " .. case.name .. ": " .. problem)
  end
end

print(passed .. " passed, " .. failed .. " failed")
if failed > 0 or passed == 0 then
  os.exit(1)
end
