#!/usr/bin/env node
// The image's HEALTHCHECK, the same for every role: healthy when this container's process answers
// GET /healthz with 200 within 3 s, on PORT (`serve`: the API) or on METRICS_PORT (`worker`: its
// metrics server). Only this container's loopback is asked.
const ports = [process.env.PORT || '3000', process.env.METRICS_PORT].filter(Boolean);

async function healthy(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

for (const port of ports) {
  if (await healthy(port)) process.exit(0);
}
process.stderr.write(`no /healthz answered on port ${ports.join(' or ')}\n`);
process.exit(1);
