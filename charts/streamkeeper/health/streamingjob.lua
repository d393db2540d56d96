-- Argo CD health check for streamkeeper.io/StreamingJob (docs/gitops.md).
-- Runs in Argo CD's gopher-lua (Lua 5.1) with only the base and table libraries (no string, os).
-- A status only counts once the operator has observed the current generation; until then the
-- job is Progressing, whatever the stale status says.
local hs = { status = "Progressing", message = "Waiting for the operator to observe the job" }

local function condition(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.message = "Deleting: the operator is removing the job's pods and ZooKeeper data"
  return hs
end

local status = obj.status
if status == nil or status.observedGeneration == nil then
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration < generation then
  hs.message = "The operator has not yet observed generation " .. generation ..
    " (status is from generation " .. status.observedGeneration .. ")"
  return hs
end

local ready = condition(status.conditions, "Ready")
if ready ~= nil and ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration < generation then
  hs.message = "The Ready condition is from generation " .. ready.observedGeneration
  return hs
end

local phase = status.phase

if ready ~= nil and ready.status == "False" and ready.reason == "InvalidSpec" then
  hs.status = "Degraded"
  hs.message = describe(ready, "The spec is invalid")
  return hs
end

if phase == "Failed" or phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = describe(ready, "Phase " .. phase)
  return hs
end

if phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready, "The job is suspended")
  return hs
end

if phase == "Running" and ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "The job is running")
  return hs
end

-- Pending, Ready Unknown or absent, or Running while not Ready: the operator is still working.
if phase ~= nil then
  hs.message = describe(ready, "Phase " .. phase)
else
  hs.message = describe(ready, "The operator has not set a phase yet")
end
return hs
