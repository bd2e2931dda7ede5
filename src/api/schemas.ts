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

export const Credentials = Type.Object(
  {
    username: Type.String({ minLength: 3, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
    password: Type.String({ minLength: 8, maxLength: 256 }),
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
    summary: Nullable(Summary),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    startedAt: Nullable(Type.String({ format: 'date-time' })),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
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
