/** `DETECTOR_DEVICE` parsing: 'cpu' | 'cuda' | 'cuda:N' | 'cuda:N,M,...'. */

export type Device = { kind: 'cpu' } | { kind: 'cuda'; id: number };

/** Parses a device setting into the list of devices to open one session on each. */
export function parseDevice(spec: string | undefined): Device[] {
  const s = (spec ?? 'cpu').trim().toLowerCase();
  if (s === '' || s === 'cpu') return [{ kind: 'cpu' }];
  if (s === 'cuda' || s === 'gpu') return [{ kind: 'cuda', id: 0 }];
  const m = /^cuda:(\d+(?:\s*,\s*\d+)*)$/.exec(s);
  if (!m)
    throw new Error(
      `DETECTOR_DEVICE "${spec}" is not valid: use cpu, cuda, or cuda:N with comma-separated GPU numbers such as cuda:0,1.`,
    );
  const ids = [...new Set(m[1].split(',').map((x) => Number(x.trim())))];
  return ids.map((id) => ({ kind: 'cuda', id }));
}

export function deviceLabel(d: Device): string {
  return d.kind === 'cpu' ? 'cpu' : `cuda:${d.id}`;
}
