import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * The v1 API contract (docs/api.md) as TypeBox schemas: the one source of every API type.
 * The routes validate and serialise with these schemas and publish them in /openapi.json, the
 * services return `Static<>` of them, and the web UI imports the same types (type-only, so the
 * bundle carries no TypeBox). A field added here reaches all three at once.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Defaults of a job's options, shared by the jobs service, POST /v1/detect and the CLI. */
export const DEFAULT_MODEL = 'centernet';
export const DEFAULT_MIN_SCORE = 0.25;

// ---- errors ----

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'ErrorBody', description: 'Every error: a SNAKE_CASE code and one sentence.' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Response entries for error statuses, all pointing at the shared ErrorBody component. */
export const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, Type.Ref('ErrorBody')])) as Record<
    number,
    ReturnType<typeof Type.Ref>
  >;

// ---- accounts ----

export const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  username: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type User = Static<typeof User>;

export const UserEnvelope = Type.Object({ user: User });
export type UserEnvelope = Static<typeof UserEnvelope>;

/** The password policy's length (the auth service adds: 5+ different characters, not the username). */
export const PASSWORD_MIN_LENGTH = 12;

export const Credentials = Type.Object(
  {
    username: Type.String({
      minLength: 3,
      maxLength: 64,
      pattern: '^[A-Za-z0-9_.-]+$',
      description: 'unique without regard to case',
    }),
    password: Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type Credentials = Static<typeof Credentials>;

/** Login takes any strings within bounds: a username that could never register just fails. */
export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

export const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
});
export type TokenPair = Static<typeof TokenPair>;

// ---- API keys (for scripts) ----

export const API_KEY_SCOPES = ['read', 'write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export const ApiKeyScopeSchema = Type.Union([Type.Literal('read'), Type.Literal('write')]);

export const ApiKey = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  scopes: Type.Array(ApiKeyScopeSchema),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Nullable(Type.String({ format: 'date-time' })),
});
export type ApiKey = Static<typeof ApiKey>;

export const CreateApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    scopes: Type.Array(ApiKeyScopeSchema, { minItems: 1, maxItems: 2, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>;

export const ApiKeyCreated = Type.Object({
  apiKey: ApiKey,
  key: Type.String({ description: 'the key itself: shown once, never again' }),
});
export type ApiKeyCreated = Static<typeof ApiKeyCreated>;

export const ApiKeyList = Type.Object({ apiKeys: Type.Array(ApiKey) });
export type ApiKeyList = Static<typeof ApiKeyList>;

export const ApiKeyIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

// ---- jobs ----

export const JOB_STATUSES = ['queued', 'processing', 'completed', 'failed', 'canceled'] as const;
export const JobStatus = Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)));
export type JobStatus = (typeof JOB_STATUSES)[number];

export const Probe = Type.Object(
  {
    formatName: Type.String(),
    durationSec: Type.Number(),
    video: Type.Object(
      {
        codec: Type.String(),
        width: Type.Integer(),
        height: Type.Integer(),
        fps: Type.Number(),
        frameCount: Type.Integer(),
      },
      { additionalProperties: true },
    ),
    hasAudio: Type.Boolean(),
  },
  { additionalProperties: true },
);
export type Probe = Static<typeof Probe>;

export const LabelSummary = Type.Object({
  label: Type.String(),
  frames: Type.Integer(),
  maxScore: Type.Number(),
  firstSeen: Type.Number(),
  lastSeen: Type.Number(),
  segments: Type.Array(Type.Object({ start: Type.Number(), end: Type.Number() })),
});
export type LabelSummary = Static<typeof LabelSummary>;

export const Summary = Type.Object(
  { labels: Type.Array(LabelSummary), framesAnalysed: Type.Integer() },
  { additionalProperties: true },
);
export type Summary = Static<typeof Summary>;

export const JobOptions = Type.Object({
  fps: Nullable(Type.Number()),
  minScore: Type.Number(),
  labels: Nullable(Type.Array(Type.String())),
  model: Type.String(),
  callbackUrl: Nullable(Type.String()),
});
export type JobOptions = Static<typeof JobOptions>;

export const Progress = Type.Object({
  chunksDone: Type.Integer(),
  chunksTotal: Type.Integer(),
  framesDone: Type.Integer(),
  framesTotal: Type.Integer(),
  /** planned frames that could not be decoded (dropped, corrupt, a decoder crash): reported, not fatal */
  framesSkipped: Type.Integer(),
  percent: Type.Number({ minimum: 0, maximum: 100 }),
});
export type Progress = Static<typeof Progress>;

