/**
 * A minimal subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto), enough
 * to write (and read back, in tests) models with dense tensors. Field numbers are ONNX's own; we
 * keep it hand-written so the project needs no generated code and no download.
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  optional AttributeType type = 20;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string domain = 7;
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const ModelProtoType = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType values we use. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface TensorMsg {
  name: string;
  dims: number[];
  data_type: DataTypeCode;
  raw_data: Uint8Array;
}

export interface AttributeMsg {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMsg;
  floats?: number[];
  ints?: number[];
}

export interface NodeMsg {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: AttributeMsg[];
  domain?: string;
}

/** A dimension is a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;

export interface ValueInfoMsg {
  name: string;
  elemType: DataTypeCode;
  /** left out: shape unknown (e.g. an intermediate tensor exposed as an output for calibration) */
  shape?: Dim[];
}

export interface GraphMsg {
  name: string;
  nodes: NodeMsg[];
  initializers: TensorMsg[];
  inputs: ValueInfoMsg[];
  outputs: ValueInfoMsg[];
}

function valueInfo(v: ValueInfoMsg): object {
  const shape = v.shape && {
    dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })),
  };
  return { name: v.name, type: { tensor_type: { elem_type: v.elemType, ...(shape ? { shape } : {}) } } };
}

/** Serialises a graph as an ONNX ModelProto (IR version 8, default domain at `opset`). */
export function encodeModel(
  graph: GraphMsg,
  opts: { opset: number; producer: string; doc?: string },
): Uint8Array {
  const msg = ModelProtoType.fromObject({
    ir_version: 8,
    producer_name: opts.producer,
    producer_version: '1',
    doc_string: opts.doc ?? '',
    opset_import: [{ domain: '', version: opts.opset }],
    graph: {
      name: graph.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return ModelProtoType.encode(msg).finish();
}

/** Decodes a ModelProto into plain objects (used by tests and tools to inspect what we wrote). */
export function decodeModel(bytes: Uint8Array): {
  opset: number;
  graph: { node: NodeMsg[]; initializer: TensorMsg[]; input: { name: string }[]; output: { name: string }[] };
} {
  const obj = ModelProtoType.toObject(ModelProtoType.decode(bytes), { longs: Number, defaults: false }) as {
    opset_import: { version: number }[];
    graph: {
      node?: NodeMsg[];
      initializer?: TensorMsg[];
      input?: { name: string }[];
      output?: { name: string }[];
    };
  };
  return {
    opset: obj.opset_import[0]?.version ?? 0,
    graph: {
      node: obj.graph.node ?? [],
      initializer: obj.graph.initializer ?? [],
      input: obj.graph.input ?? [],
      output: obj.graph.output ?? [],
    },
  };
}

interface DecodedValueInfo {
  name: string;
  type?: {
    tensor_type?: {
      elem_type?: number;
      shape?: { dim?: { dim_value?: number; dim_param?: string }[] };
    };
  };
}

function fromValueInfo(v: DecodedValueInfo): ValueInfoMsg {
  const t = v.type?.tensor_type;
  const dims = t?.shape?.dim;
  return {
    name: v.name,
    elemType: (t?.elem_type ?? 0) as DataTypeCode,
    shape: dims?.map((d) => d.dim_param ?? d.dim_value ?? '?'),
  };
}

/**
 * Decodes a model into the same GraphMsg that encodeModel writes, for graph passes (quantization,
 * fp16) over a model we converted. Initializers must carry raw_data (ours always do); each one's
 * bytes are copied into their own buffer, so typed-array views on them are aligned.
 */
export function decodeGraph(bytes: Uint8Array): { graph: GraphMsg; opset: number; producer: string } {
  const obj = ModelProtoType.toObject(ModelProtoType.decode(bytes), {
    longs: Number,
    enums: Number,
    defaults: false,
  }) as {
    producer_name?: string;
    opset_import?: { domain?: string; version: number }[];
    graph: {
      name?: string;
      node?: (NodeMsg & { attribute?: AttributeMsg[] })[];
      initializer?: (Omit<TensorMsg, 'raw_data'> & { raw_data?: Uint8Array; dims?: number[] })[];
      input?: DecodedValueInfo[];
      output?: DecodedValueInfo[];
    };
  };
  const initializers = (obj.graph.initializer ?? []).map((t) => {
    if (!t.raw_data)
      throw new Error(`Initializer ${t.name} has no raw_data; only raw tensors are supported.`);
    return { name: t.name, dims: t.dims ?? [], data_type: t.data_type, raw_data: new Uint8Array(t.raw_data) };
  });
  const nodes = (obj.graph.node ?? []).map((n) => ({
    input: n.input ?? [],
    output: n.output ?? [],
    name: n.name ?? '',
    op_type: n.op_type,
    attribute: (n.attribute ?? []).map((a) => ({
      ...a,
      s: a.s && new Uint8Array(a.s),
    })),
    ...(n.domain ? { domain: n.domain } : {}),
  }));
  return {
    opset: obj.opset_import?.find((o) => !o.domain)?.version ?? 0,
    producer: obj.producer_name ?? '',
    graph: {
      name: obj.graph.name ?? '',
      nodes,
      initializers,
      inputs: (obj.graph.input ?? []).map(fromValueInfo),
      outputs: (obj.graph.output ?? []).map(fromValueInfo),
    },
  };
}
