import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignWithLimit, solveAssignment } from '../../../src/tracking/assignment.js';
import { seededRandom } from '../../helpers/random.js';

const randomShape = (rand: () => number, max: number) =>
  [1 + Math.floor(rand() * max), 1 + Math.floor(rand() * max)] as const;
const randomMatrix = (rand: () => number, n: number, m: number, integers: boolean) =>
  Array.from({ length: n }, () =>
    Array.from({ length: m }, () => (integers ? Math.floor(rand() * 5) : rand())),
  );

/** Least total cost over every way to give each row of the smaller side a distinct partner. */
function bruteForceFull(cost: number[][]): number {
  const n = cost.length;
  const m = cost[0].length;
  if (n > m) return bruteForceFull(cost[0].map((_, j) => cost.map((row) => row[j])));
  let best = Number.POSITIVE_INFINITY;
  const usedCol = new Array<boolean>(m).fill(false);
  const go = (i: number, sum: number) => {
    if (i === n) {
      best = Math.min(best, sum);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (usedCol[j]) continue;
      usedCol[j] = true;
      go(i + 1, sum + cost[i][j]);
      usedCol[j] = false;
    }
  };
  go(0, 0);
  return best;
}

/** Least cost of a partial matching (pairs only at cost <= limit), each unmatched side costing limit/2. */
function bruteForceLimited(cost: number[][], limit: number): number {
  const n = cost.length;
  const m = cost[0].length;
  let best = Number.POSITIVE_INFINITY;
  const usedCol = new Array<boolean>(m).fill(false);
  const go = (i: number, sum: number, pairs: number) => {
    if (i === n) {
      best = Math.min(best, sum + (n + m - 2 * pairs) * (limit / 2));
      return;
    }
    go(i + 1, sum, pairs); // row i left alone
    for (let j = 0; j < m; j++) {
      if (usedCol[j] || !(cost[i][j] <= limit)) continue;
      usedCol[j] = true;
      go(i + 1, sum + cost[i][j], pairs + 1);
      usedCol[j] = false;
    }
  };
  go(0, 0, 0);
  return best;
}

describe('solveAssignment', () => {
  it('matches brute force on 300 random matrices up to 6x6, square and rectangular, with ties', () => {
    const rand = seededRandom(11);
    for (let k = 0; k < 300; k++) {
      const [n, m] = randomShape(rand, 6);
      const cost = randomMatrix(rand, n, m, k % 2 === 0); // integer costs give many ties
      const rowToCol = solveAssignment(cost);
      assert.equal(rowToCol.length, n);
      const assigned = rowToCol.filter((j) => j >= 0);
      assert.equal(assigned.length, Math.min(n, m), 'every row of the smaller side is assigned');
      assert.equal(new Set(assigned).size, assigned.length, 'no column is used twice');
      const total = rowToCol.reduce((s, j, i) => s + (j >= 0 ? cost[i][j] : 0), 0);
      assert.ok(Math.abs(total - bruteForceFull(cost)) < 1e-9, `${n}x${m} #${k}: ${total}`);
    }
  });

  it('handles empty input', () => {
    assert.deepEqual(solveAssignment([]), []);
    assert.deepEqual(solveAssignment([[], []]), [-1, -1]);
  });

  it('finds the known optimum of a classic 3x3 example', () => {
    // rows: workers, cols: jobs; optimum 1 + 2 + 2 = 5 by (0,1), (1,0), (2,2)
    assert.deepEqual(
      solveAssignment([
        [4, 1, 3],
        [2, 0, 5],
        [3, 2, 2],
      ]),
      [1, 0, 2],
    );
  });
});

describe('assignWithLimit', () => {
  it('matches a brute-force search over partial matchings on 300 random matrices', () => {
    const rand = seededRandom(12);
    for (let k = 0; k < 300; k++) {
      const [n, m] = randomShape(rand, 5);
      const cost = randomMatrix(rand, n, m, false).map((row) =>
        row.map((c) => (rand() < 0.15 ? Number.POSITIVE_INFINITY : c)),
      );
      const limit = 0.2 + rand() * 0.7;
      const r = assignWithLimit(cost, limit);
      for (const [i, j] of r.matches) assert.ok(cost[i][j] <= limit, 'no pair above the limit');
      const rows = new Set(r.matches.map(([i]) => i));
      const cols = new Set(r.matches.map(([, j]) => j));
      assert.equal(rows.size + r.unmatchedRows.length, n);
      assert.equal(cols.size + r.unmatchedCols.length, m);
      for (const i of r.unmatchedRows) assert.ok(!rows.has(i));
      for (const j of r.unmatchedCols) assert.ok(!cols.has(j));
      const total =
        r.matches.reduce((s, [i, j]) => s + cost[i][j], 0) +
        (r.unmatchedRows.length + r.unmatchedCols.length) * (limit / 2);
      assert.ok(Math.abs(total - bruteForceLimited(cost, limit)) < 1e-9, `#${k}`);
    }
  });

  it('leaves everything unmatched when every cost is above the limit, and handles empty sides', () => {
    assert.deepEqual(assignWithLimit([[0.9, 0.95]], 0.5), {
      matches: [],
      unmatchedRows: [0],
      unmatchedCols: [0, 1],
    });
    assert.deepEqual(assignWithLimit([], 0.5), { matches: [], unmatchedRows: [], unmatchedCols: [] });
    assert.deepEqual(assignWithLimit([], 0.5, 2), { matches: [], unmatchedRows: [], unmatchedCols: [0, 1] });
    assert.deepEqual(assignWithLimit([[], []], 0.5), {
      matches: [],
      unmatchedRows: [0, 1],
      unmatchedCols: [],
    });
  });

  it('prefers two good pairs to one excellent pair that blocks them', () => {
    // greedy would take (0,0)=0.1 and leave row 1 with nothing under the limit: 0.1 + 2 * 0.25
    // against 0.2 + 0.25 for the two pairs
    const r = assignWithLimit(
      [
        [0.1, 0.2],
        [0.25, 0.9],
      ],
      0.5,
    );
    assert.deepEqual(r.matches, [
      [0, 1],
      [1, 0],
    ]);
  });
});
