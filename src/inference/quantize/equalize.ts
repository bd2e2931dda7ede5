/**
 * Cross-layer channel equalization: multiplies channel i of some activations by s_i > 0 and
 * divides it back out in the convolutions that read them, so the model computes exactly the same
 * function (up to float rounding) while its activations' channels span similar ranges.
 *
 * Why: int8 activations have one scale per tensor. In MobileNet-style models a tensor's channels
 * can span 0.5 in one channel and 150 in the next (batch norm folded into the convolutions); a
 * scale fitted to 150 leaves the small channels two or three codes, and the readers' large
 * weights on those channels turn that into large errors. Per-channel weight scales absorb the
 * compensation for free where the reader is a depthwise convolution; elsewhere it costs some
 * weight precision, hence the partial equalization (`alpha`).
 *
 * A channel scale travels through ops for which op(s * x) = s * op(x) per channel: Relu,
 * GlobalAveragePool, MaxPool, Resize, Add of two scaled inputs, and Mul by an unscaled tensor (a
 * hard-swish or squeeze-excite gate). It starts at Conv outputs (weights and bias rows scaled) and
 * ends at Conv inputs (weight columns, or depthwise rows, divided). A group of tensors that also
 * reaches anything else (Clip, Sigmoid, Concat, a graph output...) is left alone. Our converter
 * writes hard-swish as x * clip(conv1x1(x)), which is why its x is equalizable.
 *
 * Pure: graph (NCHW activations) in, graph out.
 */
import type { GraphMsg, NodeMsg, TensorMsg } from '../onnx/proto.js';

/** Ops that commute with a per-channel positive scale of their (scaled) inputs. */
const TRANSPARENT = new Set(['Relu', 'GlobalAveragePool', 'MaxPool', 'Resize', 'Add', 'Mul']);

export interface EqualizationGroup {
  /** the group's name: its first tensor in graph order */
  key: string;
  /** every tensor that carries the scale */
  tensors: string[];
  /** Convs whose weight rows and bias are multiplied */
  producers: string[];
  /** Convs whose weight columns (or depthwise rows) are divided */
  readers: string[];
  channels: number;
  /** true when every reader is depthwise, so the compensation costs no weight precision */
  depthwiseReadersOnly: boolean;
}

const attrInt = (n: NodeMsg, name: string, dflt: number) =>
  n.attribute.find((a) => a.name === name)?.i ?? dflt;

function floatsOf(t: TensorMsg): Float32Array {
  return new Float32Array(new Uint8Array(t.raw_data).buffer);
}

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

/** The groups of tensors that can be scaled per channel (see the module comment). */
export function equalizationGroups(g: GraphMsg): EqualizationGroup[] {
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const producer = new Map<string, NodeMsg>();
  const readers = new Map<string, NodeMsg[]>();
  for (const n of g.nodes) {
    for (const o of n.output) producer.set(o, n);
    for (const i of new Set(n.input)) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  }
  const isConv = (n: NodeMsg | undefined) =>
    !!n && n.op_type === 'Conv' && inits.has(n.input[1]) && (!n.input[2] || inits.has(n.input[2]));
  // tensors that can carry a scale: Conv outputs and outputs of transparent ops
  const carrier = (t: string) => {
    const p = producer.get(t);
    return !!p && (isConv(p) || TRANSPARENT.has(p.op_type));
  };
  const uf = new UnionFind();
  const invalid = new Set<string>();
  for (const n of g.nodes) {
    if (!TRANSPARENT.has(n.op_type)) continue;
    const out = n.output[0];
    const data = n.op_type === 'Resize' ? [n.input[0]] : n.input.filter((i) => i && !inits.has(i));
    if (n.op_type === 'Mul') {
      const scaled = data.filter(carrier);
      // x * gate: the gate must be unscaled (not a carrier); x * y with both scaled is s^2
      if (scaled.length === 1 && data.length === 2) uf.union(scaled[0], out);
      else invalid.add(out);
      for (const s of scaled) if (scaled.length !== 1) invalid.add(s);
    } else if (n.op_type === 'Add') {
      if (data.length === 2 && data.every(carrier)) {
        uf.union(data[0], out);
        uf.union(data[1], out);
      } else {
        invalid.add(out);
        for (const d of data) invalid.add(d);
      }
    } else if (data.length === 1 && carrier(data[0])) uf.union(data[0], out);
    else invalid.add(out);
  }
  const members = new Map<string, string[]>();
  const order = [...g.nodes.flatMap((n) => n.output)].filter(carrier);
  for (const t of order) {
    const r = uf.find(t);
    members.set(r, [...(members.get(r) ?? []), t]);
  }
  const outputs = new Set(g.outputs.map((o) => o.name));
  const groups: EqualizationGroup[] = [];
  for (const tensors of members.values()) {
    const set = new Set(tensors);
    let ok = !tensors.some((t) => invalid.has(t) || outputs.has(t));
    const producers: string[] = [];
    const readerConvs: NodeMsg[] = [];
    for (const t of tensors) {
      const p = producer.get(t) as NodeMsg;
      if (isConv(p)) producers.push(p.name);
      for (const r of readers.get(t) ?? []) {
        if (TRANSPARENT.has(r.op_type)) {
          // its output must be in this group (an Add or Mul that joined another group is invalid)
          if (!set.has(r.output[0])) ok = false;
        } else if (isConv(r) && r.input[0] === t && !r.input.slice(1).includes(t)) readerConvs.push(r);
        else ok = false;
      }
    }
    if (!ok || producers.length === 0 || readerConvs.length === 0) continue;
    const channels =
      inits.get((g.nodes.find((n) => n.name === producers[0]) as NodeMsg).input[1])?.dims[0] ?? 0;
    const depthwise = (r: NodeMsg) => attrInt(r, 'group', 1) > 1;
    const readerOk = readerConvs.every((r) => {
      const w = inits.get(r.input[1]) as TensorMsg;
      return depthwise(r)
        ? attrInt(r, 'group', 1) === channels && w.dims[0] === channels && w.dims[1] === 1
        : attrInt(r, 'group', 1) === 1 && w.dims[1] === channels;
    });
    const producersOk = producers.every(
      (name) => inits.get((g.nodes.find((n) => n.name === name) as NodeMsg).input[1])?.dims[0] === channels,
    );
    if (!readerOk || !producersOk) continue;
    groups.push({
      key: tensors[0],
      tensors,
      producers,
      readers: [...new Set(readerConvs.map((r) => r.name))],
      channels,
      depthwiseReadersOnly: readerConvs.every(depthwise),
    });
  }
  return groups;
}

