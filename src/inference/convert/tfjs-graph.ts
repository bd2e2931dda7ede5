/**
 * Reads a TensorFlow.js graph model (model.json + weight shards): the node list, typed attribute
 * accessors, and the weights decoded to Float32/Int32 (dequantising float16 / uint8 / uint16).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size: string | number }[] };
  tensor?: unknown;
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: {
    dtype: 'float16' | 'uint8' | 'uint16' | string;
    scale?: number;
    min?: number;
    original_dtype?: string;
  };
}

export interface TfjsModelJson {
  format?: string;
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  signature?: unknown;
}

export interface ConstTensor {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface TfjsGraph {
  nodes: TfNode[];
  weights: Map<string, ConstTensor>;
}

/** IEEE 754 half → single precision (subnormals, infinities and NaN included). */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

/**
 * Decodes the concatenated weight bytes following the manifest order. Quantised weights are
 * restored to their original dtype: float16 by value, uint8/uint16 affinely (q * scale + min).
 */
export function decodeWeights(specs: WeightSpec[], bytes: Uint8Array): Map<string, ConstTensor> {
  const out = new Map<string, ConstTensor>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const storage = q ? q.dtype : spec.dtype;
    const size = BYTES[storage];
    if (size === undefined) throw new Error(`Weight ${spec.name} uses unsupported dtype ${storage}.`);
    if (offset + n * size > bytes.byteLength)
      throw new Error(`Weight ${spec.name} runs past the end of the weight data.`);
    const dtype = (q?.original_dtype ?? spec.dtype) as ConstTensor['dtype'];
    let data: Float32Array | Int32Array | Uint8Array;
    if (dtype === 'int32') data = new Int32Array(n);
    else if (dtype === 'bool') data = new Uint8Array(n);
    else data = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const at = offset + k * size;
      let v: number;
      switch (storage) {
        case 'float32':
          v = view.getFloat32(at, true);
          break;
        case 'int32':
          v = view.getInt32(at, true);
          break;
        case 'bool':
          v = view.getUint8(at);
          break;
        case 'float16':
          v = float16ToFloat32(view.getUint16(at, true));
          break;
        case 'uint8':
          v = view.getUint8(at);
          break;
        default:
          v = view.getUint16(at, true);
      }
      if (q && (storage === 'uint8' || storage === 'uint16')) v = v * (q.scale ?? 1) + (q.min ?? 0);
      data[k] = v;
    }
    offset += n * size;
    out.set(spec.name, { dtype, shape: spec.shape, data });
  }
  if (offset !== bytes.byteLength) {
    throw new Error(`The weight data has ${bytes.byteLength} bytes but the manifest describes ${offset}.`);
  }
  return out;
}

export function parseTfjsGraph(json: TfjsModelJson, weightBytes: Uint8Array): TfjsGraph {
  if (!json.modelTopology?.node)
    throw new Error('The model JSON has no modelTopology.node: it is not a TF.js graph model.');
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return { nodes: json.modelTopology.node, weights: decodeWeights(specs, weightBytes) };
}

/** Reads model.json and its weight shards (concatenated in manifest order). */
export async function readTfjsGraph(
  jsonPath: string,
): Promise<{ graph: TfjsGraph; json: TfjsModelJson; weightBytes: Uint8Array }> {
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as TfjsModelJson;
  const shards = await Promise.all(
    json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(jsonPath), p))),
  );
  const weightBytes = new Uint8Array(Buffer.concat(shards));
  return { graph: parseTfjsGraph(json, weightBytes), json, weightBytes };
}

// ---- attribute accessors (TF.js stores int64 as strings and strings as base64) ----

export function attrString(node: TfNode, key: string): string | undefined {
  const s = node.attr?.[key]?.s;
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}

export function attrInts(node: TfNode, key: string): number[] | undefined {
  const list = node.attr?.[key]?.list;
  if (!list) return undefined;
  return (list.i ?? []).map(Number);
}

export function attrStrings(node: TfNode, key: string): string[] {
  return (node.attr?.[key]?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}

export function attrBool(node: TfNode, key: string, fallback = false): boolean {
  return node.attr?.[key]?.b ?? fallback;
}

export function attrFloat(node: TfNode, key: string, fallback: number): number {
  return node.attr?.[key]?.f ?? fallback;
}

export function attrInt(node: TfNode, key: string, fallback: number): number {
  const i = node.attr?.[key]?.i;
  return i === undefined ? fallback : Number(i);
}
