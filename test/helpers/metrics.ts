/** The value of one sample (`name{labels}`, written as Prometheus prints it) in a metrics text, or undefined. */
export function metricValue(text: string, sample: string): number | undefined {
  const escaped = sample.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const hit = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return hit ? Number(hit[1]) : undefined;
}
