/**
 * Converts a TensorFlow.js graph model (the ops an image CNN uses) to an ONNX model.
 *
 * Layout: TF graphs are NHWC; ONNX Conv/Pool/Resize are NCHW. The ONNX model keeps the TF NHWC
 * input, transposes it once to NCHW, runs everything NCHW (weights are re-laid out at conversion)
 * and transposes 4-D outputs back to NHWC, so outputs compare one to one with TF.js.
 *
 * Shapes are inferred statically (the spatial size is fixed by the model input); the batch
 * dimension stays symbolic ('batch') so one session runs any batch size. Static shapes let us
 * write TF's asymmetric SAME padding as explicit ONNX pads and count FLOPs.
 *
 * Not supported (throws, naming the op): decoder-style integer ops (TopKV2, GatherV2, StridedSlice,
 * FloorDiv, ...). Callers cut the graph before them (see `outputs`) and decode in TypeScript.
 */
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import {
  attrBool,
  attrFloat,
  attrInts,
  attrString,
  attrStrings,
  type ConstTensor,
  type TfjsGraph,
  type TfNode,
} from './tfjs-graph.js';

export interface ConvertOptions {
  /** TF node names to expose as ONNX outputs (default: the graph's sinks are not guessed: required). */
  outputs: string[];
  opset?: number;
  producer?: string;
}

export interface ConvertResult {
  onnx: Uint8Array;
  inputName: string;
  /** NHWC input shape, -1 for the dynamic batch */
  inputShape: number[];
  outputNames: string[];
  /** floating point operations for ONE image (2 per multiply-add; 1 per element-wise op) */
  flops: number;
  /** how many TF nodes of each op were converted */
  opCounts: Record<string, number>;
}

interface Value {
  /** ONNX tensor name; '' for a constant not (yet) written as an initializer */
  name: string;
  /** the TF (NHWC) shape; -1 marks the dynamic batch */
  shape: number[];
  /** true when the ONNX tensor holds the NCHW transpose of this 4-D TF tensor */
  nchw: boolean;
  /**
   * Channels of the ONNX tensor when it has more than the TF tensor: a conv output padded with
   * all-zero channels (only ever read by convs, see `padSafe`).
   */
  onnxC?: number;
  konst?: ConstTensor;
  /**
   * Set when the tensor is the raw output of a Conv we emitted (no activation after it), so a
   * following per-tensor scale/shift can be folded into the conv's weights and bias.
   */
  conv?: ConvInfo;
}

interface ConvInfo {
  /** OIHW weights (padded), as written into the (not yet encoded) initializer: editable in place */
  weights: Float32Array;
  /** the conv's bias initializer data, if it has one (editable in place) */
  bias?: Float32Array;
  outC: number;
  /** the ONNX node's input list, to add a bias */
  inputs: string[];
  /** the TF node that produced it */
  tfNode: string;
}

export type Padding = 'SAME' | 'VALID' | 'EXPLICIT';

/**
 * Output size and [top, left, bottom, right] pads of a conv/pool window, as TensorFlow computes
 * them. SAME puts the odd pixel of padding at the bottom/right, which ONNX's symmetric `pads`
 * default would get wrong, so we always emit explicit pads.
 */
export function windowGeometry(
  inH: number,
  inW: number,
  k: [number, number],
  stride: [number, number],
  dilation: [number, number],
  padding: Padding,
  explicit: [number, number, number, number] = [0, 0, 0, 0],
): { outH: number; outW: number; pads: [number, number, number, number] } {
  const dim = (size: number, i: 0 | 1): [number, number, number] => {
    const eff = (k[i] - 1) * dilation[i] + 1;
    if (padding === 'SAME') {
      const out = Math.ceil(size / stride[i]);
      const total = Math.max((out - 1) * stride[i] + eff - size, 0);
      return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
    }
    const [before, after] =
      padding === 'VALID' ? [0, 0] : i === 0 ? [explicit[0], explicit[2]] : [explicit[1], explicit[3]];
    return [Math.floor((size + before + after - eff) / stride[i]) + 1, before, after];
  };
  const [outH, top, bottom] = dim(inH, 0);
  const [outW, left, right] = dim(inW, 1);
  return { outH, outW, pads: [top, left, bottom, right] };
}

