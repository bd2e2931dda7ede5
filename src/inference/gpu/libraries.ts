/**
 * Finding the CUDA 13 and cuDNN 9 libraries ONNX Runtime's CUDA provider loads: in the folders
 * of LD_LIBRARY_PATH, the usual system folders, and NVIDIA's pip wheels (nvidia/<part>/lib in any
 * Python site-packages, e.g. `pip install nvidia-cudnn-cu13 nvidia-cublas ...`). The dynamic
 * loader only reads LD_LIBRARY_PATH when a process starts, so libraries found outside the
 * loader's own search path are reported with the LD_LIBRARY_PATH line to start the service with.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface RequiredLibrary {
  file: string;
  /** what it is, for sentences */
  what: string;
  /** how to get it, for sentences */
  get: string;
}

export const REQUIRED_LIBRARIES: RequiredLibrary[] = [
  {
    file: 'libcuda.so.1',
    what: 'the NVIDIA driver',
    get: 'install the NVIDIA driver for this GPU (R580 or newer for CUDA 13)',
  },
  {
    file: 'libcudart.so.13',
    what: 'the CUDA 13 runtime',
    get: 'install CUDA 13 (cuda-cudart-13-0) or pip install nvidia-cuda-runtime',
  },
  {
    file: 'libcublas.so.13',
    what: 'cuBLAS for CUDA 13',
    get: 'install libcublas-13-0 or pip install nvidia-cublas',
  },
  {
    file: 'libcublasLt.so.13',
    what: 'cuBLASLt for CUDA 13',
    get: 'install libcublas-13-0 or pip install nvidia-cublas',
  },
  {
    file: 'libcurand.so.10',
    what: 'cuRAND for CUDA 13',
    get: 'install libcurand-13-0 or pip install nvidia-curand',
  },
  {
    file: 'libcudnn.so.9',
    what: 'cuDNN 9',
    get: 'install cuDNN 9 for CUDA 13 (libcudnn9-cuda-13) or pip install nvidia-cudnn-cu13',
  },
];

/** Folders the dynamic loader searches without LD_LIBRARY_PATH (besides ld.so.cache). */
export const SYSTEM_LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
  '/usr/lib/wsl/lib',
];

/** CUDA toolkit folders, searched but needing LD_LIBRARY_PATH unless ldconfig knows them. */
export const CUDA_TOOLKIT_DIRS = [
  '/usr/local/cuda/lib64',
  '/usr/local/cuda-13/lib64',
  '/usr/local/cuda-13.0/lib64',
];

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** nvidia/<part>/lib folders of NVIDIA's pip wheels under the given site-packages folders. */
export function nvidiaWheelDirs(sitePackages: string[]): string[] {
  const out: string[] = [];
  for (const sp of sitePackages) {
    const root = join(sp, 'nvidia');
    if (!isDir(root)) continue;
    for (const part of readdirSync(root).sort()) {
      const lib = join(root, part, 'lib');
      if (isDir(lib)) out.push(lib);
    }
  }
  return out;
}

/**
 * site-packages folders to look in: those of `python3` (asked, if it exists), of an active
 * virtualenv or conda environment, and the usual global and per-user ones.
 */
export async function pythonSitePackages(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const found = new Set<string>();
  try {
    const { stdout } = await promisify(execFile)(
      'python3',
      ['-c', 'import site,sys; print("\\n".join(site.getsitepackages() + [site.getusersitepackages()]))'],
      { timeout: 5000 },
    );
    for (const l of stdout.split('\n')) if (l.trim()) found.add(l.trim());
  } catch {
    // no python3: the folders below
  }
  const roots = [
    env.VIRTUAL_ENV,
    env.CONDA_PREFIX,
    '/usr',
    '/usr/local',
    '/opt/conda',
    join(homedir(), '.local'),
  ];
  for (const root of roots) {
    if (!root) continue;
    const lib = join(root, 'lib');
    if (!isDir(lib)) continue;
    for (const d of readdirSync(lib)
      .filter((n) => /^python3\.\d+$/.test(n))
      .sort())
      for (const sp of ['site-packages', 'dist-packages'])
        if (isDir(join(lib, d, sp))) found.add(join(lib, d, sp));
  }
  return [...found].filter(isDir);
}

