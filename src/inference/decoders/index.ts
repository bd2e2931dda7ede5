import type { OutputDecoderName } from '../types.js';
import { decodeBoxesLabelsScores } from './boxes-labels-scores.js';
import { decodeCenternet } from './centernet.js';
import type { Decoder } from './common.js';
import { decodeEnd2End } from './end2end.js';
import { decodeRtdetr } from './rtdetr.js';
import { decodeYolo } from './yolo.js';

export type { DecodeContext, Decoder, OutputTensor } from './common.js';

export const DECODERS: Record<OutputDecoderName, Decoder> = {
  yolo: decodeYolo,
  end2end: decodeEnd2End,
  rtdetr: decodeRtdetr,
  'boxes-labels-scores': decodeBoxesLabelsScores,
  centernet: decodeCenternet,
};

/** Whether the decoder can take a batch > 1 in one run (torchvision-style exports are per image). */
export function decoderSupportsBatch(name: OutputDecoderName): boolean {
  return name !== 'boxes-labels-scores';
}
