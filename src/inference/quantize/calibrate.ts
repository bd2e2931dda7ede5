/**
 * Activation ranges for static quantization, from tensors observed on calibration frames.
 *
 * Two passes over the same frames: the first records each tensor's minimum and maximum, the
 * second fills a histogram over that interval, from which `percentile` ranges cut the rare
 * extreme values (one outlier pixel would otherwise stretch the uint8 grid for the whole tensor).
 * `minmax` uses the first pass alone. Pure: callers feed Float32Arrays.
 */
import type { TensorRange } from './qdq.js';

export type CalibrationMethod = 'minmax' | 'percentile';

export const HISTOGRAM_BINS = 2048;

interface TensorStats {
  min: number;
  max: number;
  histogram?: Float64Array;
}

export class RangeCollector {
  private readonly stats = new Map<string, TensorStats>();
  private pass: 1 | 2 = 1;

  /** Pass 1: minimum and maximum. */
  observe(name: string, data: Float32Array): void {
    if (this.pass !== 1) throw new Error('observe() belongs to the first pass.');
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const s = this.stats.get(name);
    if (!s) this.stats.set(name, { min: lo, max: hi });
    else {
      s.min = Math.min(s.min, lo);
      s.max = Math.max(s.max, hi);
    }
  }

  /** Ends pass 1; histogram() may be called from now on. */
  startSecondPass(): void {
    this.pass = 2;
    for (const s of this.stats.values()) s.histogram = new Float64Array(HISTOGRAM_BINS);
  }

  /** Pass 2: counts values into HISTOGRAM_BINS equal bins over the pass-1 interval. */
  histogram(name: string, data: Float32Array): void {
    const s = this.stats.get(name);
    if (this.pass !== 2 || !s?.histogram) throw new Error(`histogram(${name}) before its first pass.`);
    const width = s.max - s.min;
    if (!(width > 0)) {
      s.histogram[0] += data.length;
      return;
    }
    const k = HISTOGRAM_BINS / width;
    const h = s.histogram;
    for (let i = 0; i < data.length; i++) {
      const b = Math.floor((data[i] - s.min) * k);
      h[b < 0 ? 0 : b >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : b]++;
    }
  }

  names(): string[] {
    return [...this.stats.keys()];
  }

  /**
   * Ranges per tensor. `percentile` (e.g. 99.99) keeps the central `percentile`% of values: the
   * upper bound is the edge of the bin where the cumulative count passes it, and likewise the
   * lower bound from below (a minimum of 0 or more stays as measured: ReLU outputs keep their 0).
   */
  ranges(method: CalibrationMethod, percentile = 99.99): Record<string, TensorRange> {
    const out: Record<string, TensorRange> = {};
    for (const [name, s] of this.stats) {
      if (method === 'minmax' || !s.histogram) {
        out[name] = { min: s.min, max: s.max };
        continue;
      }
      out[name] = percentileRange(s.histogram, s.min, s.max, percentile);
    }
    return out;
  }
}

/** The range holding the central `percentile`% of a histogram over [min, max]. */
export function percentileRange(
  histogram: ArrayLike<number>,
  min: number,
  max: number,
  percentile: number,
): TensorRange {
  const bins = histogram.length;
  let total = 0;
  for (let i = 0; i < bins; i++) total += histogram[i];
  if (total === 0 || !(max > min)) return { min, max };
  const tail = (total * (100 - percentile)) / 100;
  const width = (max - min) / bins;
  let hiBin = bins - 1;
  for (let acc = 0; hiBin > 0; hiBin--) {
    acc += histogram[hiBin];
    if (acc > tail) break;
  }
  let loBin = 0;
  for (let acc = 0; loBin < bins - 1; loBin++) {
    acc += histogram[loBin];
    if (acc > tail) break;
  }
  return {
    min: min >= 0 ? min : Math.min(0, min + loBin * width),
    max: Math.min(max, min + (hiBin + 1) * width),
  };
}
