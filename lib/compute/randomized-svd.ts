/**
 * The leading singular values of a dense row-major float32 matrix by randomized subspace iteration (Halko,
 * Martinsson & Tropp 2011, "Finding structure with randomness", Algorithms 4.3/4.4): the same algorithm as
 * `torch.svd_lowrank(A, q, niter)`, so the CPU backend and the torch backend agree on a spectrum up to the
 * randomness of the sketch. Only singular values are computed (the fingerprint needs no vectors): the q × q Gram
 * matrix of the projected matrix B = QᵀA is diagonalised by cyclic Jacobi rotations in float64.
 */

/** A seeded standard-normal generator (mulberry32 + Box–Muller), so a run is reproducible. */
export function normalRng(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Y (m × q, row-major) = A (m × n) · X (n × q). */
function times(a: Float32Array, m: number, n: number, x: Float64Array, q: number): Float64Array {
  const y = new Float64Array(m * q);
  for (let i = 0; i < m; i++) {
    const yo = i * q;
    const ao = i * n;
    for (let j = 0; j < n; j++) {
      const v = a[ao + j];
      if (v === 0) continue;
      const xo = j * q;
      for (let k = 0; k < q; k++) y[yo + k] += v * x[xo + k];
    }
  }
  return y;
}

/** Z (n × q, row-major) = Aᵀ (n × m) · Y (m × q). */
function timesTransposed(a: Float32Array, m: number, n: number, y: Float64Array, q: number): Float64Array {
  const z = new Float64Array(n * q);
  for (let i = 0; i < m; i++) {
    const yo = i * q;
    const ao = i * n;
    for (let j = 0; j < n; j++) {
      const v = a[ao + j];
      if (v === 0) continue;
      const zo = j * q;
      for (let k = 0; k < q; k++) z[zo + k] += v * y[yo + k];
    }
  }
  return z;
}

/** Orthonormalises the q columns of a row-major rows × q matrix in place (modified Gram–Schmidt, twice). */
function orthonormalise(y: Float64Array, rows: number, q: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < q; k++) {
      for (let p = 0; p < k; p++) {
        let dot = 0;
        for (let i = 0; i < rows; i++) dot += y[i * q + k] * y[i * q + p];
        for (let i = 0; i < rows; i++) y[i * q + k] -= dot * y[i * q + p];
      }
      let norm = 0;
      for (let i = 0; i < rows; i++) norm += y[i * q + k] ** 2;
      norm = Math.sqrt(norm);
      // A column in the span of the previous ones (rank-deficient A) contributes a zero singular value.
      const inv = norm > 1e-300 ? 1 / norm : 0;
      for (let i = 0; i < rows; i++) y[i * q + k] *= inv;
    }
  }
}

/** Eigenvalues of a symmetric q × q matrix (cyclic Jacobi), descending. */
export function symmetricEigenvalues(g: Float64Array, q: number): number[] {
  const a = Float64Array.from(g);
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < q; p++) for (let r = p + 1; r < q; r++) off += a[p * q + r] ** 2;
    if (off < 1e-30 * Math.max(1e-300, trace2(a, q))) break;
    for (let p = 0; p < q; p++) {
      for (let r = p + 1; r < q; r++) {
        const apr = a[p * q + r];
        if (apr === 0) continue;
        const theta = (a[r * q + r] - a[p * q + p]) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < q; k++) {
          const akp = a[k * q + p];
          const akr = a[k * q + r];
          a[k * q + p] = c * akp - s * akr;
          a[k * q + r] = s * akp + c * akr;
        }
        for (let k = 0; k < q; k++) {
          const apk = a[p * q + k];
          const ark = a[r * q + k];
          a[p * q + k] = c * apk - s * ark;
          a[r * q + k] = s * apk + c * ark;
        }
      }
    }
  }
  return Array.from({ length: q }, (_, i) => a[i * q + i]).sort((x, y) => y - x);
}

function trace2(a: Float64Array, q: number): number {
  let s = 0;
  for (let i = 0; i < q; i++) s += a[i * q + i] ** 2;
  return s;
}

/** Widths up to which the exact singular values (from the Gram matrix) cost less than the randomized sketch. */
export const THIN = 128;

/** Exact singular values of a matrix with few columns (n ≤ THIN): eigenvalues of the n × n Gram matrix AᵀA. */
function thinSingularValues(a: Float32Array, m: number, n: number): number[] {
  const g = new Float64Array(n * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let r = 0; r < n; r++) {
      const v = a[o + r];
      if (v === 0) continue;
      for (let c = r; c < n; c++) g[r * n + c] += v * a[o + c];
    }
  }
  for (let r = 0; r < n; r++) for (let c = 0; c < r; c++) g[r * n + c] = g[c * n + r];
  return symmetricEigenvalues(g, n).map((e) => Math.sqrt(Math.max(0, e)));
}

export interface LowRankOptions {
  /** Sketch size (number of singular values returned), capped at min(m, n). */
  q: number;
  /** Power iterations; torch.svd_lowrank's default is 2. */
  niter?: number;
  seed?: number;
}

/**
 * The q leading singular values (descending) of the m × n row-major matrix `a`, by randomized subspace iteration
 * with `niter` power iterations. Cost: (2·niter + 2)·m·n·q multiply-adds; memory (m + n)·q float64 beside `a`.
 * A tall matrix of at most THIN columns gets its exact leading singular values instead (m·n²/2 multiply-adds).
 */
export function lowRankSingularValues(a: Float32Array, m: number, n: number, opts: LowRankOptions): number[] {
  if (a.length < m * n) throw new Error(`matrix holds ${a.length} values, ${m} × ${n} need ${m * n}`);
  const q = Math.min(opts.q, m, n);
  if (q <= 0) return [];
  // A tall matrix with few columns (an embedding of a narrow model, a row sample): its exact spectrum is cheaper.
  if (n <= THIN && m >= n) return thinSingularValues(a, m, n).slice(0, q);
  const rand = normalRng(opts.seed ?? 0x5eed);
  const omega = new Float64Array(n * q);
  for (let i = 0; i < omega.length; i++) omega[i] = rand();
  let y = times(a, m, n, omega, q);
  orthonormalise(y, m, q);
  for (let it = 0; it < (opts.niter ?? 2); it++) {
    const z = timesTransposed(a, m, n, y, q);
    orthonormalise(z, n, q);
    y = times(a, m, n, z, q);
    orthonormalise(y, m, q);
  }
  // Bᵀ = AᵀQ (n × q); the singular values of B are the square roots of the eigenvalues of B·Bᵀ = (Bᵀ)ᵀ·Bᵀ.
  const bt = timesTransposed(a, m, n, y, q);
  const gram = new Float64Array(q * q);
  for (let j = 0; j < n; j++) {
    const o = j * q;
    for (let r = 0; r < q; r++) {
      const v = bt[o + r];
      if (v === 0) continue;
      for (let c = r; c < q; c++) gram[r * q + c] += v * bt[o + c];
    }
  }
  for (let r = 0; r < q; r++) for (let c = 0; c < r; c++) gram[r * q + c] = gram[c * q + r];
  return symmetricEigenvalues(gram, q).map((e) => Math.sqrt(Math.max(0, e)));
}
