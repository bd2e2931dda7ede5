/**
 * A small, strict command-line flag parser (pure): `--name value`, `--name=value` and boolean
 * `--flag`. Unknown flags are errors, so a typo is not silently ignored.
 */
export interface FlagSpec {
  [name: string]: 'string' | 'boolean';
}

export class UsageError extends Error {}

export function parseFlags(
  argv: string[],
  spec: FlagSpec,
): { flags: Record<string, string | boolean>; positional: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`Unknown option --${name}.`);
    if (kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value.`);
      flags[name] = true;
    } else {
      const value = eq !== -1 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value.`);
      flags[name] = value;
    }
  }
  return { flags, positional };
}

export function positiveInt(name: string, v: string | boolean | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  // decimal digits only: Number() would also take "0x10", "1e1" or a boolean flag's `true`
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer.`);
  return n;
}
