// What this server offers beyond the core API, read once from /openapi.json, so the UI shows
// the parts that issue 11 adds (tracks, exports, annotated video) only where they exist. A server
// without them, or an /openapi.json that cannot be read, shows the core UI only.

export interface Features {
  /** GET /v1/jobs/{id}/tracks */
  tracks: boolean;
  /** GET /v1/jobs/{id}/export: the `format` values it takes (empty: no exports) */
  exportFormats: string[];
  /** POST /v1/jobs/{id}/renders */
  renders: boolean;
}

const NONE: Features = { tracks: false, exportFormats: [], renders: false };

interface OpenApiDoc {
  paths?: Record<
    string,
    Record<
      string,
      {
        parameters?: {
          name?: string;
          in?: string;
          schema?: { enum?: unknown[]; anyOf?: { const?: unknown; enum?: unknown[] }[] };
        }[];
      }
    >
  >;
}

/** Pure: the features an OpenAPI document describes. */
export function featuresOf(doc: OpenApiDoc): Features {
  const paths = doc.paths ?? {};
  const path = (p: string) => paths[p] ?? paths[p.replace('{id}', ':id')];
  const exp = path('/v1/jobs/{id}/export')?.get;
  const fmt = exp?.parameters?.find((p) => p.name === 'format' && p.in === 'query')?.schema;
  const formats = [
    ...(fmt?.enum ?? []),
    ...(fmt?.anyOf ?? []).flatMap((s) => (s.const !== undefined ? [s.const] : (s.enum ?? []))),
  ].filter((v): v is string => typeof v === 'string');
  return {
    tracks: Boolean(path('/v1/jobs/{id}/tracks')?.get),
    exportFormats: exp ? [...new Set(formats)] : [],
    renders: Boolean(path('/v1/jobs/{id}/renders')?.post),
  };
}

let cached: Promise<Features> | null = null;

export function features(): Promise<Features> {
  cached ??= fetch('/openapi.json')
    .then((r) => (r.ok ? r.json() : {}))
    .then((doc: OpenApiDoc) => featuresOf(doc))
    .catch(() => NONE);
  return cached;
}