/** HWIO conv filter → ONNX OIHW. */
export function hwioToOihw(f: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(f.length);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          out[((o * ci + i) * kh + y) * kw + x] = f[((y * kw + x) * ci + i) * co + o];
  return out;
}

/** Depthwise filter [kh, kw, C, M] → ONNX grouped-conv weights [C*M, 1, kh, kw] (out channel c*M+m). */
export function depthwiseToOihw(f: Float32Array, [kh, kw, c, m]: number[]): Float32Array {
  const out = new Float32Array(f.length);
  for (let i = 0; i < c; i++)
    for (let j = 0; j < m; j++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((i * m + j) * kh + y) * kw + x] = f[((y * kw + x) * c + i) * m + j];
  return out;
}

/** NHWC data → NCHW data (for 4-D constants broadcast against activations). */
export function nhwcToNchw(d: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(d.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++)
          out[((b * c + ch) * h + y) * w + x] = d[((b * h + y) * w + x) * c + ch];
  return out;
}

/** NHWC axis → NCHW axis. */
const NCHW_AXIS = [0, 2, 3, 1];

function broadcastShapes(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (x === -1 || y === -1) out.push(-1);
    else throw new Error(`Shapes [${a}] and [${b}] do not broadcast.`);
  }
  return out;
}

const count = (shape: number[]) => shape.reduce((a, d) => a * (d === -1 ? 1 : d), 1);

function parseRef(ref: string): { node: string; key: string } | undefined {
  if (ref.startsWith('^')) return undefined; // control dependency: no data
  const m = /^(.*?)(?::(\d+))?$/.exec(ref);
  const node = m?.[1] ?? ref;
  const idx = Number(m?.[2] ?? 0);
  return { node, key: idx === 0 ? node : `${node}:${idx}` };
}

/**
 * MobileNetV3's hard activations, as TF exports them (c = 1/6 rounded to the weights' float16,
 * k = 3):
 *   hard-sigmoid: Mul(c, Relu6(Add(z, k)))            = clip(c*z + c*k, 0, 6c)
 *   hard-swish:   Mul(Mul(c, x), Relu6(Add(x, k)))     = x * clip(c*x + c*k, 0, 6c)
 * Written with ONNX elementwise ops they are 3-4 passes over the tensor each, and none of them
 * is one ONNX Runtime's CPU NCHWc layout handles, so every one also costs a reorder out of and back
 * into the blocked layout. We emit clip(c*z + c*k, 0, 6c) as a 1x1 convolution (folded into the
 * producing Conv when z is one, else a depthwise 1x1 conv) + Clip, which ORT fuses into a single
 * NCHWc conv with a Clip activation, and the hard-swish's product as a same-shape Mul, which
 * stays in NCHWc too. The rewrite is exact up to float rounding (c is not changed).
 */
interface HardPattern {
  kind: 'hard-sigmoid' | 'hard-swish';
  /** the input (z or x) */
  input: string;
  c: number;
  k: number;
  /** the inner TF nodes the pattern replaces (each used only inside the pattern) */
  absorbed: string[];
}

