-- tandem's scripting sandbox, run once in each new Lua state (chunk name "=tandem").
-- Arguments: the raw command caller (Rust), the error handler (Rust), the real globals.
local err_text, err_handler, load_api, killed = ...
-- FUNCTION LOAD runs a library's code with only `load_api` as its globals (set_loading).
local G = _G
local type, error, tostring, rawget, rawset, select, xpcall, pcall =
      type, error, tostring, rawget, rawset, select, xpcall, pcall
local orig_setmetatable, orig_loadstring = setmetatable, loadstring

-- Read-only tables (Redis patches Lua for them; here a proxy per table).
local readonly = orig_setmetatable({}, {__mode = 'k'})
local function ro_error() error("Attempt to modify a readonly table", 2) end
local marker = {}
orig_setmetatable(marker, {__newindex = ro_error, __metatable = marker})
readonly[marker] = true
local function strict_index(t)
    return function(_, k)
        local v = rawget(t, k)
        if v == nil then
            error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
        end
        return v
    end
end
local function protect(t, strict)
    local p = {}
    orig_setmetatable(p, {__index = strict and strict_index(t) or t, __newindex = ro_error, __metatable = marker})
    readonly[p] = true
    return p
end

-- pcall gives the message of an error table, as Redis 7.0's pcall.
local function pcall_result(ok, ...)
    if ok then return ok, ... end
    local e = ...
    -- A killed script cannot catch its end.
    if killed() then error(e, 0) end
    if type(e) == 'userdata' then e = err_text(e) end
    if type(e) == 'table' then
        local m = e.err
        if type(m) == 'string' or type(m) == 'number' then e = m end
    end
    return false, e
end
G.pcall = function(...) return pcall_result(pcall(...)) end
local function reraise_if_killed(ok, ...)
    if not ok and killed() then error((...), 0) end
    return ok, ...
end
G.xpcall = function(f, h)
    return reraise_if_killed(xpcall(f, function(e)
        if killed() then return e end
        return h(e)
    end))
end

G.setmetatable = function(t, mt)
    if readonly[t] then error("Attempt to modify a readonly table", 0) end
    return orig_setmetatable(t, mt)
end
G.rawset = function(t, k, v)
    if readonly[t] then error("Attempt to modify a readonly table", 0) end
    return rawset(t, k, v)
end
-- Binary chunks are refused (Redis loads text only).
G.loadstring = function(s, name)
    if type(s) == 'string' and s:byte(1) == 27 then return nil, "binary chunks are not allowed" end
    return orig_loadstring(s, name)
end

for _, name in ipairs({'print', 'setfenv', 'getfenv', 'newproxy', 'module', 'require',
                       'loadfile', 'dofile', 'package', 'os', 'io', 'debug'}) do
    rawset(G, name, nil)
end
load_api.redis = protect(load_api.redis, true)
for _, name in ipairs({'redis', 'cjson', 'bit', 'cmsgpack', 'struct', 'string', 'math',
                       'table', 'coroutine'}) do
    if rawget(G, name) then rawset(G, name, protect(rawget(G, name))) end
end

-- The scripts' globals: reads of unknown names and every write fail. The environment's
-- __index is a table (the real globals, or the loading API), so a global read costs one
-- table lookup; only a missing name reaches the function that raises.
local function missing(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local strict = {__index = missing}
orig_setmetatable(G, strict)
orig_setmetatable(load_api, strict)
local env = {}
local env_mt = {__index = G, __newindex = ro_error, __metatable = marker}
orig_setmetatable(env, env_mt)
readonly[env] = true
rawset(G, '_G', env)

-- Runs f(...) with the error handler; returns ok and f's first result.
local function run(f, a, b)
    -- EVAL's scripts take no arguments: no closure to make (and collect) per run.
    if a == nil and b == nil then return xpcall(f, err_handler) end
    return xpcall(function() return f(a, b) end, err_handler)
end
local function set_loading(on) env_mt.__index = on and load_api or G end
return env, run, set_loading
