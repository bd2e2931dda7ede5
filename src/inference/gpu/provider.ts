/**
 * ONNX Runtime's CUDA provider for onnxruntime-node, installed on request (`web-detector gpu
 * setup`), never by `npm install`.
 *
 * onnxruntime-node ships only its CPU build. The npm package below carries the CUDA provider
 * libraries of ONNX Runtime 1.29.0 built for CUDA 13 and cuDNN 9 (MIT, about 179 MB). Setup
 * downloads it with `npm pack` (the registry's integrity check, no install scripts), checks that
 * the provider was built from exactly the ONNX Runtime version onnxruntime-node has (the two
 * libraries talk through an unversioned internal interface), and copies the two libraries next to
 * onnxruntime-node's libonnxruntime.so.1, where ONNX Runtime looks for them. A small marker file
 * records what was installed, so start-up can check the versions without reading 230 MB.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const GPU_PACKAGE = 'com.github.asus4.onnxruntime.linux-x64-gpu';
export const GPU_PACKAGE_VERSION = '0.4.9';
/** The ONNX Runtime version that package's provider is built from. */
export const GPU_PACKAGE_ORT_VERSION = '1.29.0';
/** Where the libraries are inside the package tarball. */
export const PROVIDER_DIR_IN_PACKAGE = 'package/Plugins/Linux/x64';
export const PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
export const MARKER_FILE = 'web-detector-gpu.json';

export const SETUP_HINT = 'run `web-detector gpu setup` on this machine';

export interface ProviderMarker {
  package: string;
  packageVersion: string;
  ortVersion: string;
}

/** onnxruntime-node's version (its package.json). */
export function onnxruntimeNodeVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}

/** The folder of onnxruntime-node's libonnxruntime.so.1 (where the provider libraries go). */
export function ortNativeDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * ONNX Runtime version strings ("1.29.0") stored in a library: NUL-delimited strings of the form
 * 1.N.N. The CUDA provider holds exactly one, its build's version.
 */
export function embeddedOrtVersions(bytes: Uint8Array): string[] {
  const found = new Set<string>();
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  for (const m of text.matchAll(/\0(1\.\d{1,3}\.\d{1,3})\0/g)) found.add(m[1]);
  return [...found];
}

/** Reads a large library in chunks (overlapping, so no string is cut) for embeddedOrtVersions. */
export async function libraryOrtVersions(path: string): Promise<string[]> {
  const fh = await open(path, 'r');
  const found = new Set<string>();
  try {
    const chunk = Buffer.alloc(16 * 1024 * 1024);
    const overlap = 16;
    for (let pos = 0; ; pos += chunk.length - overlap) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      for (const v of embeddedOrtVersions(chunk.subarray(0, bytesRead))) found.add(v);
      if (bytesRead < chunk.length) break;
    }
  } finally {
    await fh.close();
  }
  return [...found];
}

/** The sentence for a provider built from another ONNX Runtime than onnxruntime-node's, or null. */
export function versionMismatch(providerVersions: string[], ortVersion: string): string | null {
  if (providerVersions.includes(ortVersion)) return null;
  const built = providerVersions.length ? providerVersions.join(' or ') : 'an unknown version';
  return `The CUDA provider was built for ONNX Runtime ${built} but onnxruntime-node is ${ortVersion}: install onnxruntime-node@${GPU_PACKAGE_ORT_VERSION} (package.json pins it) and ${SETUP_HINT} again.`;
}

/**
 * What is wrong with the installed provider, as one sentence, or null when it is present and
 * matches onnxruntime-node (from the marker setup writes; without one, from the library itself).
 */
export async function providerProblem(
  dir = ortNativeDir(),
  ortVersion = onnxruntimeNodeVersion(),
): Promise<string | null> {
  const missing = PROVIDER_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length)
    return `ONNX Runtime's CUDA provider is not installed (${missing.join(', ')} missing): ${SETUP_HINT}.`;
  const marker = join(dir, MARKER_FILE);
  if (existsSync(marker)) {
    try {
      const m = JSON.parse(await readFile(marker, 'utf8')) as ProviderMarker;
      return versionMismatch([m.ortVersion], ortVersion);
    } catch {
      // unreadable marker: read the library
    }
  }
  return versionMismatch(await libraryOrtVersions(join(dir, PROVIDER_FILES[0])), ortVersion);
}

