-- seed.lua: (re)establish a room in Redis under a fresh epoch, atomically.
--
-- KEYS[1]  {room:<id>}:epoch
-- KEYS[2]  {room:<id>}:offset
-- KEYS[3]  {room:<id>}:stream
-- KEYS[4]  {room:<id>}:runid
-- ARGV[1]  the new epoch
-- ARGV[2]  head: the last seq the durable log (SQL) holds
-- ARGV[3]  run_id of this Redis
-- ARGV[4]  pub/sub channel of the room
--
-- If the room is present under this Redis incarnation (another node seeded it first),
-- nothing changes: returns {"exists", epoch}. Otherwise the offset restarts from the
-- durable head under the new epoch, so no offset is ever handed out twice under one
-- epoch; replicas are told with "R<epoch>". Returns {"seeded", epoch}.

local epoch = redis.call("GET", KEYS[1])
if epoch and redis.call("GET", KEYS[4]) == ARGV[3] then
  return {"exists", epoch}
end
redis.call("SET", KEYS[1], ARGV[1])
redis.call("SET", KEYS[2], ARGV[2])
redis.call("DEL", KEYS[3])
redis.call("SET", KEYS[4], ARGV[3])
redis.call("PUBLISH", ARGV[4], "R" .. ARGV[1])
return {"seeded", ARGV[1]}
