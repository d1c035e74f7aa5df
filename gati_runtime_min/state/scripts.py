"""The Lua scripts the Redis backend runs: each is atomic on the server, one round trip each."""

from __future__ import annotations

from typing import Final

# Fixed window per key, started by the first hit (as `RateLimiter` does in memory). INCR and the
# expiry happen in one script, so N workers together admit exactly `limit` per window. One call
# runs a batch of checks (`ScriptPipe`: the concurrent requests of one worker), each on its own
# key in turn, exactly as separate calls would.
# KEYS[i] a window key; ARGV[2i-1] its limit, ARGV[2i] its window in ms.
# Returns one integer per key: 0 when admitted, else the milliseconds until its window ends.
# (The window's remaining time is read only for a refusal; a key that lost its expiry, which
# this script never leaves, gets a full window again at its next refusal.)
RATE_LIMIT: Final = """
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local n = redis.call('INCR', key)
  local ttl = -1
  if n == 1 then
    redis.call('PEXPIRE', key, ARGV[2 * i])
  elseif n > tonumber(ARGV[2 * i - 1]) then
    ttl = redis.call('PTTL', key)
    if ttl < 0 then redis.call('PEXPIRE', key, ARGV[2 * i]); ttl = tonumber(ARGV[2 * i]) end
  end
  if n > tonumber(ARGV[2 * i - 1]) then out[i] = ttl else out[i] = 0 end
end
return out
"""

# Publish on a stream unless a consumer group already has `maxlen` messages it has not
# acknowledged (read and pending): then answer -1 and the publisher waits (backpressure).
# Groups named `~<worker>:<n>` belong to one worker's fan-out subscription; when that worker's
# liveness key is gone (it crashed), the group is destroyed so it no longer holds publishers back.
# Entries every live group has acknowledged are trimmed (MINID), never one still pending.
# KEYS[1] the stream; ARGV[1] maxlen; ARGV[2] payload; ARGV[3] liveness key prefix; ARGV[4] (optional)
# the key a reply goes to (`gctx.request`), stored as the entry's field `r`.
# Returns the number of receiving groups, or -1.
PUBLISH: Final = """
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local maxlen = tonumber(ARGV[1])
local receivers = 0
local floor = nil
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if ok then
  for _, g in ipairs(groups) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    local name = info['name']
    local alive = true
    local wid = string.match(name, '^~([^:]+):')
    if wid and redis.call('EXISTS', ARGV[3] .. wid) == 0 then
      redis.call('XGROUP', 'DESTROY', KEYS[1], name)
      alive = false
    end
    if alive then
      receivers = receivers + 1
      local last = info['last-delivered-id']
      local lag = info['lag']
      if type(lag) ~= 'number' then
        lag = #redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', maxlen)
      end
      local pending = tonumber(info['pending'])
      if lag + pending >= maxlen then return -1 end
      local oldest = last
      if pending > 0 then
        oldest = redis.call('XPENDING', KEYS[1], name)[2]
      end
      if floor == nil or less(oldest, floor) then floor = oldest end
    end
  end
end
local fields = {'m', ARGV[2]}
if ARGV[4] and ARGV[4] ~= '' then
  fields[3] = 'r'
  fields[4] = ARGV[4]
end
if floor ~= nil then
  redis.call('XADD', KEYS[1], 'MINID', floor, '*', unpack(fields))
else
  redis.call('XADD', KEYS[1], 'MAXLEN', maxlen, '*', unpack(fields))
end
return receivers
"""

# Keep the latest of several workers' "last request" times: set a hash field unless it already
# holds a later time. KEYS[1] the hash; ARGV pairs of (field, Unix time).
LATEST: Final = """
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur or tonumber(cur) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
"""
