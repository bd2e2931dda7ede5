/**
 * The fp16 variant of a converted model, for GPUs: float16 weights and activations inside, the
 * same float32 outputs as the fp32 model (a Cast before each output), so decoders do not change.
 * The input is float32 too (a Cast after it), or with `uint8Input` the RGB24 bytes as they are
 * (for models whose preprocessing is the identity, like the default model): a quarter of the
 * bytes to copy to the GPU per frame, and uint8 → float16 is exact for 0..255.
 *
 * Initializers become float16 except where ONNX requires float32 whatever the data type (Resize's
 * roi and scales). Pure: GraphMsg in, GraphMsg out.
 */
import { DataType, type GraphMsg, type NodeMsg, type TensorMsg } from '../onnx/proto.js';

/** float32 → IEEE 754 half bits, rounding to nearest even; beyond ±65504 becomes ±Infinity. */
export function float32ToFloat16(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // subnormal half (or zero): shift the mantissa with its implicit 1 into place, round to even
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // rounding may carry into the exponent (and up to Infinity), which the bit layout handles
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

function toHalf(t: TensorMsg): TensorMsg {
  const src = new Float32Array(new Uint8Array(t.raw_data).buffer);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32ToFloat16(src[i]);
  return { ...t, data_type: DataType.FLOAT16, raw_data: new Uint8Array(out.buffer) };
}

/** Inputs that stay float32 in every ONNX type variant of the op. */
const FLOAT32_ONLY: Record<string, number[]> = { Resize: [1, 2] };

function cast(input: string, output: string, to: number): NodeMsg {
  return {
    input: [input],
    output: [output],
    name: `${output}/Cast`,
    op_type: 'Cast',
    attribute: [{ name: 'to', type: 2, i: to }],
  };
}

export function toFloat16Graph(g: GraphMsg, opts: { uint8Input?: boolean } = {}): GraphMsg {
  const keep32 = new Set<string>();
  for (const n of g.nodes)
    for (const i of FLOAT32_ONLY[n.op_type] ?? []) if (n.input[i]) keep32.add(n.input[i]);
  const rename = new Map<string, string>();
  const head: NodeMsg[] = [];
  for (const i of g.inputs) {
    if (i.elemType !== DataType.FLOAT) continue;
    rename.set(i.name, `${i.name}/fp16`);
    head.push(cast(i.name, `${i.name}/fp16`, DataType.FLOAT16));
  }
  const outputs = new Set(g.outputs.filter((o) => o.elemType === DataType.FLOAT).map((o) => o.name));
  const tail: NodeMsg[] = [];
  const nodes = g.nodes.map((n) => ({
    ...n,
    input: n.input.map((x) => rename.get(x) ?? x),
    output: n.output.map((o) => {
      if (!outputs.has(o)) return o;
      tail.push(cast(`${o}/fp16`, o, DataType.FLOAT));
      return `${o}/fp16`;
    }),
  }));
  return {
    ...g,
    inputs: g.inputs.map((i) =>
      opts.uint8Input && rename.has(i.name) ? { ...i, elemType: DataType.UINT8 } : i,
    ),
    nodes: [...head, ...nodes, ...tail],
    initializers: g.initializers.map((t) =>
      t.data_type === DataType.FLOAT && !keep32.has(t.name) ? toHalf(t) : t,
    ),
  };
}

export const FP16_MODEL_NAME = 'centernet-fp16';
export const FP16_MODEL_FILE = 'centernet-fp16.onnx';
/** Bump when toFloat16Graph's output changes for the same fp32 model. */
export const FP16_VERSION = '2';
