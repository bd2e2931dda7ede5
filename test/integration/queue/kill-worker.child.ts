// A worker process for bullmq-kill.test.ts: takes a detect task, says so, and hangs until SIGKILLed.
import { createBullmqQueue } from '../../../src/queue/bullmq.js';

const [url, prefix] = process.argv.slice(2);
const q = createBullmqQueue({ url, prefix, lockDuration: 1000, stalledInterval: 500 });
await q.work(
  {
    detect: async (p) => {
      process.stdout.write(`started ${JSON.stringify(p)}\n`);
      await new Promise(() => {});
    },
  },
  { concurrency: 1 },
);
process.stdout.write('ready\n');
