import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RowStats } from '../types.ts';
import { idRanges, normProfile } from './norm-profile.ts';
import { detectUntrained, medianNorm } from './untrained-rows.ts';

/** Row statistics from per-row [max, norm, hash] triples. */
function stats(rows: [number, number, number][], nonFinite: number[] = []): RowStats {
  const n = rows.length;
  const s: RowStats = {
    tensor: 't',
    file: 'f',
    dtype: 'BF16',
    rows: n,
    cols: 8,
    max: Float32Array.from(rows.map((r) => r[0])),
    absMax: Float32Array.from(rows.map((r) => Math.abs(r[0]))),
    norm: Float32Array.from(rows.map((r) => r[1])),
    mean: new Float32Array(n),
    roundedHash: Uint32Array.from(rows.flatMap((r) => [r[2], 7])),
    nonFinite: nonFinite.map((row) => ({ row, nan: 1, inf: 0 })),
  };
  return s;
}

/** 20 trained rows of norm ~1 with distinct hashes, then the given rows. */
const trained = (extra: [number, number, number][]): [number, number, number][] => [
  ...Array.from({ length: 20 }, (_, i): [number, number, number] => [0.1, 1 + (i % 3) * 0.1, 1000 + i]),
  ...extra,
];

describe('untrained row rules', () => {
  it('flags Unsloth-zero rows (row max ≤ 1e-16, including all-negative rows) and near-zero-norm rows, not small trained ones', () => {
    const e = stats(
      trained([
        [0, 0, 1],
        [-0.01, 0.05, 2],
        [1e-5, 0.005, 3],
        [0.01, 0.02, 4],
      ]),
    );
    const r = detectUntrained(e, null);
    assert.deepEqual(r.rows, [20, 21, 22]);
    assert.deepEqual(r.reasons.get(20)!.embedding, ['max<=1e-16', 'near-zero-norm']);
    assert.deepEqual(r.reasons.get(21)!.embedding, ['max<=1e-16']);
    assert.deepEqual(r.reasons.get(22)!.embedding, ['near-zero-norm']);
    assert.ok(Math.abs(r.medianNorm.embedding - 1.1) < 1e-6);
  });

  it('with an untied lm_head, needs both rows untrained; lm_head duplicates count only among embedding candidates', () => {
    const e = stats(
      trained([
        [0, 0, 1],
        [0, 0, 2],
        [0, 0, 3],
        [0.1, 1, 4],
        [0.1, 1, 5],
      ]),
    );
    const l = stats(
      trained([
        [0.2, 1, 77],
        [0.2, 1, 77],
        [0.2, 1, 78],
        [0.2, 1, 79],
        [0.2, 1, 79],
      ]),
    );
    const r = detectUntrained(e, l);
    assert.deepEqual(
      r.rows,
      [20, 21],
      'rows 23/24 duplicate each other in lm_head but their embedding rows are trained',
    );
    assert.deepEqual(r.reasons.get(20)!.lmHead, ['duplicate-rounded-row']);
  });

  it('leaves rows with NaN/Inf to NONFINITE_WEIGHTS and out of the median', () => {
    const e = stats(
      trained([
        [0, 0, 1],
        [0, 0, 2],
      ]),
      [21],
    );
    assert.deepEqual(detectUntrained(e, null).rows, [20]);
    assert.ok(
      Math.abs(
        medianNorm(
          stats(
            [
              [0.1, 1, 1],
              [0.1, 3, 2],
              [0, 1e9, 3],
            ],
            [2],
          ),
        ) - 2,
      ) < 1e-6,
    );
  });

  it('compares only the rows both matrices have (vision models add embedding rows)', () => {
    const e = stats(
      trained([
        [0, 0, 1],
        [0, 0, 2],
      ]),
    );
    const l = stats(trained([[0, 0, 9]]));
    assert.deepEqual(detectUntrained(e, l).rows, [20]);
    assert.equal(detectUntrained(e, l).compared, 21);
  });

  it('downsamples norms into ≤ 512 buckets with min/median/max, and writes ids as ranges', () => {
    const rows = Array.from({ length: 2000 }, (_, i): [number, number, number] => [
      0.1,
      i === 1999 ? 0 : 1 + (i % 10) / 10,
      i,
    ]);
    const p = normProfile(stats(rows), 1.5, 0.015, 512);
    assert.equal(p.bucketRows, 4);
    assert.equal(p.median.length, 500);
    assert.deepEqual([p.min[499], p.max[0]], [0, 1.3]);
    assert.deepEqual(idRanges([1, 2, 3, 7, 9, 10]), [
      [1, 3],
      [7, 7],
      [9, 10],
    ]);
  });
});
