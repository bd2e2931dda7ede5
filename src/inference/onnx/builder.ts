/**
 * A small ONNX graph builder on top of proto.ts: named initializers, nodes with typed attributes,
 * and unique names. Used by the TF.js converter and by tests that build tiny models.
 */
import {
  type AttributeMsg,
  AttrType,
  DataType,
  type DataTypeCode,
  type Dim,
  encodeModel,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from './proto.js';

export type AttrValue =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { t: TensorMsg };

export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

function dataTypeOf(data: TensorData, bool: boolean): DataTypeCode {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  return bool ? DataType.BOOL : DataType.UINT8;
}

/** A TensorProto with raw little-endian bytes (what every ONNX reader accepts). */
export function tensorProto(
  name: string,
  dims: number[],
  data: TensorData,
  opts: { bool?: boolean } = {},
): TensorMsg {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(
      `Tensor ${name} has ${data.length} values but its shape [${dims.join(',')}] needs ${expected}.`,
    );
  }
  return {
    name,
    dims,
    data_type: dataTypeOf(data, opts.bool ?? false),
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function attribute(name: string, v: AttrValue): AttributeMsg {
  if ('i' in v) return { name, type: AttrType.INT, i: v.i };
  if ('f' in v) return { name, type: AttrType.FLOAT, f: v.f };
  if ('s' in v) return { name, type: AttrType.STRING, s: new TextEncoder().encode(v.s) };
  if ('ints' in v) return { name, type: AttrType.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: AttrType.FLOATS, floats: v.floats };
  return { name, type: AttrType.TENSOR, t: v.t };
}

export class GraphBuilder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  readonly inputs: ValueInfoMsg[] = [];
  readonly outputs: ValueInfoMsg[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** Returns `base`, or `base_N` if taken, and reserves it. */
  uniqueName(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  input(name: string, elemType: DataTypeCode, shape: Dim[]): string {
    this.used.add(name);
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  output(name: string, elemType: DataTypeCode, shape: Dim[]): void {
    this.outputs.push({ name, elemType, shape });
  }

  initializer(base: string, dims: number[], data: TensorData): string {
    const name = this.uniqueName(base);
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }

  /** Adds a node with one output named after `base`; returns the output name. */
  op(opType: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}): string {
    const out = this.uniqueName(base);
    this.opMulti(opType, inputs, [out], attrs);
    return out;
  }

  opMulti(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): void {
    for (const o of outputs) this.used.add(o);
    this.nodes.push({
      input: inputs,
      output: outputs,
      name: `${opType}_${this.nodes.length}`,
      op_type: opType,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
  }

  encode(opts: { opset?: number; producer?: string; doc?: string } = {}): Uint8Array {
    return encodeModel(
      {
        name: this.name,
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: this.inputs,
        outputs: this.outputs,
      },
      { opset: opts.opset ?? 13, producer: opts.producer ?? 'web-detector', doc: opts.doc },
    );
  }
}