function findHardPatterns(
  order: TfNode[],
  byName: Map<string, TfNode>,
  weights: Map<string, ConstTensor>,
  uses: Map<string, number>,
): Map<string, HardPattern> {
  const dataInputs = (n: TfNode) => (n.input ?? []).filter((r) => !r.startsWith('^'));
  const nodeOf = (ref: string) => {
    const r = parseRef(ref);
    return r && r.key === r.node ? byName.get(r.node) : undefined;
  };
  const scalarOf = (ref: string): number | undefined => {
    const n = nodeOf(ref);
    const k = n?.op === 'Const' ? weights.get(n.name) : undefined;
    return k && k.dtype === 'float32' && k.data.length === 1 ? k.data[0] : undefined;
  };
  const single = (n: TfNode | undefined, op: string): n is TfNode =>
    !!n && n.op === op && uses.get(n.name) === 1;
  /** [scalar, other input] of a binary node with exactly one scalar-constant input */
  const withScalar = (n: TfNode): [number, string] | undefined => {
    const [a, b] = dataInputs(n);
    const ca = scalarOf(a);
    const cb = scalarOf(b);
    if (ca !== undefined && cb === undefined) return [ca, b];
    if (cb !== undefined && ca === undefined) return [cb, a];
    return undefined;
  };
  /** Relu6(Add(z, k)) → z, k */
  const relu6Add = (ref: string) => {
    const relu = nodeOf(ref);
    if (!single(relu, 'Relu6')) return undefined;
    const add = nodeOf(dataInputs(relu)[0]);
    if (!single(add, 'Add') && !single(add, 'AddV2')) return undefined;
    const s = withScalar(add as TfNode);
    return s && { z: s[1], k: s[0], absorbed: [relu.name, (add as TfNode).name] };
  };
  const same = (a: string, b: string) => parseRef(a)?.key === parseRef(b)?.key;

  const found = new Map<string, HardPattern>();
  const absorbed = new Set<string>();
  // Outputs first, so a pattern's inner nodes are claimed by the outermost match.
  for (const n of [...order].reverse()) {
    if (n.op !== 'Mul' || absorbed.has(n.name)) continue;
    const [a, b] = dataInputs(n);
    let p: HardPattern | undefined;
    const s = withScalar(n);
    if (s) {
      const r = relu6Add(s[1]);
      if (r) p = { kind: 'hard-sigmoid', input: r.z, c: s[0], k: r.k, absorbed: r.absorbed };
    } else {
      for (const [m, q] of [
        [a, b],
        [b, a],
      ]) {
        const mul = nodeOf(m);
        const r = relu6Add(q);
        if (!r || !single(mul, 'Mul')) continue;
        const ms = withScalar(mul);
        if (ms && same(ms[1], r.z)) {
          p = { kind: 'hard-swish', input: r.z, c: ms[0], k: r.k, absorbed: [mul.name, ...r.absorbed] };
          break;
        }
      }
    }
    if (p) {
      found.set(n.name, p);
      for (const x of p.absorbed) absorbed.add(x);
    }
  }
  return found;
}