export const Job = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    status: JobStatus,
    video: Type.Object({
      originalName: Type.String(),
      sizeBytes: Type.Integer(),
      sha256: Type.String(),
      probe: Probe,
    }),
    options: JobOptions,
    progress: Progress,
    error: Nullable(Type.String()),
    /** why frames were skipped, one sentence per chunk that skipped some (empty when none) */
    warnings: Type.Array(Type.String()),
    summary: Nullable(Summary),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    startedAt: Nullable(Type.String({ format: 'date-time' })),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
    /** when RETENTION_DAYS is set: when the finished job and its video will be deleted */
    expiresAt: Nullable(Type.String({ format: 'date-time' })),
    /** the client's own label, given at upload */
    tag: Nullable(Type.String()),
    links: Type.Object({ self: Type.String(), detections: Type.String(), events: Type.String() }),
  },
  { $id: 'Job' },
);
export type Job = Static<typeof Job>;

/** `{ job }`: refers to the shared Job component (registered once with app.addSchema). */
export const JobEnvelope = Type.Object({ job: Type.Ref('Job') });
export type JobEnvelope = { job: Job };

export const JobList = Type.Object({
  jobs: Type.Array(Type.Ref('Job')),
  nextCursor: Nullable(Type.String()),
});
export type JobList = { jobs: Job[]; nextCursor: string | null };

export const JobIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ListJobsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    q: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'only jobs whose file name contains this (case-insensitive)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** The multipart body of POST /v1/jobs, for the OpenAPI document only (not validated by Fastify). */
export const CreateJobMultipart = Type.Object({
  video: Type.String({ format: 'binary', description: 'the video file' }),
  fps: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 120,
      description: 'frames per second to analyse; absent = every frame',
    }),
  ),
  minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: DEFAULT_MIN_SCORE })),
  labels: Type.Optional(Type.String({ description: 'comma-separated label names (or the field repeated)' })),
  model: Type.Optional(Type.String({ default: DEFAULT_MODEL })),
  callbackUrl: Type.Optional(Type.String({ format: 'uri' })),
  tag: Type.Optional(
    Type.String({ maxLength: 100, description: 'your own label for the job, echoed in it and its callback' }),
  ),
});

export const IDEMPOTENCY_KEY_MAX = 255;

/** The headers POST /v1/jobs reads. */
export const CreateJobHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_MAX,
      pattern: '^[\\x21-\\x7e]+$',
      description:
        'the same key from the same user within 24 h returns the first job (200) instead of making another',
    }),
  ),
});

// ---- job events (Server-Sent Events on /v1/jobs/:id/events) ----

/** `event: progress`, sent whenever status or progress changes. */
export const ProgressEvent = Type.Object({ status: JobStatus, progress: Progress });
export type ProgressEvent = Static<typeof ProgressEvent>;

/** `event: status`, sent once when the job has finished (or was deleted); the stream then ends. */
export const StatusEvent = Type.Object({
  status: Type.Union([JobStatus, Type.Literal('deleted')]),
  error: Nullable(Type.String()),
});
export type StatusEvent = Static<typeof StatusEvent>;

/**
 * `event: expired`, sent when the access token the stream was opened with expires; the stream
 * then ends. Reconnect with a fresh token (an EventSource would otherwise retry with the old one).
 */
export const ExpiredEvent = Type.Object({ message: Type.String() });
export type ExpiredEvent = Static<typeof ExpiredEvent>;

// ---- callback deliveries ----

export const Delivery = Type.Object({
  id: Type.String({ format: 'uuid' }),
  attemptedAt: Type.String({ format: 'date-time' }),
  attempt: Type.Integer({ minimum: 1 }),
  statusCode: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  durationMs: Type.Integer({ minimum: 0 }),
  succeeded: Type.Boolean(),
});
export type Delivery = Static<typeof Delivery>;

export const DeliveryList = Type.Object({ deliveries: Type.Array(Delivery) });
export type DeliveryList = Static<typeof DeliveryList>;

export const RedeliverResult = Type.Object({ queued: Type.Literal(true) });
export type RedeliverResult = Static<typeof RedeliverResult>;

// ---- detections ----

export const Box = Type.Object({
  x1: Type.Number(),
  y1: Type.Number(),
  x2: Type.Number(),
  y2: Type.Number(),
});
export type Box = Static<typeof Box>;

export const Detection = Type.Object({ label: Type.String(), score: Type.Number(), box: Box });
export type Detection = Static<typeof Detection>;

