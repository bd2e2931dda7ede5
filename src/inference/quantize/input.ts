/**
 * A quantized model whose float input is quantized with scale 1 and zero point 0 reads the same
 * numbers from uint8 directly: pixels 0..255 are their own uint8 codes. Giving such a model a
 * uint8 input removes that QuantizeLinear from the model and the float conversion from the
 * caller (the detector passes the RGB24 bytes as they are, a quarter of the float tensor's size).
 */
import { DataType, type GraphMsg, type TensorMsg } from '../onnx/proto.js';

function scalar(t: TensorMsg | undefined): number | undefined {
  if (t?.dims.length !== 0) return undefined;
  const b = new Uint8Array(t.raw_data);
  if (t.data_type === DataType.FLOAT && b.byteLength === 4) return new Float32Array(b.buffer)[0];
  if (t.data_type === DataType.UINT8 && b.byteLength === 1) return b[0];
  return undefined;
}

/**
 * The graph with its (only) float input made uint8. Every reader of the input must be a
 * QuantizeLinear with scale 1 and uint8 zero point 0; they are removed and their readers read the
 * input. Throws a sentence when the graph does not have that form.
 */
export function withUint8Input(g: GraphMsg): GraphMsg {
  if (g.inputs.length !== 1 || g.inputs[0].elemType !== DataType.FLOAT)
    throw new Error('Only a graph with one float input can take uint8 input.');
  const input = g.inputs[0].name;
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const readers = g.nodes.filter((n) => n.input.includes(input));
  const identity = (n: (typeof readers)[number]) =>
    n.op_type === 'QuantizeLinear' &&
    n.input[0] === input &&
    scalar(inits.get(n.input[1])) === 1 &&
    inits.get(n.input[2])?.data_type === DataType.UINT8 &&
    scalar(inits.get(n.input[2])) === 0;
  if (readers.length === 0 || !readers.every(identity))
    throw new Error(`The input ${input} is not quantized with scale 1 and zero point 0 by every reader.`);
  const replaced = new Map(readers.map((n) => [n.output[0], input]));
  const nodes = g.nodes
    .filter((n) => !readers.includes(n))
    .map((n) => ({ ...n, input: n.input.map((i) => replaced.get(i) ?? i) }));
  const read = new Set(nodes.flatMap((n) => n.input));
  return {
    ...g,
    nodes,
    initializers: g.initializers.filter((t) => read.has(t.name)),
    inputs: [{ ...g.inputs[0], elemType: DataType.UINT8 }],
  };
}
