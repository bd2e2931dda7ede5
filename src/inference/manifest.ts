/**
 * Model folders: `<dir>/model.json` describes an ONNX model for the registry.
 *
 *   { "name": "yolo11n", "onnx": "model.onnx",
 *     "input": { "width": 640, "height": 640, "layout": "NCHW", "channels": "RGB", "scale": 1,
 *                "mean": [0,0,0], "std": [1,1,1], "resize": "letterbox" },
 *     "decoder": "yolo", "labels": ["person", ...] }       (or "labelsFile": "labels.txt")
 *
 * channels (RGB), scale (1), mean ([0,0,0]), std ([1,1,1]) and resize (stretch) may be left out.
 * Every error is one sentence naming the file and the field.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelInfo, ModelInput, OutputDecoderName } from './types.js';

export const MANIFEST_FILE = 'model.json';
const DECODERS: OutputDecoderName[] = ['yolo', 'end2end', 'rtdetr', 'boxes-labels-scores', 'centernet'];

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export interface ParsedManifest {
  info: ModelInfo;
  /** file name of the ONNX model, relative to the folder */
  onnx: string;
  /** set when labels come from a file that still has to be read */
  labelsFile?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the parsed JSON of a manifest (pure; `file` is only used in messages). */
export function parseManifest(json: unknown, file: string, source: string): ParsedManifest {
  const fail = (field: string, what: string): never => {
    throw new ManifestError(`${file}: field "${field}" ${what}.`);
  };
  if (!isObj(json)) return fail('(root)', 'must be a JSON object');
  const name = json.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][\w.-]{0,63}$/.test(name)) {
    fail('name', 'must be 1 to 64 letters, digits, dots, dashes or underscores');
  }
  const onnx = json.onnx ?? 'model.onnx';
  if (typeof onnx !== 'string' || onnx.includes('..') || onnx.startsWith('/'))
    fail('onnx', 'must be a file name inside the model folder');
  const inp = json.input;
  if (!isObj(inp)) return fail('input', 'must be an object with width, height and layout');
  const dim = (k: 'width' | 'height'): number => {
    const v = inp[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 8192)
      fail(`input.${k}`, 'must be an integer from 1 to 8192');
    return v as number;
  };
  const oneOf = <T extends string | number>(k: string, allowed: T[], dflt?: T): T => {
    const v = inp[k] ?? dflt;
    if (!allowed.includes(v as T))
      fail(`input.${k}`, `must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`);
    return v as T;
  };
  const triple = (k: 'mean' | 'std', dflt: number): [number, number, number] => {
    const v = inp[k] ?? [dflt, dflt, dflt];
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      fail(`input.${k}`, 'must be an array of 3 numbers');
    }
    if (k === 'std' && (v as number[]).some((x) => x === 0)) fail('input.std', 'must not contain 0');
    return v as [number, number, number];
  };
  const input: ModelInput = {
    width: dim('width'),
    height: dim('height'),
    layout: oneOf('layout', ['NCHW', 'NHWC']),
    channels: oneOf('channels', ['RGB', 'BGR'], 'RGB'),
    scale: oneOf<1 | 255>('scale', [1, 255], 1),
    mean: triple('mean', 0),
    std: triple('std', 1),
    resize: oneOf('resize', ['stretch', 'letterbox'], 'stretch'),
  };
  const decoder = json.decoder as OutputDecoderName;
  if (!DECODERS.includes(decoder)) fail('decoder', `must be one of ${DECODERS.join(', ')}`);
  let labels: string[] = [];
  let labelsFile: string | undefined;
  if (json.labels !== undefined) {
    if (
      !Array.isArray(json.labels) ||
      json.labels.length === 0 ||
      json.labels.some((l) => typeof l !== 'string')
    ) {
      fail('labels', 'must be a non-empty array of strings');
    }
    labels = json.labels as string[];
  } else if (typeof json.labelsFile === 'string' && !json.labelsFile.includes('..')) {
    labelsFile = json.labelsFile;
  } else {
    fail('labels', 'is missing (give "labels" or "labelsFile")');
  }
  return { info: { name: name as string, labels, input, decoder, source }, onnx: onnx as string, labelsFile };
}

/** One label per non-empty line. */
export function parseLabelsFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Reads and validates `<dir>/model.json`; returns the model and the absolute ONNX path. */
export async function loadModelManifest(
  dir: string,
  source = dir,
): Promise<{ info: ModelInfo; onnxPath: string }> {
  const file = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ManifestError(`${file}: cannot be read as JSON (${(err as Error).message}).`);
  }
  const parsed = parseManifest(json, file, source);
  if (parsed.labelsFile) {
    const lf = join(dir, parsed.labelsFile);
    let text: string;
    try {
      text = await readFile(lf, 'utf8');
    } catch {
      throw new ManifestError(
        `${file}: field "labelsFile" names ${parsed.labelsFile}, which cannot be read.`,
      );
    }
    parsed.info.labels = parseLabelsFile(text);
    if (parsed.info.labels.length === 0)
      throw new ManifestError(`${file}: field "labelsFile" names an empty file.`);
  }
  const onnxPath = join(dir, parsed.onnx);
  if (!existsSync(onnxPath))
    throw new ManifestError(`${file}: field "onnx" names ${parsed.onnx}, which does not exist.`);
  return { info: parsed.info, onnxPath };
}
