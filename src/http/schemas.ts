import { type Static, Type } from '@sinclair/typebox';

/** Shared TypeBox schemas of the v1 API (docs/api.md). */

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'ErrorBody', description: 'Every error: a SNAKE_CASE code and one sentence.' },
);

export const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, Type.Ref('ErrorBody')])) as Record<
    number,
    ReturnType<typeof Type.Ref>
  >;

export const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  username: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const Credentials = Type.Object(
  {
    username: Type.String({ minLength: 3, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
    password: Type.String({ minLength: 8, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type CredentialsT = Static<typeof Credentials>;

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

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const JobStatus = Type.Union(
  ['queued', 'processing', 'completed', 'failed', 'canceled'].map((s) => Type.Literal(s)),
);

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

export const Summary = Type.Object(
  {
    labels: Type.Array(
      Type.Object({
        label: Type.String(),
        frames: Type.Integer(),
        maxScore: Type.Number(),
        firstSeen: Type.Number(),
        lastSeen: Type.Number(),
        segments: Type.Array(Type.Object({ start: Type.Number(), end: Type.Number() })),
      }),
    ),
    framesAnalysed: Type.Integer(),
  },
  { additionalProperties: true },
);

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
    options: Type.Object({
      fps: Nullable(Type.Number()),
      minScore: Type.Number(),
      labels: Nullable(Type.Array(Type.String())),
      model: Type.String(),
      callbackUrl: Nullable(Type.String()),
    }),
    progress: Type.Object({
      chunksDone: Type.Integer(),
      chunksTotal: Type.Integer(),
      framesDone: Type.Integer(),
      framesTotal: Type.Integer(),
      percent: Type.Number(),
    }),
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

export const JobEnvelope = Type.Object({ job: Type.Ref('Job') });

export const JobIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ListJobsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
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
  minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0.25 })),
  labels: Type.Optional(Type.String({ description: 'comma-separated label names (or the field repeated)' })),
  model: Type.Optional(Type.String({ default: 'centernet' })),
  callbackUrl: Type.Optional(Type.String({ format: 'uri' })),
});
