/**
 * Linear assignment (the "Hungarian" problem), solved by shortest augmenting paths with dual
 * potentials: the Jonker-Volgenant / Kuhn-Munkres family, O(n² m) for n rows and m >= n columns.
 * The tracker and the MOT metrics call it on small matrices (tracks x detections of one label in
 * one frame; ground-truth ids x hypothesis ids), so a plain dense implementation is enough.
 */

/**
 * Minimum-cost assignment of every row to a distinct column. Costs must be finite. Returns, for
 * each row, its column; when there are more rows than columns, the rows left over get -1.
 */
export function solveAssignment(cost: readonly (readonly number[])[]): number[] {
  const n = cost.length;
  if (n === 0) return [];
  const m = cost[0].length;
  if (m === 0) return new Array<number>(n).fill(-1);
  if (n > m) {
    // solve the transpose (columns onto rows), then read it back
    const t = Array.from({ length: m }, (_, j) => Array.from({ length: n }, (_, i) => cost[i][j]));
    const colToRow = solveAssignment(t);
    const rowToCol = new Array<number>(n).fill(-1);
    colToRow.forEach((i, j) => {
      rowToCol[i] = j;
    });
    return rowToCol;
  }
  // 1-based arrays with a virtual column 0, after the classic formulation (e-maxx)
  const u = new Float64Array(n + 1); // row potentials
  const v = new Float64Array(m + 1); // column potentials
  const p = new Int32Array(m + 1); // p[j]: row assigned to column j (0 = none)
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Number.POSITIVE_INFINITY);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      const row = cost[i0 - 1];
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = row[j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j] !== 0) rowToCol[p[j] - 1] = j - 1;
  return rowToCol;
}

export interface AssignmentResult {
  /** [row, column] pairs, by row */
  matches: [number, number][];
  unmatchedRows: number[];
  unmatchedCols: number[];
}

/**
 * Assignment where a pair may only be made when its cost is at most `limit`, and leaving a row or
 * a column unassigned costs limit / 2 each (so a pair is made exactly when it is cheaper than
 * leaving both alone). This is what lapjv's `cost_limit` does and what ByteTrack calls: the
 * matrix is extended with dummy rows and columns, and costs above the limit are clamped so they
 * can never win (non-finite costs, e.g. Infinity for "never", are allowed).
 */
export function assignWithLimit(
  cost: readonly (readonly number[])[],
  limit: number,
  /** how many columns there are (needed when there are no rows) */
  columns = cost.length > 0 ? cost[0].length : 0,
): AssignmentResult {
  const n = cost.length;
  const m = columns;
  if (n === 0 || m === 0) {
    return {
      matches: [],
      unmatchedRows: Array.from({ length: n }, (_, i) => i),
      unmatchedCols: Array.from({ length: m }, (_, j) => j),
    };
  }
  const half = limit / 2;
  const never = limit + 1; // any cost above the limit: two dummies (= limit) are always cheaper
  const size = n + m;
  const ext: number[][] = [];
  for (let i = 0; i < size; i++) {
    const r = new Array<number>(size);
    for (let j = 0; j < size; j++) {
      if (i < n && j < m) {
        const c = cost[i][j];
        r[j] = c <= limit ? c : never; // NaN and +Infinity land here too
      } else if (i >= n && j >= m) r[j] = 0;
      else r[j] = half;
    }
    ext.push(r);
  }
  const rowToCol = solveAssignment(ext);
  const matches: [number, number][] = [];
  const colUsed = new Uint8Array(m);
  const unmatchedRows: number[] = [];
  for (let i = 0; i < n; i++) {
    const j = rowToCol[i];
    if (j < m && cost[i][j] <= limit) {
      matches.push([i, j]);
      colUsed[j] = 1;
    } else unmatchedRows.push(i);
  }
  const unmatchedCols: number[] = [];
  for (let j = 0; j < m; j++) if (!colUsed[j]) unmatchedCols.push(j);
  return { matches, unmatchedRows, unmatchedCols };
}
