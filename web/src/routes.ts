// The pages and their URLs (pure): #/ is the jobs list, #/jobs/<id>?<review state> a job.

export type Route = { page: 'jobs' } | { page: 'job'; id: string; query: URLSearchParams };

/** A hash like #/jobs/<id>?labels=a is the job page with its query; anything else the list. */
export function parseRoute(hash: string): Route {
  const m = /^#\/jobs\/([^/?]+)(?:\?(.*))?$/.exec(hash);
  if (!m) return { page: 'jobs' };
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return { page: 'jobs' };
  }
  return { page: 'job', id, query: new URLSearchParams(m[2] ?? '') };
}
