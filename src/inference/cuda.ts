/**
 * The CUDA execution provider, kept apart because the development machine has no GPU: nothing in
 * this file is exercised by the test suite except the "not installed" path and the hint text.
 *
 * onnxruntime-node ships only its CPU binding; `web-detector gpu setup` (gpu/provider.ts) puts
 * the CUDA provider libraries next to it on GPU hosts.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';

export const CUDA_INSTALL_HINT =
  "ONNX Runtime's CUDA provider is not installed: on a host with CUDA 13 and cuDNN 9, run `web-detector gpu setup`, then `web-detector gpu check`.";

/** Where install.js puts libonnxruntime_providers_cuda.so for this platform. */
export function cudaProviderPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(
    pkg,
    'bin',
    'napi-v6',
    `${process.platform}`,
    `${process.arch}`,
    'libonnxruntime_providers_cuda.so',
  );
}

export function cudaProviderInstalled(): boolean {
  return existsSync(cudaProviderPath());
}

/** Session options for GPU `id`; throws the install hint when the provider is missing. */
export function cudaSessionOptions(id: number): InferenceSession.SessionOptions {
  if (!cudaProviderInstalled()) throw new Error(CUDA_INSTALL_HINT);
  // No CPU fallback on purpose: a GPU worker that silently runs on CPU is a misconfiguration.
  return { executionProviders: [{ name: 'cuda', deviceId: id }] };
}

/** Re-throws a CUDA session failure with the install hint (the native message goes to `cause`). */
export function cudaSessionError(id: number, cause: unknown): Error {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `Could not open an ONNX Runtime session on cuda:${id} (${detail.split('\n')[0]}); ${CUDA_INSTALL_HINT}`,
    { cause },
  );
}
