import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Timestamps come back as Date from both drivers; we write Date or ISO strings. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** Has a database default (now()); the app usually sets it so values keep millisecond precision. */
export type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
/** jsonb: read as parsed JSON, written as a JSON string (pg would turn JS arrays into SQL arrays). */
export type Json<T> = ColumnType<T, string, string>;
export type NullableJson<T> = ColumnType<T | null, string | null, string | null>;
/** bigint: pg returns int8 as a string, PGlite as a number or bigint. */
export type BigIntColumn = ColumnType<string | number | bigint, number, number>;

import type { JobStatus } from '../api/schemas.js';

export { JOB_STATUSES, type JobStatus } from '../api/schemas.js';

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  created_at: GeneratedTimestamp;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  replaced_by: string | null;
  created_at: GeneratedTimestamp;
}

export interface JobsTable {
  id: string;
  user_id: string;
  status: JobStatus;
  video_key: string;
  original_name: string;
  size_bytes: BigIntColumn;
  sha256: string;
  probe: Json<unknown>;
  options: Json<unknown>;
  chunks_total: Generated<number>;
  chunks_done: Generated<number>;
  frames_total: Generated<number>;
  frames_done: Generated<number>;
  error: string | null;
  summary: NullableJson<unknown>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  /** the client's own label for the job (migration 0004) */
  tag: ColumnType<string | null, string | null | undefined, string | null>;
  /** planned frames that could not be decoded, recounted from job_chunks (migration 0006) */
  frames_skipped: Generated<number>;
  /** JSON array of sentences: why frames were skipped (migration 0006) */
  warnings: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface JobChunksTable {
  job_id: string;
  chunk_index: number;
  start_sec: number;
  end_sec: number;
  start_frame: number;
  frame_count: number;
  status: Generated<string>;
  attempts: Generated<number>;
  frames_done: Generated<number>;
  /** planned frames of the chunk that did not decode, and why (migration 0006) */
  frames_skipped: Generated<number>;
  skip_reason: ColumnType<string | null, string | null | undefined, string | null>;
  sample: ColumnType<unknown, string | null | undefined, string | null>;
  error: string | null;
  updated_at: GeneratedTimestamp;
}

export interface FramesTable {
  job_id: string;
  frame_index: number;
  timestamp: number;
  detections: Json<unknown>;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  scopes: Json<string[]>;
  secret_hash: string;
  created_at: GeneratedTimestamp;
  last_used_at: NullableTimestamp;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  fingerprint: string;
  job_id: string | null;
  created_at: GeneratedTimestamp;
}

export interface DeliveriesTable {
  id: string;
  job_id: string;
  attempted_at: Timestamp;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  succeeded: boolean;
}

export interface Database {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  jobs: JobsTable;
  job_chunks: JobChunksTable;
  frames: FramesTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  deliveries: DeliveriesTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type JobRow = Selectable<JobsTable>;