/**
 * Scales from per-channel activation sizes (e.g. the maximum |x| over calibration frames):
 * s_i = (max_j a_j / a_i)^alpha, so every channel moves toward the largest one (alpha 1: all
 * equal). Channels that never activate (a_i = 0, such as padding) keep 1; s_i is capped at `cap`.
 */
export function equalizationScales(channelMax: ArrayLike<number>, alpha: number, cap = 256): Float32Array {
  let top = 0;
  for (let i = 0; i < channelMax.length; i++) top = Math.max(top, channelMax[i]);
  const s = new Float32Array(channelMax.length).fill(1);
  if (!(top > 0)) return s;
  for (let i = 0; i < channelMax.length; i++)
    if (channelMax[i] > 0) s[i] = Math.min(cap, (top / channelMax[i]) ** alpha);
  return s;
}

/**
 * The graph with each group's channels multiplied by its scales (group key → Float32Array of
 * `channels` scales). Groups not named keep scale 1. Initializers are copied, never changed in place.
 */
export function applyEqualization(
  g: GraphMsg,
  groups: EqualizationGroup[],
  scales: Record<string, ArrayLike<number>>,
): GraphMsg {
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const edited = new Map<string, Float32Array>();
  const data = (name: string) => {
    let d = edited.get(name);
    if (!d) {
      d = Float32Array.from(floatsOf(inits.get(name) as TensorMsg));
      edited.set(name, d);
    }
    return d;
  };
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  for (const group of groups) {
    const s = scales[group.key];
    if (!s) continue;
    if (s.length !== group.channels)
      throw new Error(`Group ${group.key} has ${group.channels} channels but ${s.length} scales.`);
    for (const name of group.producers) {
      const n = byName.get(name) as NodeMsg;
      const w = data(n.input[1]);
      const per = w.length / group.channels;
      for (let i = 0; i < w.length; i++) w[i] *= s[Math.floor(i / per)];
      if (n.input[2]) {
        const b = data(n.input[2]);
        for (let i = 0; i < b.length; i++) b[i] *= s[i];
      }
    }
    for (const name of group.readers) {
      const n = byName.get(name) as NodeMsg;
      const wt = inits.get(n.input[1]) as TensorMsg;
      const w = data(n.input[1]);
      if (attrInt(n, 'group', 1) > 1) {
        const per = w.length / group.channels;
        for (let i = 0; i < w.length; i++) w[i] /= s[Math.floor(i / per)];
      } else {
        const [o, c] = wt.dims;
        const k = w.length / (o * c);
        for (let i = 0; i < w.length; i++) w[i] /= s[Math.floor(i / k) % c];
      }
    }
  }
  return {
    ...g,
    initializers: g.initializers.map((t) => {
      const d = edited.get(t.name);
      return d ? { ...t, raw_data: new Uint8Array(d.buffer) } : t;
    }),
  };
}

/** Per-channel maximum of |x| over an NCHW tensor (any batch), folded into `into`. */
export function foldChannelAbsMax(into: Float64Array, data: Float32Array, dims: readonly number[]): void {
  const c = dims[1];
  if (into.length !== c) throw new Error(`A ${c}-channel tensor folded into ${into.length} channel maxima.`);
  const plane = dims.slice(2).reduce((a, b) => a * b, 1);
  for (let n = 0; n < (dims[0] ?? 1); n++)
    for (let ch = 0; ch < c; ch++) {
      let m = into[ch];
      const base = (n * c + ch) * plane;
      for (let i = 0; i < plane; i++) {
        const v = Math.abs(data[base + i]);
        if (v > m) m = v;
      }
      into[ch] = m;
    }
}
