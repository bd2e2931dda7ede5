/**
 * `centernet-int8`: the default model with int8 weights and activations (QDQ, see qdq.ts), made
 * from the converted fp32 model and a calibration table committed with the code
 * (models/calibration/centernet-int8.json, written by scripts/calibrate-int8.ts from the fixture
 * photos and frames of sample clips). Building it needs no frames and takes about a second, so it
 * happens on first use and is cached beside the fp32 model, keyed by a hash of the fp32 model,
 * the table and the quantizer version.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CENTERNET_INFO } from '../convert/default-model.js';
import { ensureDerivedModel } from '../convert/variants.js';
import { decodeGraph, encodeModel, type GraphMsg } from '../onnx/proto.js';
import type { ModelInfo } from '../types.js';
import { applyEqualization, equalizationGroups } from './equalize.js';
import { withUint8Input } from './input.js';
import { activationsToQuantize, type QuantizeOptions, quantizeGraph, type TensorRange } from './qdq.js';

/** Bump when the quantized graph changes for the same inputs, to invalidate caches. */
export const QUANTIZER_VERSION = '1';
export const INT8_MODEL_NAME = 'centernet-int8';
export const INT8_MODEL_FILE = 'centernet-int8.onnx';
export const CALIBRATION_FILE = fileURLToPath(
  new URL('../../../models/calibration/centernet-int8.json', import.meta.url),
);

export const CENTERNET_INT8_INFO: ModelInfo = { ...CENTERNET_INFO, name: INT8_MODEL_NAME };

export interface CalibrationTable {
  /** sha256 of the fp32 ONNX bytes the ranges were measured on */
  fp32Sha256: string;
  /** channel scales per equalization group (equalize.ts), applied before quantizing */
  equalization: Record<string, number[]>;
  /** which of `ranges` the model uses */
  method: string;
  /** ranges are widened by this factor (frames calibration did not see reach beyond them) */
  margin: number;
  /** tensors left float: those whose quantization alone hurt the output most */
  keepFloat: string[];
  /** the frames it saw ("vtest.avi#120", "chelsea.png") */
  frames: string[];
  /** per method ("minmax", "p99.99", ...): tensor name → range */
  ranges: Record<string, Record<string, TensorRange>>;
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The tensors calibration must measure for this (equalized) fp32 graph: all it could quantize. */
export function calibrationTargets(graph: GraphMsg): string[] {
  return activationsToQuantize(graph);
}

/** Ranges widened by `margin` around zero (both ends scaled). */
export function withMargin(ranges: Record<string, TensorRange>, margin: number): Record<string, TensorRange> {
  return Object.fromEntries(
    Object.entries(ranges).map(([k, r]) => [k, { min: r.min * margin, max: r.max * margin }]),
  );
}

/**
 * How far equalization moves each channel toward the largest (equalize.ts): all the way where
 * only depthwise convolutions read the group (free for their per-channel weights), halfway in
 * log scale where a full convolution does (its weight columns pay for it).
 */
export const EQUALIZATION_ALPHA = { depthwiseReaders: 1, otherReaders: 0.5 };

/** The fp32 graph with the table's channel equalization applied. */
export function equalizedGraph(graph: GraphMsg, equalization: Record<string, number[]>): GraphMsg {
  return applyEqualization(graph, equalizationGroups(graph), equalization);
}

/**
 * The int8 model's bytes. The input's range is the pixel range 0..255 by definition (not
 * measured), so the model can take the RGB24 bytes as uint8 input (see input.ts).
 */
export function buildInt8Model(
  fp32: Uint8Array,
  table: CalibrationTable,
  override: Partial<Pick<CalibrationTable, 'method' | 'margin' | 'keepFloat'>> = {},
): Uint8Array {
  const { method, margin, keepFloat } = { ...table, ...override };
  const decoded = decodeGraph(fp32);
  const { opset } = decoded;
  const graph = equalizedGraph(decoded.graph, table.equalization);
  const ranges = table.ranges[method];
  if (!ranges) throw new Error(`The calibration table has no ranges for method ${method}.`);
  const input = graph.inputs[0].name;
  const opts: QuantizeOptions = { keepFloat };
  // The margin also widens the hard-swish and squeeze-excite gates past their Clip bound, so ONNX
  // Runtime keeps those small gate convolutions (and the Clip) in float. On the validation frames
  // that is what holds agreement at 0.89 rather than 0.39 (clamping the gates to their bounds,
  // which makes all of them integer, was tried); why the integer gates hurt so much is not known.
  const q = quantizeGraph(graph, { ...withMargin(ranges, margin), [input]: { min: 0, max: 255 } }, opts);
  return encodeModel(withUint8Input(q), {
    opset,
    producer: `web-detector int8 quantizer v${QUANTIZER_VERSION} (${method} x${margin}, ${keepFloat.length} float)`,
  });
}

export async function loadCalibrationTable(file = CALIBRATION_FILE): Promise<CalibrationTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      `The int8 calibration table ${file} is missing: run node --import tsx scripts/calibrate-int8.ts.`,
    );
  }
  return JSON.parse(text) as CalibrationTable;
}

/**
 * Makes sure `<cacheDir>/centernet-int8.onnx` exists and matches the fp32 model and the table;
 * builds it (about a second) if missing or stale. A table measured on another fp32 model is
 * refused with a sentence saying how to measure it again.
 */
export async function ensureInt8Model(cacheDir: string, opts: { tableFile?: string } = {}): Promise<string> {
  const tableFile = opts.tableFile ?? CALIBRATION_FILE;
  const table = await loadCalibrationTable(tableFile);
  const version = `${QUANTIZER_VERSION}:${sha256(await readFile(tableFile))}`;
  return ensureDerivedModel(cacheDir, INT8_MODEL_FILE, version, (fp32) => {
    if (table.fp32Sha256 !== sha256(fp32)) {
      throw new Error(
        'The int8 calibration table was measured on another version of the default model: run node --import tsx scripts/calibrate-int8.ts to measure it again.',
      );
    }
    return buildInt8Model(fp32, table);
  });
}
