/**
 * `web-detector gpu setup` and `web-detector gpu check`: the explicit opt-in for GPU machines
 * (npm install stays CPU-only). Every problem is printed as one sentence saying what is missing
 * and how to get it; check exits 1 if any GPU could not run the model.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDefaultModel } from '../inference/convert/default-model.js';
import {
  missingLibrarySentences,
  searchThisMachine,
  sessionErrorSentence,
} from '../inference/gpu/libraries.js';
import {
  GPU_PACKAGE,
  GPU_PACKAGE_VERSION,
  onnxruntimeNodeVersion,
  ortNativeDir,
  providerProblem,
  setupCudaProvider,
} from '../inference/gpu/provider.js';
import { parseFlags, UsageError } from './args.js';

export const GPU_HELP = `Usage: web-detector gpu setup [--dir folder]
       web-detector gpu check [--device N] [--model path.onnx]

  setup   downloads ${GPU_PACKAGE}@${GPU_PACKAGE_VERSION} (ONNX Runtime's CUDA 13 provider,
          about 179 MB) into --dir (default ~/.cache/web-detector/gpu), checks that it matches
          onnxruntime-node's version exactly, and copies its two libraries next to
          onnxruntime-node's libonnxruntime.so.1
  check   looks for the CUDA 13 / cuDNN 9 libraries (LD_LIBRARY_PATH, system folders, NVIDIA's
          pip wheels), then runs the default model once on each GPU (or on --device N)
`;

const write = (line: string) => process.stdout.write(`${line}\n`);

export interface GpuInfo {
  index: number;
  name: string;
}

/** GPUs as nvidia-smi lists them; else the driver's /proc entries; else none. */
export async function listGpus(): Promise<GpuInfo[]> {
  try {
    const { stdout } = await promisify(execFile)(
      'nvidia-smi',
      ['--query-gpu=index,name,memory.total', '--format=csv,noheader'],
      { timeout: 10_000 },
    );
    return stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [index, name, memory] = l.split(',').map((x) => x.trim());
        return { index: Number(index), name: `${name} (${memory})` };
      });
  } catch {
    const dir = '/proc/driver/nvidia/gpus';
    return existsSync(dir) ? readdirSync(dir).map((bus, index) => ({ index, name: `GPU at ${bus}` })) : [];
  }
}

/**
 * One inference on cuda:`device` in a child process (the loader reads LD_LIBRARY_PATH only at
 * start, and a failed CUDA load must not poison this process). Resolves to the time of the run
 * or the failure as a sentence.
 */
export function probeDevice(
  device: number,
  modelPath: string,
  ldLibraryPath: string,
): Promise<{ ok: true; ms: number } | { ok: false; sentence: string }> {
  const ort = createRequire(import.meta.url).resolve('onnxruntime-node');
  const code = `
const ort = require(${JSON.stringify(ort)});
(async () => {
  try {
    const s = await ort.InferenceSession.create(${JSON.stringify(modelPath)}, { executionProviders: [{ name: 'cuda', deviceId: ${device} }] });
    const dims = s.inputMetadata[0].shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const x = new ort.Tensor(s.inputMetadata[0].type === 'uint8' ? 'uint8' : 'float32', s.inputMetadata[0].type === 'uint8' ? new Uint8Array(n) : new Float32Array(n), dims);
    await s.run({ [s.inputNames[0]]: x });
    const t = process.hrtime.bigint();
    await s.run({ [s.inputNames[0]]: x });
    process.stdout.write(JSON.stringify({ ok: true, ms: Number(process.hrtime.bigint() - t) / 1e6 }));
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, message: String((e && e.message) || e) }));
  }
})();`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', code], {
      env: { ...process.env, LD_LIBRARY_PATH: ldLibraryPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b).slice(-4000);
    });
    child.on('close', (code) => {
      try {
        const r = JSON.parse(out) as { ok: boolean; ms?: number; message?: string };
        // ONNX Runtime names the library it could not load only in its log (stderr)
        resolve(
          r.ok
            ? { ok: true, ms: r.ms ?? 0 }
            : { ok: false, sentence: sessionErrorSentence(`${r.message}\n${err}`) },
        );
      } catch {
        resolve({ ok: false, sentence: sessionErrorSentence(err || `the probe exited with code ${code}`) });
      }
    });
  });
}

async function check(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, { device: 'string', model: 'string' });
  let problems = 0;
  write(`onnxruntime-node ${onnxruntimeNodeVersion()} in ${ortNativeDir()}`);
  const provider = await providerProblem();
  if (provider) {
    problems++;
    write(`  ✗ ${provider}`);
  } else write('  ✓ CUDA provider installed, built for the same ONNX Runtime version');

  const search = await searchThisMachine();
  write('CUDA 13 / cuDNN 9 libraries:');
  for (const [file, path] of search.found) write(`  ✓ ${file}: ${path}`);
  for (const s of missingLibrarySentences(search.missing)) {
    problems++;
    write(`  ✗ ${s}`);
  }
  const ldPath = [...search.needLdLibraryPath, ...(process.env.LD_LIBRARY_PATH ?? '').split(':')]
    .filter(Boolean)
    .join(':');
  if (search.needLdLibraryPath.length) write(`  Start the service with: export LD_LIBRARY_PATH=${ldPath}`);

  const gpus: GpuInfo[] =
    typeof flags.device === 'string'
      ? [{ index: Number(flags.device), name: `cuda:${flags.device} (as asked)` }]
      : await listGpus();
  if (gpus.length === 0) {
    write(
      '  ✗ No NVIDIA GPU was found (nvidia-smi lists none): run this on a machine with an NVIDIA GPU and its driver, or name one with --device N.',
    );
    return 1;
  }
  const model = typeof flags.model === 'string' ? flags.model : await ensureDefaultModel(defaultCacheDir());
  let failed = 0;
  for (const gpu of gpus) {
    const r = await probeDevice(gpu.index, model, ldPath);
    if (r.ok) write(`  ✓ cuda:${gpu.index} ${gpu.name}: one 512x512 inference in ${r.ms.toFixed(1)} ms`);
    else {
      failed++;
      write(`  ✗ cuda:${gpu.index} ${gpu.name}: ${r.sentence}`);
    }
  }
  return failed > 0 || problems > 0 ? 1 : 0;
}

function defaultCacheDir(): string {
  // the same cache the service uses (models/cache beside dist/ or src/)
  return new URL('../../models/cache', import.meta.url).pathname;
}

async function setup(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, { dir: 'string' });
  const workDir =
    typeof flags.dir === 'string' ? flags.dir : join(homedir(), '.cache', 'web-detector', 'gpu');
  const files = await setupCudaProvider({ workDir, log: (l) => write(l) });
  for (const f of files) write(`installed ${f}`);
  write('Next: web-detector gpu check');
  return 0;
}

/** `web-detector gpu <setup|check>`; returns the exit code. Failures print one sentence. */
export async function gpuCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === 'help') {
    process.stdout.write(GPU_HELP);
    return 0;
  }
  if (sub !== 'setup' && sub !== 'check')
    throw new UsageError(`Unknown gpu command ${JSON.stringify(sub)}: use setup or check.`);
  try {
    return sub === 'setup' ? await setup(rest) : await check(rest);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}
