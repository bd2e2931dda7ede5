/**
 * Static int8 quantization of a float ONNX graph in QDQ form, as ONNX Runtime's CPU provider
 * wants it to turn node groups into integer kernels (QLinearConv, QLinearAdd, QLinearMul, ...):
 *
 *   activations: uint8, asymmetric, one scale and zero point per tensor, from calibrated ranges;
 *                each quantized tensor t becomes t → QuantizeLinear → DequantizeLinear → readers;
 *   Conv weights: int8, symmetric (zero point 0), one scale per output channel (DequantizeLinear
 *                with axis 0 over an int8 initializer);
 *   Conv bias:   int32, scale = input scale x weight scale of the channel, zero point 0.
 *
 * A Relu or Clip that is the only reader of its input's producer is "folded": the tensor before it
 * is left float and the tensor after it is quantized, so ORT sees producer → activation → Q,
 * removes the activation (the Q's range already clamps) and fuses producer + Q. Ops that move
 * values without computing new ones (Transpose, MaxPool, Resize) get output parameters equal to
 * their input's, which ORT requires to run them on uint8 directly.
 *
 * Pure: a GraphMsg and ranges in, a new GraphMsg out (the input graph is not changed).
 */
import { AttrType, DataType, type GraphMsg, type NodeMsg, type TensorMsg } from '../onnx/proto.js';

export interface TensorRange {
  min: number;
  max: number;
}

export interface Uint8Params {
  scale: number;
  zeroPoint: number;
}

/** Ops whose float inputs and outputs are quantized. */
const QUANTIZED_OPS = new Set([
  'Conv',
  'Add',
  'Mul',
  'GlobalAveragePool',
  'AveragePool',
  'Concat',
  'Sigmoid',
  'Relu',
  'Clip',
  'Transpose',
  'MaxPool',
  'Resize',
]);
/** Ops ORT runs on uint8 unchanged when the Q after them repeats the DQ before them. */
const SAME_PARAMS_OPS = new Set(['Transpose', 'MaxPool', 'Resize']);
/** Activations ORT removes when a Q whose range they contain follows them. */
const FOLDABLE_ACTIVATIONS = new Set(['Relu', 'Clip']);

/**
 * uint8 parameters covering `r` (widened to include 0, so zero is exact: padding and ReLU
 * outputs stay exact). A range of width 0 gets scale 1.
 */