export interface SetupOptions {
  /** where the package is downloaded and unpacked (kept, so a second setup needs no download) */
  workDir: string;
  /** the folder of libonnxruntime.so.1 (default: onnxruntime-node's) */
  targetDir?: string;
  ortVersion?: string;
  npm?: string;
  log?: (line: string) => void;
}

/** Runs a command; its failure becomes one sentence saying what to do. */
async function step<T>(what: string, fix: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const first = String((err as { stderr?: string }).stderr || (err as Error).message)
      .trim()
      .split('\n')
      .pop();
    throw new Error(`${what} failed (${first}): ${fix}.`);
  }
}

/** `web-detector gpu setup`: download, check, copy. Returns the installed files' paths. */
export async function setupCudaProvider(opts: SetupOptions): Promise<string[]> {
  const log = opts.log ?? (() => {});
  const targetDir = opts.targetDir ?? ortNativeDir();
  const ortVersion = opts.ortVersion ?? onnxruntimeNodeVersion();
  if (ortVersion !== GPU_PACKAGE_ORT_VERSION) {
    throw new Error(
      `onnxruntime-node is ${ortVersion} but ${GPU_PACKAGE}@${GPU_PACKAGE_VERSION} carries the CUDA provider of ONNX Runtime ${GPU_PACKAGE_ORT_VERSION}: install onnxruntime-node@${GPU_PACKAGE_ORT_VERSION} first.`,
    );
  }
  if (!existsSync(join(targetDir, 'libonnxruntime.so.1')))
    throw new Error(`${targetDir} has no libonnxruntime.so.1: reinstall onnxruntime-node (npm install).`);
  await mkdir(opts.workDir, { recursive: true });
  const unpacked = join(opts.workDir, `${GPU_PACKAGE}-${GPU_PACKAGE_VERSION}`);
  const libs = PROVIDER_FILES.map((f) => join(unpacked, PROVIDER_DIR_IN_PACKAGE, f));
  if (!libs.every((p) => existsSync(p))) {
    log(`downloading ${GPU_PACKAGE}@${GPU_PACKAGE_VERSION} (about 179 MB) with npm pack`);
    const { stdout } = await step(
      'Downloading the CUDA provider package',
      'check that this machine reaches the npm registry (or its mirror) and has 500 MB free',
      () =>
        run(
          opts.npm ?? 'npm',
          ['pack', `${GPU_PACKAGE}@${GPU_PACKAGE_VERSION}`, '--json', '--pack-destination', opts.workDir],
          {
            maxBuffer: 16 * 1024 * 1024,
          },
        ),
    );
    const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
    await rm(unpacked, { recursive: true, force: true });
    await mkdir(unpacked, { recursive: true });
    await step(
      'Unpacking the CUDA provider package',
      'make sure `tar` is installed and the disk has room',
      () =>
        run('tar', [
          '-xzf',
          join(opts.workDir, filename),
          '-C',
          unpacked,
          ...PROVIDER_FILES.map((f) => `${PROVIDER_DIR_IN_PACKAGE}/${f}`),
        ]),
    );
    await rm(join(opts.workDir, filename), { force: true });
  }
  const built = await libraryOrtVersions(libs[0]);
  const mismatch = versionMismatch(built, ortVersion);
  if (mismatch) throw new Error(mismatch);
  log(`provider built for ONNX Runtime ${built.join(', ')}, onnxruntime-node is ${ortVersion}`);
  const installed: string[] = [];
  for (const [i, f] of PROVIDER_FILES.entries()) {
    const to = join(targetDir, f);
    await step(`Copying ${f} to ${targetDir}`, 'run setup as a user who may write to node_modules', () =>
      copyFile(libs[i], to),
    );
    installed.push(to);
  }
  const marker: ProviderMarker = {
    package: GPU_PACKAGE,
    packageVersion: GPU_PACKAGE_VERSION,
    ortVersion: built[0],
  };
  await writeFile(join(targetDir, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
  return installed;
}
