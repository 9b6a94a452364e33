-- append.lua: sequence one event of a room, atomically.
--
-- KEYS[1]  {room:<id>}:epoch    the room's epoch (string); missing = Redis lost the room
-- KEYS[2]  {room:<id>}:offset   last sequence number handed out
-- KEYS[3]  {room:<id>}:stream   bounded history; entry id = "<seq>-0", field "e" = payload
-- KEYS[4]  {room:<id>}:runid    Redis run_id recorded when the room was seeded
-- KEYS[5]  {room:<id>}:ref:<member>:<ref>   idempotency record of this op
-- ARGV[1]  epoch the node believes the room has
-- ARGV[2]  run_id of this Redis as the node saw it at connect time
-- ARGV[3]  payload: msgpack [ts, by, op] of the event (without seq)
-- ARGV[4]  stream max length
-- ARGV[5]  idempotency record TTL, seconds
-- ARGV[6]  pub/sub channel of the room
-- ARGV[7]  "1" when the op has a ref (system events have none)
-- ARGV[8]  guard: the head of the replica the node checked the op's limits against,
--          or "" for an op no count limit depends on
-- ARGV[9]  guard slack: the op's limit check stays true while fewer than this many
--          events were sequenced after ARGV[8] (protocol.reducer.limit_slack)
--
-- Returns {"ok", seq} | {"dup", seq} | {"epoch", current} | {"noepoch"} | {"runid"}
--       | {"stale", offset}: too many events since the guard's head; the node catches
--         up to offset, checks the op again and retries (nothing was appended)
-- Publishes "E<epoch>:<seq>:<payload>" on the room's channel.

if ARGV[7] == "1" then
  local seen = redis.call("GET", KEYS[5])
  if seen then
    local sep = string.find(seen, ":", 1, true)
    if string.sub(seen, 1, sep - 1) == ARGV[1] then
      return {"dup", tonumber(string.sub(seen, sep + 1))}
    end
  end
end

local epoch = redis.call("GET", KEYS[1])
if not epoch then
  return {"noepoch"}
end
if redis.call("GET", KEYS[4]) ~= ARGV[2] then
  return {"runid"}
end
if epoch ~= ARGV[1] then
  return {"epoch", epoch}
end

if ARGV[8] ~= nil and ARGV[8] ~= "" then
  local offset = tonumber(redis.call("GET", KEYS[2]) or "0")
  if offset - tonumber(ARGV[8]) >= tonumber(ARGV[9]) then
    return {"stale", offset}
  end
end

local seq = redis.call("INCR", KEYS[2])
redis.call("XADD", KEYS[3], "MAXLEN", "~", ARGV[4], tostring(seq) .. "-0", "e", ARGV[3])
redis.call("PUBLISH", ARGV[6], "E" .. epoch .. ":" .. tostring(seq) .. ":" .. ARGV[3])
if ARGV[7] == "1" then
  redis.call("SET", KEYS[5], epoch .. ":" .. tostring(seq), "EX", ARGV[5])
end
return {"ok", seq}
