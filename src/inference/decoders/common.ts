import type { RawDetection } from '../nms.js';
import type { ModelInput } from '../types.js';

export type { RawDetection };

export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Uint16Array;

/** One model output as ONNX Runtime returns it. */
export interface OutputTensor {
  name: string;
  dims: readonly number[];
  data: TensorData;
}

export interface DecodeContext {
  input: Pick<ModelInput, 'width' | 'height'>;
  /** number of class labels the manifest declares */
  numClasses: number;
  /** frames in this run */
  batch: number;
  /** candidates below this score are skipped early (postprocess filters again) */
  minScore: number;
}

/** Returns one list of raw detections (model-input pixels) per frame. */
export type Decoder = (outputs: OutputTensor[], ctx: DecodeContext) => RawDetection[][];

export function toNumbers(data: TensorData): ArrayLike<number> {
  return data instanceof BigInt64Array ? Array.from(data, Number) : data;
}

export function shapeError(decoder: string, t: OutputTensor, expected: string): Error {
  return new Error(
    `The ${decoder} decoder expects output ${t.name} shaped ${expected}, got [${t.dims.join(', ')}].`,
  );
}
