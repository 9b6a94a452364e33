-- rate.lua: one member's token bucket, shared by all its connections on every node.
--
-- KEYS[1]  {room:<id>}:rate:<member>   hash {tokens, ts (Redis time, ms)}
-- ARGV[1]  refill rate, tokens per second
-- ARGV[2]  burst (bucket size)
-- ARGV[3]  tokens wanted (a node borrows a small batch and spends it locally)
--
-- Returns {granted, wait_ms}: granted = min(wanted, whole tokens in the bucket); when
-- nothing is granted, wait_ms is the time until the next whole token. The key expires
-- once the bucket would be full again (a full bucket and a missing one are the same).

local now_parts = redis.call("TIME")
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local values = redis.call("HMGET", KEYS[1], "tokens", "ts")
local tokens = tonumber(values[1]) or burst
local ts = tonumber(values[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
end
local granted = math.min(want, math.floor(tokens))
if granted < 0 then
  granted = 0
end
tokens = tokens - granted
redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "ts", tostring(now))
local wait = 0
local refill = 1000
if rate > 0 then
  refill = math.ceil((burst - tokens) * 1000 / rate) + 1000
  if granted == 0 then
    wait = math.ceil((1 - tokens) * 1000 / rate)
  end
elseif granted == 0 then
  wait = 1000
end
redis.call("PEXPIRE", KEYS[1], refill)
return {granted, wait}
