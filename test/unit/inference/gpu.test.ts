/**
 * The GPU opt-in without a GPU: version strings, the provider check, the library search over a
 * fake tree of folders, and the sentences. (A real CUDA session needs a GPU machine: see
 * BENCHMARKS.md for what ran where.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  findLibraries,
  missingLibrarySentences,
  nvidiaWheelDirs,
  pythonSitePackages,
  REQUIRED_LIBRARIES,
  sessionErrorSentence,
} from '../../../src/inference/gpu/libraries.js';
import {
  embeddedOrtVersions,
  GPU_PACKAGE_ORT_VERSION,
  libraryOrtVersions,
  MARKER_FILE,
  onnxruntimeNodeVersion,
  PROVIDER_FILES,
  providerProblem,
  setupCudaProvider,
  versionMismatch,
} from '../../../src/inference/gpu/provider.js';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'wd-gpu-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const touch = (path: string, content: string | Uint8Array = '') => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
};

describe('versions', () => {
  test('onnxruntime-node is pinned to the version of the CUDA provider package', () => {
    assert.equal(onnxruntimeNodeVersion(), GPU_PACKAGE_ORT_VERSION);
  });

  test('embeddedOrtVersions finds NUL-delimited 1.N.N strings only', () => {
    const bytes = Buffer.from(
      '\0cudaGraphDestroy(graph)\0Replay\x001.29.0\0Failed\0v1.2.3x\0 1.5.0\0\x001.30.1\0',
    );
    assert.deepEqual(embeddedOrtVersions(bytes).sort(), ['1.29.0', '1.30.1']);
    assert.deepEqual(embeddedOrtVersions(Buffer.from('no versions here 1.29.0')), []);
  });

  test('libraryOrtVersions reads a file in chunks and finds a string across chunk edges', async () => {
    const big = Buffer.alloc(16 * 1024 * 1024 + 100, 0x41);
    Buffer.from('\x001.29.0\0').copy(big, 16 * 1024 * 1024 - 4); // straddles the first chunk's end
    const file = join(root, 'big.so');
    writeFileSync(file, big);
    assert.deepEqual(await libraryOrtVersions(file), ['1.29.0']);
  });

  test('versionMismatch: one sentence naming both versions and the fix', () => {
    assert.equal(versionMismatch(['1.29.0'], '1.29.0'), null);
    const s = versionMismatch(['1.29.0'], '1.30.0') ?? '';
    assert.match(
      s,
      /^The CUDA provider was built for ONNX Runtime 1\.29\.0 but onnxruntime-node is 1\.30\.0: install onnxruntime-node@1\.29\.0 .*gpu setup.*\.$/,
    );
    assert.match(versionMismatch([], '1.29.0') ?? '', /an unknown version/);
  });
});

describe('providerProblem on a fake onnxruntime-node folder', () => {
  test('missing files, a matching marker, a mismatching library', async () => {
    const dir = join(root, 'ort');
    mkdirSync(dir, { recursive: true });
    assert.match(
      (await providerProblem(dir, '1.29.0')) ?? '',
      /^ONNX Runtime's CUDA provider is not installed \(libonnxruntime_providers_cuda\.so, libonnxruntime_providers_shared\.so missing\): run `web-detector gpu setup`/,
    );
    touch(join(dir, PROVIDER_FILES[0]), Buffer.from('ELF\0junk\x001.28.0\0more'));
    touch(join(dir, PROVIDER_FILES[1]), 'ELF');
    assert.match(
      (await providerProblem(dir, '1.29.0')) ?? '',
      /built for ONNX Runtime 1\.28\.0 but onnxruntime-node is 1\.29\.0/,
    );
    writeFileSync(join(dir, MARKER_FILE), JSON.stringify({ ortVersion: '1.29.0' }));
    assert.equal(await providerProblem(dir, '1.29.0'), null, 'the marker written by setup is trusted');
  });

  test('setup refuses a mismatched onnxruntime-node and a folder without libonnxruntime.so.1, before downloading', async () => {
    await assert.rejects(
      setupCudaProvider({
        workDir: join(root, 'work'),
        targetDir: root,
        ortVersion: '1.30.0',
        npm: '/nonexistent/npm',
      }),
      /onnxruntime-node is 1\.30\.0 but .* carries the CUDA provider of ONNX Runtime 1\.29\.0: install onnxruntime-node@1\.29\.0 first\./,
    );
    await assert.rejects(
      setupCudaProvider({
        workDir: join(root, 'work'),
        targetDir: root,
        ortVersion: '1.29.0',
        npm: '/nonexistent/npm',
      }),
      /has no libonnxruntime\.so\.1: reinstall onnxruntime-node/,
    );
  });

  test('a failed download is one sentence saying what to check', async () => {
    const dir = join(root, 'ort2');
    touch(join(dir, 'libonnxruntime.so.1'), 'ELF');
    await assert.rejects(
      setupCudaProvider({
        workDir: join(root, 'work2'),
        targetDir: dir,
        ortVersion: '1.29.0',
        npm: '/nonexistent/npm',
      }),
      /^Error: Downloading the CUDA provider package failed \(.*\): check that this machine reaches the npm registry/,
    );
  });
});

describe('library search over a fake tree', () => {
  test('LD_LIBRARY_PATH first, then system folders, then pip wheels; what needs LD_LIBRARY_PATH', () => {
    const ld = join(root, 'tree/opt/cuda/lib64');
    const sys = join(root, 'tree/usr/lib/x86_64-linux-gnu');
    const site = join(root, 'tree/venv/lib/python3.12/site-packages');
    touch(join(ld, 'libcudart.so.13'));
    touch(join(sys, 'libcuda.so.1'));
    touch(join(sys, 'libcudart.so.13')); // shadowed by LD_LIBRARY_PATH
    for (const [part, lib] of [
      ['cublas', 'libcublas.so.13'],
      ['cublas', 'libcublasLt.so.13'],
      ['curand', 'libcurand.so.10'],
      ['cudnn', 'libcudnn.so.9'],
    ])
      touch(join(site, 'nvidia', part, 'lib', lib));
    touch(join(site, 'nvidia', 'not-a-lib-folder.txt'));
    const wheels = nvidiaWheelDirs([site, join(root, 'does-not-exist')]);
    assert.deepEqual(
      wheels,
      ['cublas', 'cudnn', 'curand'].map((p) => join(site, 'nvidia', p, 'lib')),
    );
    const r = findLibraries([ld, sys, ...wheels], [ld, sys]);
    assert.deepEqual(r.missing, []);
    assert.equal(r.found.get('libcudart.so.13'), join(ld, 'libcudart.so.13'));
    assert.equal(r.found.get('libcudnn.so.9'), join(site, 'nvidia/cudnn/lib/libcudnn.so.9'));
    assert.deepEqual(r.needLdLibraryPath.sort(), wheels.sort());
  });

  test('missing libraries are one sentence each: what it is and how to get it', () => {
    const r = findLibraries([join(root, 'empty')], []);
    assert.equal(r.missing.length, REQUIRED_LIBRARIES.length);
    const sentences = missingLibrarySentences(r.missing);
    assert.equal(
      sentences.find((s) => s.startsWith('libcudnn.so.9')),
      'libcudnn.so.9 (cuDNN 9) was not found: install cuDNN 9 for CUDA 13 (libcudnn9-cuda-13) or pip install nvidia-cudnn-cu13, or add its folder to LD_LIBRARY_PATH.',
    );
    for (const s of sentences) assert.match(s, /^lib\S+ \(.+\) was not found: .+\.$/);
  });

  test('pythonSitePackages finds a virtualenv site-packages', async () => {
    const venv = join(root, 'venv2');
    mkdirSync(join(venv, 'lib/python3.11/site-packages'), { recursive: true });
    const found = await pythonSitePackages({ VIRTUAL_ENV: venv });
    assert.ok(found.includes(join(venv, 'lib/python3.11/site-packages')), found.join(', '));
  });

  test('sessionErrorSentence: a loader error becomes the missing library sentence', () => {
    const msg =
      'Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory';
    assert.equal(
      sessionErrorSentence(msg),
      'libcublasLt.so.13 (cuBLASLt for CUDA 13) could not be loaded: install libcublas-13-0 or pip install nvidia-cublas, or add its folder to LD_LIBRARY_PATH.',
    );
    assert.equal(
      sessionErrorSentence('CUDA failure 100: no CUDA-capable device is detected\nmore'),
      'CUDA failure 100: no CUDA-capable device is detected.',
    );
  });
});