export interface LibrarySearch {
  /** library file → the path found (first folder wins, in search order) */
  found: Map<string, string>;
  missing: RequiredLibrary[];
  /** folders of found libraries that the loader will not search unless LD_LIBRARY_PATH names them */
  needLdLibraryPath: string[];
}

/**
 * Looks for each required library in `dirs` (in order). `loaderDirs` are the folders the loader
 * searches anyway (system folders, LD_LIBRARY_PATH as the process started, ldconfig's cache).
 */
export function findLibraries(
  dirs: string[],
  loaderDirs: string[],
  required: RequiredLibrary[] = REQUIRED_LIBRARIES,
): LibrarySearch {
  const found = new Map<string, string>();
  for (const lib of required)
    for (const d of dirs) {
      const p = join(d, lib.file);
      if (existsSync(p)) {
        found.set(lib.file, p);
        break;
      }
    }
  const known = new Set(loaderDirs);
  const extra = [...new Set([...found.values()].map((p) => p.slice(0, p.lastIndexOf('/'))))].filter(
    (d) => !known.has(d),
  );
  return { found, missing: required.filter((l) => !found.has(l.file)), needLdLibraryPath: extra };
}

/** One sentence per missing library: what it is and how to get it. */
export function missingLibrarySentences(missing: RequiredLibrary[]): string[] {
  return missing.map(
    (l) => `${l.file} (${l.what}) was not found: ${l.get}, or add its folder to LD_LIBRARY_PATH.`,
  );
}

/** Folders ldconfig's cache names for the required libraries (empty when ldconfig is absent). */
export async function ldconfigDirs(): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)('ldconfig', ['-p'], { timeout: 5000 });
    const dirs = new Set<string>();
    for (const line of stdout.split('\n')) {
      const m = /=>\s*(\S+)\/[^/]+$/.exec(line);
      if (m && REQUIRED_LIBRARIES.some((l) => line.includes(l.file))) dirs.add(m[1]);
    }
    return [...dirs];
  } catch {
    return [];
  }
}

/** The whole search on this machine, in the order the loader would prefer. */
export async function searchThisMachine(env: NodeJS.ProcessEnv = process.env): Promise<LibrarySearch> {
  const ld = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const cached = await ldconfigDirs();
  const wheels = nvidiaWheelDirs(await pythonSitePackages(env));
  const dirs = [...ld, ...cached, ...SYSTEM_LIBRARY_DIRS, ...CUDA_TOOLKIT_DIRS, ...wheels];
  return findLibraries([...new Set(dirs)], [...ld, ...cached, ...SYSTEM_LIBRARY_DIRS]);
}

/**
 * An ONNX Runtime session error (with its log lines) about a library that could not be loaded,
 * as one sentence; the first line of the message itself when it names none of ours.
 */
export function sessionErrorSentence(message: string): string {
  const lib = REQUIRED_LIBRARIES.find((l) => message.includes(l.file));
  if (lib)
    return `${lib.file} (${lib.what}) could not be loaded: ${lib.get}, or add its folder to LD_LIBRARY_PATH.`;
  const first = message.trim().split('\n')[0];
  return first.endsWith('.') ? first : `${first}.`;
}

/**
 * Why the CUDA provider would not load here, as one sentence, or null when every library is
 * where the loader will find it. For the start-up check with DETECTOR_DEVICE=cuda.
 */
export async function librariesProblem(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const search = await searchThisMachine(env);
  if (search.missing.length) return missingLibrarySentences(search.missing)[0];
  if (search.needLdLibraryPath.length) {
    const path = [...search.needLdLibraryPath, ...(env.LD_LIBRARY_PATH ?? '').split(':')]
      .filter(Boolean)
      .join(':');
    return `the CUDA libraries in ${search.needLdLibraryPath.join(', ')} are not on the loader's path: start the service with LD_LIBRARY_PATH=${path}.`;
  }
  return null;
}