export const Frame = Type.Object({
  frameIndex: Type.Integer(),
  timestamp: Type.Number({ description: 'seconds from the start of the video' }),
  detections: Type.Array(Detection),
});
export type Frame = Static<typeof Frame>;

export const FramesPage = Type.Object({ frames: Type.Array(Frame), nextCursor: Nullable(Type.String()) });
export type FramesPage = Static<typeof FramesPage>;

export const LabelsFrame = Type.Object({
  frameIndex: Type.Integer(),
  timestamp: Type.Number(),
  labels: Type.Array(Type.Tuple([Type.String(), Type.Number()])),
});
export type LabelsFrame = Static<typeof LabelsFrame>;

export const LabelsPage = Type.Object({
  frames: Type.Array(LabelsFrame),
  nextCursor: Nullable(Type.String()),
});
export type LabelsPage = Static<typeof LabelsPage>;

export const DetectionsQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Integer({ minimum: 1, maximum: 5000, default: 100 }),
    from: Type.Optional(Type.Number({ minimum: 0, description: 'seconds, inclusive' })),
    to: Type.Optional(Type.Number({ minimum: 0, description: 'seconds, inclusive' })),
    label: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description: 'a label, or several comma-separated: frames with any of them, only their detections',
      }),
    ),
    minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    format: Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('labels')], {
      default: 'json',
    }),
  },
  { additionalProperties: false },
);

// ---- the job's video ----

export const VideoUrl = Type.Object({
  url: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
});
export type VideoUrl = Static<typeof VideoUrl>;

/** `GET /v1/jobs/:id/thumbnail-url`: which frame, how wide. */
export const ThumbnailQuery = Type.Object(
  {
    t: Type.Optional(
      Type.Number({
        minimum: 0,
        description: 'seconds from the start of the video (default 0: the first frame)',
      }),
    ),
    width: Type.Optional(Type.Integer({ minimum: 16, maximum: 640, description: 'pixels (default 160)' })),
  },
  { additionalProperties: false },
);

/** A signed link to a job's thumbnail JPEG (same shape as VideoUrl). */
export const ThumbnailUrl = Type.Object({
  url: Type.String({
    description: '/v1/media/<jobId>/thumbnail?t&width&exp&sig: no Authorization header needed',
  }),
  expiresAt: Type.String({ format: 'date-time' }),
});
export type ThumbnailUrl = Static<typeof ThumbnailUrl>;

export const MediaIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const MediaQuery = Type.Object({
  exp: Type.Optional(Type.String({ maxLength: 32 })),
  sig: Type.Optional(Type.String({ maxLength: 128 })),
});

export const MediaThumbnailQuery = Type.Object({
  t: Type.Optional(Type.Number({ minimum: 0 })),
  width: Type.Optional(Type.Integer({ minimum: 16, maximum: 640 })),
  exp: Type.Optional(Type.String({ maxLength: 32 })),
  sig: Type.Optional(Type.String({ maxLength: 128 })),
});

// ---- models and single images ----

export const Model = Type.Object({
  name: Type.String(),
  labels: Type.Array(Type.String()),
  input: Type.Object({
    width: Type.Integer(),
    height: Type.Integer(),
    layout: Type.String(),
    resize: Type.String(),
  }),
  decoder: Type.String(),
  source: Type.String(),
});
export type Model = Static<typeof Model>;

export const ModelList = Type.Object({ models: Type.Array(Model) });
export type ModelList = Static<typeof ModelList>;

export const DetectResult = Type.Object({
  model: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  detections: Type.Array(Detection),
});
export type DetectResult = Static<typeof DetectResult>;

/** The multipart body of POST /v1/detect, for the OpenAPI document only. */
export const DetectMultipart = Type.Object({
  image: Type.String({ format: 'binary', description: 'a JPEG, PNG or WebP image' }),
  minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: DEFAULT_MIN_SCORE })),
  labels: Type.Optional(Type.String({ description: 'comma-separated labels to keep' })),
  model: Type.Optional(Type.String({ default: DEFAULT_MODEL })),
});

// ---- operations ----

export const Health = Type.Object({ status: Type.Literal('ok') });

const Check = Type.Union([Type.Literal('ok'), Type.String()]);
export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({ database: Check, queue: Check }),
});
export type Readiness = Static<typeof Readiness>;

/** Schemas registered once on the app so that `Type.Ref('<$id>')` resolves (and OpenAPI has components). */
export const SHARED_SCHEMAS = [ErrorBody, Job] as const;
