/**
 * The little dense linear algebra the box Kalman filter needs: matrices as row-major number[][]
 * (8x8 at most), pure functions that return new arrays. Plain arrays, not typed arrays, because
 * the tracker's state is saved as JSON between chunks.
 */

export type Matrix = number[][];

export function identity(n: number): Matrix {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}

export function diag(values: readonly number[]): Matrix {
  return values.map((x, i) => values.map((_, j) => (i === j ? x : 0)));
}

export function transpose(a: Matrix): Matrix {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

export function multiply(a: Matrix, b: Matrix): Matrix {
  const n = a.length;
  const k = b.length;
  const m = b[0].length;
  if (a[0].length !== k) throw new Error(`cannot multiply ${n}x${a[0].length} by ${k}x${m}`);
  const out: Matrix = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(m).fill(0);
    for (let t = 0; t < k; t++) {
      const x = a[i][t];
      if (x === 0) continue;
      const bt = b[t];
      for (let j = 0; j < m; j++) row[j] += x * bt[j];
    }
    out.push(row);
  }
  return out;
}

export function multiplyVector(a: Matrix, x: readonly number[]): number[] {
  return a.map((row) => row.reduce((s, v, j) => s + v * x[j], 0));
}

export function add(a: Matrix, b: Matrix): Matrix {
  return a.map((row, i) => row.map((x, j) => x + b[i][j]));
}

export function subtract(a: Matrix, b: Matrix): Matrix {
  return a.map((row, i) => row.map((x, j) => x - b[i][j]));
}

/** (a + aᵀ) / 2: keeps a covariance symmetric against rounding drift over many updates. */
export function symmetrize(a: Matrix): Matrix {
  return a.map((row, i) => row.map((x, j) => (x + a[j][i]) / 2));
}

/** Lower-triangular L with a = L Lᵀ, for a symmetric positive-definite a. */
export function cholesky(a: Matrix): Matrix {
  const n = a.length;
  const l: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(s > 0)) throw new Error('matrix is not positive definite');
        l[i][i] = Math.sqrt(s);
      } else l[i][j] = s / l[j][j];
    }
  }
  return l;
}

/** x with a x = b for symmetric positive-definite a (n x n) and b (n x m), by Cholesky. */
export function solveSpd(a: Matrix, b: Matrix): Matrix {
  const l = cholesky(a);
  const n = a.length;
  const m = b[0].length;
  const x: Matrix = b.map((row) => [...row]);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      // forward: L y = b
      let s = x[i][c];
      for (let k = 0; k < i; k++) s -= l[i][k] * x[k][c];
      x[i][c] = s / l[i][i];
    }
    for (let i = n - 1; i >= 0; i--) {
      // back: Lᵀ x = y
      let s = x[i][c];
      for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k][c];
      x[i][c] = s / l[i][i];
    }
  }
  return x;
}
