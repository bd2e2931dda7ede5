// The shapes of docs/api.md that the UI reads.

export type JobStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'canceled';

export interface Progress {
  chunksDone: number;
  chunksTotal: number;
  framesDone: number;
  framesTotal: number;
  percent: number;
}

export interface LabelSummary {
  label: string;
  frames: number;
  maxScore: number;
  firstSeen: number;
  lastSeen: number;
  segments: { start: number; end: number }[];
}

export interface Job {
  id: string;
  status: JobStatus;
  video: {
    originalName: string;
    sizeBytes: number;
    sha256?: string;
    probe: {
      formatName?: string;
      durationSec: number;
      video: { codec?: string; width: number; height: number; fps: number; frameCount?: number };
      hasAudio?: boolean;
    } | null;
  };
  options: {
    fps: number | null;
    minScore: number;
    labels: string[] | null;
    model: string;
    callbackUrl: string | null;
  };
  progress: Progress;
  error: string | null;
  summary: null | { labels: LabelSummary[]; framesAnalysed: number };
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}
export interface Detection {
  label: string;
  score: number;
  box: Box;
}
export interface Frame {
  frameIndex: number;
  timestamp: number;
  detections: Detection[];
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export interface User {
  id: string;
  username: string;
  createdAt: string;
}

export const FINISHED: readonly JobStatus[] = ['completed', 'failed', 'canceled'];
export const isFinished = (s: JobStatus): boolean => FINISHED.includes(s);
