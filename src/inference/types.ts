/**
 * The contract between the detection engine and the rest of the service.
 *
 * Frames reach a detector already resized to the model's input size by ffmpeg (in C, see
 * src/media), as packed RGB24 bytes (width * height * 3). Resizing follows the model's
 * `input.resize` mode: `stretch` scales the whole frame to width x height; `letterbox` scales it
 * keeping the aspect ratio and pads it centred with grey (114). The detector turns those bytes into
 * the model's tensor (layout, channel order, value scale, mean/std), runs it, decodes the outputs
 * and maps boxes back to the ORIGINAL frame's pixels.
 */

export type ResizeMode = 'stretch' | 'letterbox';

export interface ModelInput {
  width: number;
  height: number;
  layout: 'NCHW' | 'NHWC';
  channels: 'RGB' | 'BGR';
  /** pixel value range the model expects before mean/std: 1 means 0..1, 255 means 0..255 */
  scale: 1 | 255;
  mean: [number, number, number];
  std: [number, number, number];
  resize: ResizeMode;
}

export type OutputDecoderName = 'yolo' | 'end2end' | 'rtdetr' | 'boxes-labels-scores' | 'centernet';

export interface ModelInfo {
  /** stable id used by the API (`model` option) */
  name: string;
  labels: string[];
  input: ModelInput;
  decoder: OutputDecoderName;
  /** where it came from: 'bundled' or the folder under MODELS_DIR */
  source: string;
}

/** A box in pixels of the original (un-resized) frame. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Detection {
  label: string;
  classId: number;
  score: number;
  box: Box;
}

export interface DetectOptions {
  /** drop detections scoring below this (default 0.25) */
  minScore?: number;
  /** keep only these labels (default: all) */
  labels?: string[];
  /** cap per frame after NMS (default 100) */
  maxDetections?: number;
  /** IoU threshold for class-aware NMS (default 0.45) */
  iouThreshold?: number;
}

export interface FrameSize {
  width: number;
  height: number;
}

export interface Detector {
  readonly model: ModelInfo;
  /**
   * Detect objects in a batch of frames. Each frame is RGB24 at model.input width x height,
   * resized from an original of `original` size (the same for the whole batch). Returns one list
   * of detections per frame, boxes in original pixels.
   */
  detect(frames: Uint8Array[], original: FrameSize, options?: DetectOptions): Promise<Detection[][]>;
  close(): Promise<void>;
}
