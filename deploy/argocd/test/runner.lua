-- Runs the TetrisApp health check against every case in a cases file, each in a fresh sandbox
-- that offers only what Argo CD's Lua VM offers a health script (no io, os, require or load).
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
    string = string, table = table, math = math,
  }
end

local passed, failed = 0, 0
for _, case in ipairs(cases) do
  local chunk, parseError = loadstring(source, "=health.lua")
  if chunk == nil then
    io.stderr:write("health.lua does not parse: " .. parseError .. "\n")
    os.exit(2)
  end
  setfenv(chunk, sandbox(case.obj))
  local ok, result = pcall(chunk)
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
