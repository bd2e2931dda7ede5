// The API's types, imported from the server's schemas (src/api/schemas.ts): the UI declares none
// of its own, so a change to the API shows up here as a type error. `import type` only: the
// bundle carries no TypeBox.
import type { JobStatus } from '../../src/api/schemas.js';

export type {
  Box,
  CreateRenderBody,
  Detection,
  Frame,
  FramesPage,
  Job,
  JobList,
  JobStatus,
  LabelSummary,
  Model,
  ModelList,
  Progress,
  ProgressEvent,
  Render,
  RenderCreated,
  RenderEnvelope,
  StatusEvent,
  ThumbnailUrl,
  TokenPair,
  Track,
  TracksPage,
  User,
  UserEnvelope,
  VideoUrl,
} from '../../src/api/schemas.js';

export const FINISHED: readonly JobStatus[] = ['completed', 'failed', 'canceled'];
export const isFinished = (s: JobStatus): boolean => FINISHED.includes(s);
