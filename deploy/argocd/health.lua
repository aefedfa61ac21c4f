-- Argo CD health check for gameops.dev/TetrisApp.
--
-- Reads only what the operator writes: status.observedGeneration, the Ready, Progressing and
-- Degraded conditions and status.rollout (each with its own observedGeneration). A status that
-- describes an older generation of the spec says nothing about the current one, so it counts as
-- Progressing.
-- Installed through argocd-cm (see argocd-cm.yaml, which embeds this file verbatim).
local hs = {}

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

local function findCondition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

-- A condition is current when it was written for the spec generation Argo CD is looking at.
local function isCurrent(condition)
  if condition == nil then
    return false
  end
  if condition.observedGeneration == nil or generation == nil then
    return true
  end
  return condition.observedGeneration >= generation
end

local function describe(condition, fallback)
  local reason = condition.reason
  local message = condition.message
  if reason ~= nil and reason ~= "" and message ~= nil and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= nil and message ~= "" then
    return message
  end
  if reason ~= nil and reason ~= "" then
    return reason
  end
  return fallback
end

if obj.status == nil or obj.status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the TetrisApp"
  return hs
end

if generation ~= nil and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation) ..
    " (status describes generation " .. tostring(obj.status.observedGeneration) .. ")"
  return hs
end

local degraded = findCondition("Degraded")
if isCurrent(degraded) and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded, "TetrisApp is degraded")
  return hs
end

-- A canary pause holds the rollout on purpose (for its seconds, or until promoted): Suspended, as
-- Argo CD shows a paused Argo Rollout. status.rollout carries its own observedGeneration.
local rollout = obj.status.rollout
if rollout ~= nil and rollout.phase == "Paused" and isCurrent(rollout) then
  hs.status = "Suspended"
  if rollout.message ~= nil and rollout.message ~= "" then
    hs.message = "Paused: " .. rollout.message
  else
    hs.message = "Canary paused"
  end
  return hs
end

local progressing = findCondition("Progressing")
if isCurrent(progressing) and progressing.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(progressing, "Rollout in progress")
  return hs
end

-- Scaled to zero on purpose (and done scaling down): nothing runs, the scores are kept.
if obj.spec ~= nil and obj.spec.replicas == 0 then
  hs.status = "Suspended"
  hs.message = "Scaled to zero replicas; the scoreboard volume is kept"
  return hs
end

local ready = findCondition("Ready")
if isCurrent(ready) and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "TetrisApp is ready")
  return hs
end

hs.status = "Progressing"
if isCurrent(ready) then
  hs.message = describe(ready, "Waiting for the TetrisApp to become ready")
else
  hs.message = "Waiting for the Ready condition of the current generation"
end
return hs
