/**
 * Round-robin across keys (users), FIFO within a key: the scheduling both queue adapters use for
 * tasks that carry a fairnessKey (the memory adapter with this class, the BullMQ adapter with the
 * same rules in Redis: see fair-redis.ts).
 *
 * The ring holds the keys in serving order. A key not in the ring (new, or idle for a whole
 * round) joins at the FRONT, so a user's first task waits for at most the task being served.
 * A key that was just served goes to the BACK and stays in the ring while its lane is empty, until
 * its turn comes round again: so a chain of tasks that each enqueue the next (process → detect →
 * finalize) does not count as "new" every time and cannot jump ahead of everyone else.
 */
export class FairQueue<T> {
  private readonly lanes = new Map<string, T[]>();
  private ring: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(key: string, item: T): void {
    const lane = this.lanes.get(key);
    if (lane) lane.push(item);
    else {
      this.lanes.set(key, [item]);
      this.ring.unshift(key);
    }
    this.count++;
  }

  /** Takes the next item `accept` allows (default: any), in round-robin order across keys. */
  take(accept: (item: T) => boolean = () => true): T | undefined {
    for (let i = 0; i < this.ring.length; i++) {
      const key = this.ring[i];
      const lane = this.lanes.get(key) ?? [];
      const j = lane.findIndex(accept);
      if (j < 0) {
        if (lane.length === 0) {
          // its turn came round with nothing waiting: the key leaves the ring (idle)
          this.ring.splice(i, 1);
          this.lanes.delete(key);
          i--;
        }
        continue;
      }
      const [item] = lane.splice(j, 1);
      this.ring.splice(i, 1);
      this.ring.push(key); // served: to the back, lane kept even when empty
      this.count--;
      return item;
    }
    return undefined;
  }
}
