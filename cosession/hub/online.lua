-- online.lua: who is online in a room across every node, and the room's capacity.
--
-- KEYS[1]  {room:<id>}:online   sorted set: member "<node>|<member>", score = expiry
--                                (Redis time, ms); a node refreshes its entries on every
--                                heartbeat, so a dead node's entries expire by themselves
-- ARGV[1]  mode: "admit" | "add" | "del" | "sync"
-- ARGV[2]  node id
-- ARGV[3]  entry TTL, ms
-- ARGV[4]  admit: max_members (distinct members online); sync: ms during which a fresh
--          unlisted entry is kept (an admission racing the caller's snapshot); else unused
-- ARGV[5…] members
--
-- admit: one member says hello on this node. Allowed when the member is already online
--        on some node, or fewer than max_members distinct members are; then its entry is
--        written at once (the seat is taken before the join goes on). Returns
--        {"ok", count} | {"full", count} (count: distinct members online before).
-- add:   (re)write the entries of these members on this node.
-- del:   remove the entries of these members on this node.
-- sync:  this node's entries become these members (the heartbeat's reconcile): unlisted
--        ones are removed unless written within the last ARGV[4] ms.
-- Every mode first drops expired entries. Returns {"ok", count} for add/del/sync.

local now_parts = redis.call("TIME")
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local ttl = tonumber(ARGV[3])
local mode = ARGV[1]
local node = ARGV[2]
local prefix = node .. "|"
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)

if mode == "admit" then
  local member = ARGV[5]
  local seen = {}
  local count = 0
  local present = false
  for _, entry in ipairs(redis.call("ZRANGE", KEYS[1], 0, -1)) do
    local sep = string.find(entry, "|", 1, true)
    local who = string.sub(entry, sep + 1)
    if who == member then
      present = true
    end
    if not seen[who] then
      seen[who] = true
      count = count + 1
    end
  end
  if not present and count >= tonumber(ARGV[4]) then
    return {"full", count}
  end
  redis.call("ZADD", KEYS[1], now + ttl, prefix .. member)
  redis.call("PEXPIRE", KEYS[1], ttl)
  return {"ok", count}
end

if mode == "sync" then
  local keep = {}
  for i = 5, #ARGV do
    keep[prefix .. ARGV[i]] = true
  end
  local fresh = now + ttl - tonumber(ARGV[4])
  local entries = redis.call("ZRANGE", KEYS[1], 0, -1, "WITHSCORES")
  for i = 1, #entries, 2 do
    local entry = entries[i]
    if string.sub(entry, 1, #prefix) == prefix and not keep[entry] and tonumber(entries[i + 1]) < fresh then
      redis.call("ZREM", KEYS[1], entry)
    end
  end
end

for i = 5, #ARGV do
  if mode == "del" then
    redis.call("ZREM", KEYS[1], prefix .. ARGV[i])
  else
    redis.call("ZADD", KEYS[1], now + ttl, prefix .. ARGV[i])
  end
end
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("PEXPIRE", KEYS[1], ttl)
end
return {"ok", redis.call("ZCARD", KEYS[1])}