export function convertTfjsToOnnx(graph: TfjsGraph, opts: ConvertOptions): ConvertResult {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const b = new GraphBuilder('converted');
  const values = new Map<string, Value>();
  const opCounts: Record<string, number> = {};
  let flops = 0;
  let inputName = '';
  let inputShape: number[] = [];

  // Topological order of the nodes the outputs depend on (iterative DFS: graphs can be deep).
  const order: TfNode[] = [];
  const state = new Map<string, 1 | 2>();
  for (const out of opts.outputs) {
    const stack: [string, boolean][] = [[out, false]];
    while (stack.length) {
      const [name, done] = stack.pop() as [string, boolean];
      if (done) {
        if (state.get(name) !== 2) {
          state.set(name, 2);
          order.push(byName.get(name) as TfNode);
        }
        continue;
      }
      if (state.has(name)) continue;
      const node = byName.get(name);
      if (!node) throw new Error(`The graph has no node named ${name}.`);
      state.set(name, 1);
      stack.push([name, true]);
      for (const ref of node.input ?? []) {
        const r = parseRef(ref);
        if (r && !state.has(r.node)) stack.push([r.node, false]);
      }
    }
  }

  // How many data inputs read each node (graph outputs count as a use).
  const uses = new Map<string, number>();
  for (const n of order)
    for (const ref of n.input ?? []) {
      const r = parseRef(ref);
      if (r) uses.set(r.node, (uses.get(r.node) ?? 0) + 1);
    }
  for (const out of opts.outputs) uses.set(out, (uses.get(out) ?? 0) + 1);
  const hard = findHardPatterns(order, byName, graph.weights, uses);
  const consumers = new Map<string, TfNode[]>();
  for (const n of order)
    for (const ref of n.input ?? []) {
      const r = parseRef(ref);
      if (r) consumers.set(r.node, [...(consumers.get(r.node) ?? []), n]);
    }
  const outputSet = new Set(opts.outputs);
  const dataInputsOf = (n: TfNode) => (n.input ?? []).filter((r) => !r.startsWith('^'));
  /** fused ops that map 0 to 0, so zero-padded channels stay zero */
  const zeroSafe = (n: TfNode) =>
    attrStrings(n, 'fused_ops').every((op) =>
      ['BiasAdd', 'Relu', 'Relu6', 'Tanh', 'Elu', 'LeakyRelu'].includes(op),
    );
  /**
   * ORT's fast (NCHWc) CPU convolutions need channel counts that are multiples of 4. A conv
   * whose output only feeds convs (directly, or through depthwise convs that keep zero channels
   * zero) can write extra all-zero channels that its readers ignore (zero weights): exact.
   */
  const padSafe = (name: string): boolean => {
    if (outputSet.has(name)) return false;
    const cs = consumers.get(name) ?? [];
    return (
      cs.length > 0 &&
      cs.every((c) => {
        const ins = dataInputsOf(c);
        if (parseRef(ins[0])?.key !== name || ins.slice(1).some((r) => parseRef(r)?.node === name))
          return false;
        if (c.op === 'Conv2D' || c.op === '_FusedConv2D') return true;
        if (c.op !== 'DepthwiseConv2dNative' && c.op !== 'FusedDepthwiseConv2dNative') return false;
        const f = graph.weights.get(parseRef(ins[1])?.node ?? '');
        return f?.shape[3] === 1 && zeroSafe(c) && padSafe(c.name);
      })
    );
  };
  const absorbed = new Set([...hard.values()].flatMap((p) => p.absorbed));

  const scalars = new Map<number, string>();
  const scalar = (v: number): string => {
    let name = scalars.get(v);
    if (!name) {
      name = b.initializer(`const_${v}`, [], new Float32Array([v]));
      scalars.set(v, name);
    }
    return name;
  };

  const get = (ref: string): Value => {
    const r = parseRef(ref);
    const v = r && values.get(r.key);
    if (!v) throw new Error(`Input ${ref} has not been converted.`);
    return v;
  };
  const constOf = (ref: string, what: string): ConstTensor => {
    const v = get(ref);
    if (!v.konst) throw new Error(`${what} (${ref}) must be a constant.`);
    return v.konst;
  };

  /** Writes a constant as an initializer laid out to broadcast against `like`. */
  const materialise = (v: Value, like: Value, base: string): string => {
    if (v.name) return v.name;
    const k = v.konst as ConstTensor;
    const data = k.dtype === 'float32' ? (k.data as Float32Array) : Float32Array.from(k.data);
    if (!like.nchw || k.shape.length === 0) return b.initializer(base, k.shape, data);
    if (k.shape.length === 1) return b.initializer(base, [k.shape[0], 1, 1], data); // per-channel
    if (k.shape.length === 4) {
      const [n, h, w, c] = k.shape;
      return b.initializer(base, [n, c, h, w], nhwcToNchw(data, k.shape));
    }
    throw new Error(`Constant ${base} of shape [${k.shape}] cannot be broadcast against an NCHW tensor.`);
  };

  const activation = (x: string, act: string, node: TfNode, shape: number[]): string => {
    flops += count(shape);
    switch (act) {
      case 'Relu':
        return b.op('Relu', [x], `${node.name}/Relu`);
      case 'Relu6':
        return b.op('Clip', [x, scalar(0), scalar(6)], `${node.name}/Relu6`);
      case 'Sigmoid':
        return b.op('Sigmoid', [x], `${node.name}/Sigmoid`);
      case 'Tanh':
        return b.op('Tanh', [x], `${node.name}/Tanh`);
      case 'Elu':
        return b.op('Elu', [x], `${node.name}/Elu`);
      case 'LeakyRelu':
        return b.op('LeakyRelu', [x], `${node.name}/LeakyRelu`, {
          alpha: { f: attrFloat(node, 'leakyrelu_alpha', 0.2) },
        });
      default:
        throw new Error(`Node ${node.name} fuses activation ${act}, which the converter does not support.`);
    }
  };

  const conv = (node: TfNode, depthwise: boolean): Value => {
    const inputs = (node.input ?? []).filter((r) => !r.startsWith('^'));
    const x = get(inputs[0]);
    const f = constOf(inputs[1], `The filter of ${node.name}`);
    if (!x.nchw) throw new Error(`Node ${node.name} convolves a tensor that is not 4-D NHWC.`);
    if ((attrString(node, 'data_format') ?? 'NHWC') !== 'NHWC')
      throw new Error(`Node ${node.name} is not NHWC.`);
    const [kh, kw, ci, co] = f.shape;
    const strides = attrInts(node, 'strides') ?? [1, 1, 1, 1];
    const dil = attrInts(node, 'dilations') ?? [1, 1, 1, 1];
    const padding = (attrString(node, 'padding') ?? 'VALID') as Padding;
    const ep = attrInts(node, 'explicit_paddings') ?? [];
    const explicit: [number, number, number, number] =
      ep.length === 8 ? [ep[2], ep[4], ep[3], ep[5]] : [0, 0, 0, 0];
    const [n, h, w] = x.shape;
    const g = windowGeometry(h, w, [kh, kw], [strides[1], strides[2]], [dil[1], dil[2]], padding, explicit);
    const outC = depthwise ? ci * co : co;
    // Channels of the ONNX input (zero-padded by the producer) and output (see padSafe).
    const inC = x.onnxC ?? ci;
    if (inC !== ci && depthwise && co !== 1)
      throw new Error(`Node ${node.name}: internal error, padded input to a depthwise multiplier.`);
    const onnxOutC = depthwise
      ? inC * co
      : co % 4 !== 0 && zeroSafe(node) && padSafe(node.name)
        ? Math.ceil(co / 4) * 4
        : co;
    let wData: Float32Array;
    if (depthwise) {
      // [C*M, 1, kh, kw]: extra channels (M = 1) are appended as zero filters.
      wData = new Float32Array(onnxOutC * kh * kw);
      wData.set(depthwiseToOihw(f.data as Float32Array, f.shape));
    } else {
      const oihw = hwioToOihw(f.data as Float32Array, f.shape);
      if (onnxOutC === co && inC === ci) wData = oihw;
      else {
        wData = new Float32Array(onnxOutC * inC * kh * kw);
        const k = kh * kw;
        for (let o = 0; o < co; o++) wData.set(oihw.subarray(o * ci * k, (o + 1) * ci * k), o * inC * k);
      }
    }
    const weights = b.initializer(
      `${node.name}/weights`,
      depthwise ? [onnxOutC, 1, kh, kw] : [onnxOutC, inC, kh, kw],
      wData,
    );

    const fused = attrStrings(node, 'fused_ops');
    const convInputs = [x.name, weights];
    let rest = fused;
    let bData: Float32Array | undefined;
    if (fused[0] === 'BiasAdd') {
      bData = new Float32Array(onnxOutC);
      bData.set(constOf(inputs[2], `The bias of ${node.name}`).data);
      convInputs.push(b.initializer(`${node.name}/bias`, [onnxOutC], bData));
      rest = fused.slice(1);
    } else if (fused.length > 0) {
      throw new Error(`Node ${node.name} fuses ${fused.join('+')}; only BiasAdd[+activation] is supported.`);
    }
    let y = b.op('Conv', convInputs, rest.length ? `${node.name}/conv` : node.name, {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [strides[1], strides[2]] },
      dilations: { ints: [dil[1], dil[2]] },
      pads: { ints: g.pads },
      group: { i: depthwise ? inC : 1 },
    });
    const shape = [n, g.outH, g.outW, outC];
    const macsPerOut = kh * kw * (depthwise ? 1 : ci);
    flops += 2 * macsPerOut * count(shape) + (convInputs.length === 3 ? count(shape) : 0);
    const onnxInputs = b.nodes[b.nodes.length - 1].input;
    for (const act of rest) y = activation(y, act, node, shape);
    const info: ConvInfo | undefined = rest.length
      ? undefined
      : { weights: wData, bias: bData, outC: onnxOutC, inputs: onnxInputs, tfNode: node.name };
    return {
      name: y,
      shape,
      nchw: true,
      conv: info,
      onnxC: onnxOutC !== outC ? onnxOutC : undefined,
    };
  };

  /**
   * clip(c*z + c*k, 0, 6c): folded into z's Conv when z is the raw output of one used only here,
   * else a depthwise 1x1 conv; then Clip (ORT fuses Conv+Clip). Falls back to elementwise ops for
   * tensors that are not 4-D.
   */
  const hardSigmoid = (z: Value, c: number, k: number, base: string, foldable: boolean): string => {
    let y: string;
    if (foldable && z.conv) {
      const conv = z.conv;
      for (let i = 0; i < conv.weights.length; i++) conv.weights[i] *= c;
      if (conv.bias) {
        for (let i = 0; i < conv.bias.length; i++) conv.bias[i] = (conv.bias[i] + k) * c;
      } else {
        conv.inputs.push(b.initializer(`${base}/bias`, [conv.outC], new Float32Array(conv.outC).fill(c * k)));
      }
      y = z.name;
    } else if (z.nchw && z.shape.length === 4) {
      const ch = z.shape[3];
      y = b.op(
        'Conv',
        [
          z.name,
          b.initializer(`${base}/scale`, [ch, 1, 1, 1], new Float32Array(ch).fill(c)),
          b.initializer(`${base}/shift`, [ch], new Float32Array(ch).fill(c * k)),
        ],
        `${base}/affine`,
        { kernel_shape: { ints: [1, 1] }, group: { i: ch } },
      );
    } else {
      y = b.op('Add', [b.op('Mul', [z.name, scalar(c)], `${base}/mul`), scalar(c * k)], `${base}/add`);
    }
    return b.op('Clip', [y, scalar(0), scalar(6 * c)], `${base}/clip`);
  };

  const hardActivation = (node: TfNode, p: HardPattern): Value => {
    const x = get(p.input);
    const n = count(x.shape);
    if (p.kind === 'hard-sigmoid') {
      flops += 3 * n;
      // Fold into the conv only when nothing else reads its raw output.
      const foldable = !!x.conv && uses.get(x.conv.tfNode) === 1;
      return { name: hardSigmoid(x, p.c, p.k, node.name, foldable), shape: x.shape, nchw: x.nchw };
    }
    flops += 4 * n;
    const h = hardSigmoid(x, p.c, p.k, `${node.name}/gate`, false);
    return { name: b.op('Mul', [x.name, h], node.name), shape: x.shape, nchw: x.nchw };
  };

  const binary = (node: TfNode, onnxOp: string): Value => {
    const [ra, rb] = (node.input ?? []).filter((r) => !r.startsWith('^'));
    const a = get(ra);
    const c = get(rb);
    if (a.konst && c.konst)
      throw new Error(`Node ${node.name} combines two constants; constant folding is not supported.`);
    const like = a.konst ? c : a;
    if (!a.konst && !c.konst && a.nchw !== c.nchw)
      throw new Error(`Node ${node.name} mixes NHWC and other tensors.`);
    const shape = broadcastShapes(a.shape, c.shape);
    flops += count(shape);
    const an = materialise(a, like, `${node.name}/a`);
    const cn = materialise(c, like, `${node.name}/b`);
    return { name: b.op(onnxOp, [an, cn], node.name), shape, nchw: like.nchw && shape.length === 4 };
  };

  const convertNode = (node: TfNode): Value => {
    const inputs = (node.input ?? []).filter((r) => !r.startsWith('^'));
    switch (node.op) {
      case 'Const': {
        const k = graph.weights.get(node.name);
        if (!k) throw new Error(`Constant ${node.name} has no value in the weights manifest.`);
        return { name: '', shape: k.shape, nchw: false, konst: k };
      }
      case 'Placeholder': {
        const dims = (node.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.length !== 4) throw new Error(`Input ${node.name} must be a 4-D NHWC image tensor.`);
        const shape = [-1, dims[1], dims[2], dims[3]];
        inputName = node.name;
        inputShape = shape;
        b.input(node.name, DataType.FLOAT, ['batch', dims[1], dims[2], dims[3]]);
        // The one transpose of the whole model: NHWC in, NCHW inside.
        return {
          name: b.op('Transpose', [node.name], `${node.name}/nchw`, { perm: { ints: [0, 3, 1, 2] } }),
          shape,
          nchw: true,
        };
      }
      case 'Identity':
        return { ...get(inputs[0]), conv: undefined };
      case '_FusedConv2D':
      case 'Conv2D':
        return conv(node, false);
      case 'FusedDepthwiseConv2dNative':
      case 'DepthwiseConv2dNative':
        return conv(node, true);
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
        return binary(node, 'Add');
      case 'Sub':
        return binary(node, 'Sub');
      case 'Mul':
        return binary(node, 'Mul');
      case 'RealDiv':
        return binary(node, 'Div');
      case 'Maximum':
        return binary(node, 'Max');
      case 'Minimum':
        return binary(node, 'Min');
      case 'Relu':
      case 'Relu6':
      case 'Sigmoid':
      case 'Tanh':
      case 'Elu':
      case 'LeakyRelu': {
        const x = get(inputs[0]);
        return { ...x, name: activation(x.name, node.op, node, x.shape), conv: undefined };
      }
      case 'Mean': {
        const x = get(inputs[0]);
        const axes = Array.from(constOf(inputs[1], `The axes of ${node.name}`).data).map((a) =>
          a < 0 ? a + x.shape.length : a,
        );
        const keep = attrBool(node, 'keep_dims');
        if (x.nchw && !keep && axes.join() !== '1,2')
          throw new Error(`Node ${node.name}: Mean without keep_dims is only supported over H,W.`);
        const onnxAxes = x.nchw ? axes.map((a) => NCHW_AXIS[a]) : axes;
        flops += count(x.shape);
        const shape = keep
          ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
          : x.shape.filter((_, i) => !axes.includes(i));
        // A spatial mean (squeeze-and-excite) as GlobalAveragePool, which ORT runs in NCHWc layout.
        if (x.nchw && keep && [...axes].sort().join() === '1,2')
          return { name: b.op('GlobalAveragePool', [x.name], node.name), shape, nchw: true };
        const name = b.op('ReduceMean', [x.name], node.name, {
          axes: { ints: onnxAxes },
          keepdims: { i: keep ? 1 : 0 },
        });
        return { name, shape, nchw: x.nchw && keep };
      }
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor': {
        const x = get(inputs[0]);
        const size = Array.from(constOf(inputs[1], `The size of ${node.name}`).data);
        const [n, h, w, c] = x.shape;
        const alignCorners = attrBool(node, 'align_corners');
        const halfPixel = attrBool(node, 'half_pixel_centers');
        const bilinear = node.op === 'ResizeBilinear';
        // TF's three coordinate conventions map onto ONNX Resize modes one to one.
        const ctm = alignCorners
          ? 'align_corners'
          : halfPixel
            ? bilinear
              ? 'half_pixel'
              : 'tf_half_pixel_for_nn'
            : 'asymmetric';
        const scales = b.initializer(
          `${node.name}/scales`,
          [4],
          new Float32Array([1, 1, size[0] / h, size[1] / w]),
        );
        const attrs = {
          mode: { s: bilinear ? 'linear' : 'nearest' },
          coordinate_transformation_mode: { s: ctm },
          ...(bilinear ? {} : { nearest_mode: { s: alignCorners ? 'round_prefer_ceil' : 'floor' } }),
        };
        const shape = [n, size[0], size[1], c];
        flops += (bilinear ? 7 : 1) * count(shape);
        return { name: b.op('Resize', [x.name, '', scales], node.name, attrs), shape, nchw: true };
      }
      case 'ConcatV2': {
        const axisRaw = Number(constOf(inputs[inputs.length - 1], `The axis of ${node.name}`).data[0]);
        const xs = inputs.slice(0, -1).map(get);
        if (xs.some((v) => v.konst))
          throw new Error(`Node ${node.name} concatenates a constant, which is not supported.`);
        const rank = xs[0].shape.length;
        const axis = axisRaw < 0 ? axisRaw + rank : axisRaw;
        const nchw = xs[0].nchw;
        const shape = [...xs[0].shape];
        shape[axis] = xs.reduce((s, v) => s + v.shape[axis], 0);
        const name = b.op(
          'Concat',
          xs.map((v) => v.name),
          node.name,
          { axis: { i: nchw ? NCHW_AXIS[axis] : axis } },
        );
        return { name, shape, nchw };
      }
      case 'MaxPool':
      case 'AvgPool': {
        const x = get(inputs[0]);
        const k = attrInts(node, 'ksize') ?? [1, 1, 1, 1];
        const s = attrInts(node, 'strides') ?? [1, 1, 1, 1];
        const padding = (attrString(node, 'padding') ?? 'VALID') as Padding;
        const [n, h, w, c] = x.shape;
        const g = windowGeometry(h, w, [k[1], k[2]], [s[1], s[2]], [1, 1], padding);
        const shape = [n, g.outH, g.outW, c];
        flops += k[1] * k[2] * count(shape);
        const attrs = {
          kernel_shape: { ints: [k[1], k[2]] },
          strides: { ints: [s[1], s[2]] },
          pads: { ints: g.pads },
        };
        // TF's AvgPool averages only the real pixels under a SAME window: count_include_pad = 0.
        const name =
          node.op === 'MaxPool'
            ? b.op('MaxPool', [x.name], node.name, attrs)
            : b.op('AveragePool', [x.name], node.name, { ...attrs, count_include_pad: { i: 0 } });
        return { name, shape, nchw: true };
      }
      default:
        throw new Error(
          `Node ${node.name} uses op ${node.op}, which the converter does not support; cut the graph before it.`,
        );
    }
  };

  for (const node of order) {
    if (absorbed.has(node.name)) {
      opCounts[node.op] = (opCounts[node.op] ?? 0) + 1;
      continue;
    }
    const p = hard.get(node.name);
    const v = p ? hardActivation(node, p) : convertNode(node);
    values.set(node.name, v);
    if (node.op !== 'Const') opCounts[node.op] = (opCounts[node.op] ?? 0) + 1;
  }
  if (!inputName) throw new Error('The requested outputs do not depend on any Placeholder input.');

  for (const out of opts.outputs) {
    const v = values.get(out) as Value;
    if (v.konst) throw new Error(`Output ${out} is a constant.`);
    if (v.nchw) b.opMulti('Transpose', [v.name], [out], { perm: { ints: [0, 2, 3, 1] } });
    else b.opMulti('Identity', [v.name], [out]);
    b.output(
      out,
      DataType.FLOAT,
      v.shape.map((d) => (d === -1 ? 'batch' : d)),
    );
  }

  return {
    onnx: b.encode({ opset: opts.opset ?? 13, producer: opts.producer ?? 'web-detector tfjs-to-onnx' }),
    inputName,
    inputShape,
    outputNames: opts.outputs,
    flops,
    opCounts,
  };
}
