"""numpy baseline for bench/untrained-bench.ts: the same per-row statistics on the same bytes, from a local file.

Usage: python3 bench/numpy_baseline.py FILE OFFSET ROWS COLS [CHUNK_ROWS]

Reads the BF16 matrix at OFFSET in 256-row chunks into one reused buffer (dependency-notes section 8: 256-row
chunks were numpy's fastest; larger temporaries page-fault), widens BF16 to float32 with the u32 shift, and
computes per row: max, max |x| (as max(max, -min), no temporary), sum of squares (einsum), sum, and NaN/Inf counts
for rows whose sums are not finite. It does not compute the rounded-row fingerprint hubwatch also computes.
Prints one JSON line: seconds, CPU seconds, GB/s, peak RSS (MB), and the rows whose sum of squares is zero (to compare with hubwatch).
"""
import json
import resource
import sys
import time

import numpy as np


def main() -> None:
    path, offset, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    chunk = int(sys.argv[5]) if len(sys.argv) > 5 else 256
    buf = np.empty(chunk * cols, dtype=np.uint16)
    mx = np.empty(rows, np.float32)
    amx = np.empty(rows, np.float32)
    sq = np.empty(rows, np.float32)
    sm = np.empty(rows, np.float32)
    nonfinite = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    with open(path, "rb", buffering=0) as f:
        f.seek(offset)
        for r in range(0, rows, chunk):
            n = min(chunk, rows - r)
            view = memoryview(buf)[: n * cols].cast("B")
            if f.readinto(view) != n * cols * 2:
                raise SystemExit(f"short read at row {r}")
            x = (buf[: n * cols].astype(np.uint32) << 16).view(np.float32).reshape(n, cols)
            mx[r : r + n] = x.max(axis=1)
            amx[r : r + n] = np.maximum(mx[r : r + n], -x.min(axis=1))
            sq[r : r + n] = np.einsum("ij,ij->i", x, x)
            sm[r : r + n] = x.sum(axis=1)
            bad = ~np.isfinite(sq[r : r + n])
            if bad.any():
                nonfinite += int((~np.isfinite(x[bad])).sum())
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    total = rows * cols * 2
    zero_rows = np.flatnonzero(sq == 0).tolist()
    print(json.dumps({"seconds": seconds, "cpuSeconds": cpu_seconds, "gbps": total / seconds / 1e9, "zeroRows": zero_rows, "nonFinite": nonfinite,
                      "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "numpy": np.__version__}))


if __name__ == "__main__":
    main()
