import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Graceful shutdown of the standalone service as a real process: SIGTERM while a request is in
 * flight lets that request finish, then the process exits 0 and logs that it stopped.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('SIGTERM: the in-flight request completes, then exit 0', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wd-shutdown-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (b) => {
    logs += b;
  });
  child.stderr.on('data', (b) => {
    logs += b;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      assert.ok(i < 600, `the server did not start: ${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // a request that is still being answered when the signal arrives: the events stream of a
    // job that does not exist answers 401 at once, so use a slow upload body instead
    const slowBody = new ReadableStream({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('{"username":"shutdown-user",'));
        await new Promise((r) => setTimeout(r, 1500));
        controller.enqueue(new TextEncoder().encode('"password":"long enough password"}'));
        controller.close();
      },
    });
    const inFlight = fetch(`${base}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: slowBody,
      duplex: 'half',
    } as RequestInit);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 201, await res.text());
    assert.equal(await exited, 0, logs);
    assert.match(logs, /"msg":"stopped"/);
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
