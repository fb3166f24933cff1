import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowRankSingularValues, normalRng, symmetricEigenvalues } from './randomized-svd.ts';

/** Exact singular values of a small m × n matrix: square roots of the eigenvalues of A·Aᵀ. */
function exactSingularValues(a: Float32Array, m: number, n: number): number[] {
  const g = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let k = 0; k < m; k++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * a[k * n + j];
      g[i * m + k] = s;
    }
  return symmetricEigenvalues(g, m).map((e) => Math.sqrt(Math.max(0, e)));
}

function lowRankPlusNoise(m: number, n: number, r: number, noise: number, seed: number): Float32Array {
  const rand = normalRng(seed);
  const b = Array.from({ length: m * r }, rand);
  const c = Array.from({ length: r * n }, rand);
  const a = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += b[i * r + k] * c[k * n + j];
      a[i * n + j] = s + noise * rand();
    }
  return a;
}

describe('randomized SVD', () => {
  it('finds the leading singular values of a rank-5 matrix exactly, and (near) zeros after them', () => {
    const [m, n] = [48, 200];
    const a = lowRankPlusNoise(m, n, 5, 0, 7);
    const exact = exactSingularValues(a, m, n);
    const got = lowRankSingularValues(a, m, n, { q: 12, niter: 2, seed: 3 });
    assert.equal(got.length, 12);
    for (let i = 0; i < 5; i++)
      assert.ok(Math.abs(got[i] - exact[i]) / exact[i] < 1e-5, `s${i}: ${got[i]} vs ${exact[i]}`);
    for (let i = 5; i < 12; i++) assert.ok(got[i] < 1e-4 * got[0], `s${i} = ${got[i]} should vanish`);
  });

  it('approximates the top of a full-rank spectrum from below, within a few percent with power iterations', () => {
    const [m, n] = [60, 90];
    const a = lowRankPlusNoise(m, n, 3, 0.3, 11);
    const exact = exactSingularValues(a, m, n);
    const got = lowRankSingularValues(a, m, n, { q: 20, niter: 2, seed: 5 });
    for (let i = 0; i < 4; i++) {
      assert.ok(got[i] <= exact[i] * (1 + 1e-9), `s${i} is a lower bound`);
      assert.ok(got[i] > 0.95 * exact[i], `s${i}: ${got[i]} vs ${exact[i]}`);
    }
  });

  it('gives the exact leading singular values of a tall thin matrix (the Gram path)', () => {
    const [m, n] = [300, 40];
    const a = lowRankPlusNoise(m, n, 5, 0.01, 13);
    const exact = exactSingularValues(a, m, n);
    const got = lowRankSingularValues(a, m, n, { q: 10 });
    assert.equal(got.length, 10);
    for (let i = 0; i < 10; i++)
      assert.ok(Math.abs(got[i] - exact[i]) <= 1e-6 * exact[0], `s${i}: ${got[i]} vs ${exact[i]}`);
  });

  it('caps the sketch at the smaller dimension and rejects a short buffer', () => {
    assert.equal(lowRankSingularValues(new Float32Array(4 * 3).fill(1), 4, 3, { q: 32 }).length, 3);
    assert.throws(() => lowRankSingularValues(new Float32Array(5), 2, 3, { q: 2 }), /holds 5 values/);
  });
});
