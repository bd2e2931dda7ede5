/**
 * RGB24 frames (already at the model's size) → the model's input tensor: float, or the bytes as
 * they are for a model with a uint8 input.
 */
import type { ModelInput } from './types.js';

export interface InputTensor {
  data: Float32Array;
  dims: [number, number, number, number];
}

export interface Uint8InputTensor {
  data: Uint8Array;
  dims: [number, number, number, number];
}

function checkFrameSize(f: Uint8Array, b: number, input: ModelInput): void {
  const bytes = input.width * input.height * 3;
  if (f.length !== bytes) {
    throw new Error(
      `Frame ${b} has ${f.length} bytes; a ${input.width}x${input.height} RGB24 frame has ${bytes}.`,
    );
  }
}

/**
 * One batch for a model with a uint8 input: the frames' bytes one after another (one copy, no
 * arithmetic). Only an NHWC RGB model whose preprocessing is the identity (scale 255, mean 0,
 * std 1) reads RGB24 bytes as they are; anything else is refused.
 */
export function framesToUint8Tensor(frames: Uint8Array[], input: ModelInput): Uint8InputTensor {
  const identity =
    input.layout === 'NHWC' &&
    input.channels === 'RGB' &&
    input.scale === 255 &&
    input.mean.every((m) => m === 0) &&
    input.std.every((s) => s === 1);
  if (!identity)
    throw new Error('A model with a uint8 input must be NHWC RGB with scale 255, mean 0 and std 1.');
  const { width: W, height: H } = input;
  const data = new Uint8Array(frames.length * W * H * 3);
  frames.forEach((f, b) => {
    checkFrameSize(f, b, input);
    data.set(f, b * W * H * 3);
  });
  return { data, dims: [frames.length, H, W, 3] };
}

/**
 * Builds one batched tensor. Per channel c of the MODEL's channel order (after an RGB→BGR swap
 * when the model wants BGR): value = (pixel * scale / 255 - mean[c]) / std[c], so mean and std
 * are given in the model's own value range (e.g. 0.485 for scale 1, 123.675 for scale 255).
 */
export function framesToTensor(frames: Uint8Array[], input: ModelInput): InputTensor {
  const { width: W, height: H } = input;
  const plane = W * H;
  const B = frames.length;
  const data = new Float32Array(B * plane * 3);
  // src channel for each destination channel: BGR reads R,G,B from offsets 2,1,0.
  const src = input.channels === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const mul = src.map((_, c) => input.scale / 255 / input.std[c]);
  const add = src.map((_, c) => -input.mean[c] / input.std[c]);
  for (let b = 0; b < B; b++) {
    const f = frames[b];
    checkFrameSize(f, b, input);
    const base = b * plane * 3;
    for (let c = 0; c < 3; c++) {
      const s = src[c];
      const m = mul[c];
      const a = add[c];
      if (input.layout === 'NCHW') {
        const out = base + c * plane;
        for (let p = 0; p < plane; p++) data[out + p] = f[p * 3 + s] * m + a;
      } else {
        for (let p = 0; p < plane; p++) data[base + p * 3 + c] = f[p * 3 + s] * m + a;
      }
    }
  }
  const dims: [number, number, number, number] = input.layout === 'NCHW' ? [B, 3, H, W] : [B, H, W, 3];
  return { data, dims };
}
