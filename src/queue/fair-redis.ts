import type { Redis } from 'ioredis';

/**
 * FairQueue's rules (round-robin across keys, FIFO within a key, a new or idle key joins at the
 * front, a served key goes to the back: see fair.ts) kept in Redis, so every process that enqueues
 * or works shares one order. The BullMQ adapter keeps fair-queued tasks here and moves them into
 * the BullMQ queue a few at a time (its "window"): BullMQ then does what it does well (locks,
 * stalled tasks, retries) on a short queue whose order this feeder chose.
 *
 * Each step is one Lua script, so it is atomic with respect to every other process. A task taken
 * from a lane is parked in a "moving" set until it is in BullMQ (done()); if the process dies in
 * between, stale() hands it to whoever pumps next, which adds it again under the same BullMQ id
 * (a no-op when the first add did happen and the task is still there). Keys, for queue N:
 *   P:fair:N:ring       LIST of fairness keys in serving order
 *   P:fair:N:inring     SET  of the keys in the ring
 *   P:fair:N:lane:<key> LIST of entries (JSON) waiting for that key
 *   P:fair:N:ids        SET  of dedupe ids held here (waiting or moving)
 *   P:fair:N:moving     ZSET entry → time it was taken
 */

export interface FairEntry {
  /** the BullMQ job id it will have */
  id: string;
  payload: unknown;
  opts: Record<string, unknown>;
  dedupeId?: string;
}

const PUSH = `
local ring, inring, ids, lane = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local key, entry, dedupe = ARGV[1], ARGV[2], ARGV[3]
if dedupe ~= '' then
  if redis.call('SISMEMBER', ids, dedupe) == 1 then return 0 end
  redis.call('SADD', ids, dedupe)
end
redis.call('RPUSH', lane, entry)
if redis.call('SADD', inring, key) == 1 then redis.call('LPUSH', ring, key) end
return 1
`;

const TAKE = `
local ring, inring, moving = KEYS[1], KEYS[2], KEYS[3]
local lanePrefix, now = ARGV[1], ARGV[2]
local n = redis.call('LLEN', ring)
for i = 1, n do
  local key = redis.call('LPOP', ring)
  if not key then return false end
  local entry = redis.call('LPOP', lanePrefix .. key)
  if entry then
    redis.call('RPUSH', ring, key)
    redis.call('ZADD', moving, now, entry)
    return entry
  end
  redis.call('SREM', inring, key)
end
return false
`;

const DONE = `
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1
`;

const SIZE = `
local n = redis.call('ZCARD', KEYS[2])
for _, key in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  n = n + redis.call('LLEN', ARGV[1] .. key)
end
return n
`;

export interface RedisFairQueue {
  /** false when an entry with the same dedupe id is already held here */
  push(key: string, entry: FairEntry): Promise<boolean>;
  /** the next entry in round-robin order, parked as moving; null when every lane is empty */
  take(): Promise<FairEntry | null>;
  /** the entry is in BullMQ now: forget it */
  done(entry: FairEntry): Promise<void>;
  /** entries parked as moving for longer than olderThanMs (their taker died) */
  stale(olderThanMs: number): Promise<FairEntry[]>;
  /** is a task with this dedupe id waiting or moving here? */
  holds(dedupeId: string): Promise<boolean>;
  /** entries held here (waiting in a lane or moving): one LLEN per key in the ring */
  size(): Promise<number>;
}

export function createRedisFairQueue(redis: Redis, prefix: string, name: string): RedisFairQueue {
  const base = `${prefix}:fair:${name}`;
  const ring = `${base}:ring`;
  const inring = `${base}:inring`;
  const ids = `${base}:ids`;
  const moving = `${base}:moving`;
  const lanePrefix = `${base}:lane:`;
  // the serialised entry is its identity in the moving set: keep the exact string
  const raw = new WeakMap<FairEntry, string>();
  const parse = (s: string) => {
    const e = JSON.parse(s) as FairEntry;
    raw.set(e, s);
    return e;
  };
  return {
    async push(key, entry) {
      const r = await redis.eval(
        PUSH,
        4,
        ring,
        inring,
        ids,
        lanePrefix + key,
        key,
        JSON.stringify(entry),
        entry.dedupeId ?? '',
      );
      return r === 1;
    },
    async take() {
      const r = (await redis.eval(TAKE, 3, ring, inring, moving, lanePrefix, Date.now())) as string | null;
      return r ? parse(r) : null;
    },
    async done(entry) {
      await redis.eval(DONE, 2, moving, ids, raw.get(entry) ?? JSON.stringify(entry), entry.dedupeId ?? '');
    },
    async stale(olderThanMs) {
      const list = await redis.zrangebyscore(moving, 0, Date.now() - olderThanMs, 'LIMIT', 0, 100);
      return list.map(parse);
    },
    async holds(dedupeId) {
      return (await redis.sismember(ids, dedupeId)) === 1;
    },
    async size() {
      return Number(await redis.eval(SIZE, 2, ring, moving, lanePrefix));
    },
  };
}