export function uint8Params(r: TensorRange): Uint8Params {
  const lo = Math.min(r.min, 0);
  const hi = Math.max(r.max, 0);
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Symmetric per-channel int8 for a Conv: channel o (the first axis; `weights.length / channels`
 * values each) gets scale max|w| / 127 (1 for an all-zero channel). With a bias, the bias becomes
 * int32 at scale inputScale * weight scale; where a bias value would not fit in int32 that
 * channel's weight scale grows until it does. Values are round(w / scale) clamped to [-127, 127].
 */
export function quantizeConvParams(
  weights: Float32Array,
  channels: number,
  bias?: { values: Float32Array; inputScale: number },
): { weights: Int8Array; weightScales: Float32Array; bias?: Int32Array; biasScales?: Float32Array } {
  if (channels < 1 || weights.length % channels !== 0)
    throw new Error(`${weights.length} weights do not split into ${channels} channels.`);
  const per = weights.length / channels;
  const weightScales = new Float32Array(channels);
  for (let o = 0; o < channels; o++) {
    let amax = 0;
    for (let i = o * per; i < (o + 1) * per; i++) amax = Math.max(amax, Math.abs(weights[i]));
    weightScales[o] = amax > 0 ? amax / 127 : 1;
  }
  let biasQ: Int32Array | undefined;
  let biasScales: Float32Array | undefined;
  if (bias) {
    if (bias.values.length !== channels)
      throw new Error(`A bias of ${bias.values.length} values for ${channels} channels.`);
    biasQ = new Int32Array(channels);
    biasScales = new Float32Array(channels);
    for (let o = 0; o < channels; o++) {
      const s = Math.max(bias.inputScale * weightScales[o], Math.abs(bias.values[o]) / INT32_MAX);
      weightScales[o] = s / bias.inputScale;
      biasScales[o] = s;
      biasQ[o] = Math.round(bias.values[o] / s);
    }
  }
  const q = new Int8Array(weights.length);
  for (let o = 0; o < channels; o++)
    for (let i = o * per; i < (o + 1) * per; i++)
      q[i] = Math.max(-127, Math.min(127, Math.round(weights[i] / weightScales[o])));
  return { weights: q, weightScales, bias: biasQ, biasScales };
}

const INT32_MAX = 2 ** 31 - 1;

interface GraphIndex {
  initializers: Map<string, TensorMsg>;
  producer: Map<string, NodeMsg>;
  readers: Map<string, NodeMsg[]>;
  outputs: Set<string>;
}

function indexGraph(g: GraphMsg): GraphIndex {
  const producer = new Map<string, NodeMsg>();
  const readers = new Map<string, NodeMsg[]>();
  for (const n of g.nodes) {
    for (const o of n.output) producer.set(o, n);
    for (const i of new Set(n.input)) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  }
  return {
    initializers: new Map(g.initializers.map((t) => [t.name, t])),
    producer,
    readers,
    outputs: new Set(g.outputs.map((o) => o.name)),
  };
}

export interface QuantizeOptions {
  /** float tensors to leave unquantized even where the rules above would quantize them */
  keepFloat?: string[];
}

/**
 * The activation tensors the pass quantizes, in graph order: what calibration must measure.
 * A tensor qualifies when it is float, not an initializer, not a graph output, read by at least
 * one quantized op, produced by one (or a graph input), and not the input of a folded activation.
 */
export function activationsToQuantize(g: GraphMsg, opts: QuantizeOptions = {}): string[] {
  const ix = indexGraph(g);
  const keep = new Set(opts.keepFloat ?? []);
  const floatInputs = g.inputs.filter((i) => i.elemType === DataType.FLOAT).map((i) => i.name);
  const candidates = [
    ...floatInputs,
    ...g.nodes.flatMap((n) => (QUANTIZED_OPS.has(n.op_type) ? n.output : [])),
  ];
  return candidates.filter((t) => {
    if (keep.has(t) || ix.outputs.has(t) || ix.initializers.has(t)) return false;
    const readers = ix.readers.get(t) ?? [];
    if (!readers.some((r) => isActivationInput(r, t))) return false;
    return !isFolded(t, ix);
  });
}

/** `t` is a data input (not a constant parameter such as Clip's bounds or Resize's scales). */
function isActivationInput(n: NodeMsg, t: string): boolean {
  if (!QUANTIZED_OPS.has(n.op_type)) return false;
  if (n.op_type === 'Clip' || n.op_type === 'Resize' || n.op_type === 'Conv') return n.input[0] === t;
  return n.input.includes(t);
}

function isFolded(t: string, ix: GraphIndex): boolean {
  const readers = ix.readers.get(t) ?? [];
  const p = ix.producer.get(t);
  return (
    !!p &&
    QUANTIZED_OPS.has(p.op_type) &&
    readers.length === 1 &&
    FOLDABLE_ACTIVATIONS.has(readers[0].op_type) &&
    readers[0].input[0] === t
  );
}

function floats(t: TensorMsg): Float32Array {
  if (t.data_type !== DataType.FLOAT) throw new Error(`Initializer ${t.name} is not float32.`);
  const copy = new Uint8Array(t.raw_data);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

function raw(name: string, dims: number[], dataType: number, data: ArrayBufferView): TensorMsg {
  return {
    name,
    dims,
    data_type: dataType as TensorMsg['data_type'],
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * The quantized graph. `ranges` must hold every tensor activationsToQuantize names (with the
 * same options); a missing one is an error naming it.
 */
export function quantizeGraph(
  g: GraphMsg,
  ranges: Record<string, TensorRange>,
  opts: QuantizeOptions = {},
): GraphMsg {
  const ix = indexGraph(g);
  const targets = activationsToQuantize(g, opts);
  const targetSet = new Set(targets);
  const params = new Map<string, Uint8Params>();
  const taken = new Set([
    ...g.initializers.map((t) => t.name),
    ...g.nodes.flatMap((n) => [...n.input, ...n.output]),
    ...g.inputs.map((i) => i.name),
  ]);
  const fresh = (name: string) => {
    if (taken.has(name)) throw new Error(`The quantized graph would reuse the name ${name}.`);
    taken.add(name);
    return name;
  };
  const paramsOf = (t: string): Uint8Params => {
    const known = params.get(t);
    if (known) return known;
    const p = ix.producer.get(t);
    let result: Uint8Params;
    // same-params ops pass their input's parameters through (ORT drops their Q/DQ pair)
    if (p && SAME_PARAMS_OPS.has(p.op_type) && targetSet.has(p.input[0])) result = paramsOf(p.input[0]);
    else {
      const r = ranges[t];
      if (!r) throw new Error(`No calibrated range for tensor ${t}.`);
      result = uint8Params(r);
    }
    params.set(t, result);
    return result;
  };

  const nodes: NodeMsg[] = [];
  const initializers: TensorMsg[] = [];
  const dequantized = new Map<string, string>();
  const replaced = new Set<string>();
  const qdq = (t: string) => {
    const { scale, zeroPoint } = paramsOf(t);
    const s = fresh(`${t}/quant/scale`);
    const z = fresh(`${t}/quant/zero_point`);
    initializers.push(raw(s, [], DataType.FLOAT, new Float32Array([scale])));
    initializers.push(raw(z, [], DataType.UINT8, new Uint8Array([zeroPoint])));
    const q = fresh(`${t}/quant/q`);
    const dq = fresh(`${t}/quant/dq`);
    nodes.push({
      input: [t, s, z],
      output: [q],
      name: fresh(`${t}/QuantizeLinear`),
      op_type: 'QuantizeLinear',
      attribute: [],
    });
    nodes.push({
      input: [q, s, z],
      output: [dq],
      name: fresh(`${t}/DequantizeLinear`),
      op_type: 'DequantizeLinear',
      attribute: [],
    });
    dequantized.set(t, dq);
  };

  for (const i of g.inputs) if (targetSet.has(i.name)) qdq(i.name);
  for (const n of g.nodes) {
    let input = n.input.map((t) => dequantized.get(t) ?? t);
    // a Conv whose input stays float (keepFloat) keeps float weights too
    if (n.op_type === 'Conv' && ix.initializers.has(n.input[1]) && targetSet.has(n.input[0])) {
      input = [...input];
      const w = ix.initializers.get(n.input[1]) as TensorMsg;
      const channels = w.dims[0];
      const biasName = n.input[2];
      const biasInit = biasName ? ix.initializers.get(biasName) : undefined;
      if (biasName && !biasInit) throw new Error(`Conv ${n.name}: its bias is not a constant.`);
      const qc = quantizeConvParams(
        floats(w),
        channels,
        biasInit && { values: floats(biasInit), inputScale: paramsOf(n.input[0]).scale },
      );
      const perChannel = (name: string, q: Int8Array | Int32Array, scales: Float32Array, dims: number[]) => {
        const qName = fresh(`${name}/quant/${q instanceof Int8Array ? 'int8' : 'int32'}`);
        const sName = fresh(`${name}/quant/scale`);
        const zName = fresh(`${name}/quant/zero_point`);
        const out = fresh(`${name}/quant/dq`);
        const zeros = q instanceof Int8Array ? new Int8Array(channels) : new Int32Array(channels);
        initializers.push(raw(qName, dims, q instanceof Int8Array ? DataType.INT8 : DataType.INT32, q));
        initializers.push(raw(sName, [channels], DataType.FLOAT, scales));
        initializers.push(
          raw(zName, [channels], q instanceof Int8Array ? DataType.INT8 : DataType.INT32, zeros),
        );
        nodes.push({
          input: [qName, sName, zName],
          output: [out],
          name: fresh(`${name}/DequantizeLinear`),
          op_type: 'DequantizeLinear',
          attribute: [{ name: 'axis', type: AttrType.INT, i: 0 }],
        });
        replaced.add(name);
        return out;
      };
      input[1] = perChannel(w.name, qc.weights, qc.weightScales, w.dims);
      if (biasName && qc.bias && qc.biasScales)
        input[2] = perChannel(biasName, qc.bias, qc.biasScales, [channels]);
    }
    nodes.push({ ...n, input });
    for (const o of n.output) if (targetSet.has(o)) qdq(o);
  }
  // float initializers still read by some node stay (Clip bounds, Resize scales, other constants)
  const stillRead = new Set(nodes.flatMap((n) => n.input));
  const kept = g.initializers.filter((t) => !replaced.has(t.name) || stillRead.has(t.name));
  return { ...g, nodes, initializers: [...kept, ...initializers] };
}
