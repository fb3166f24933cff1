"""numpy baseline over HTTP ranges, for bench/backend-bench.ts: reads a BF16 matrix from a Hub mirror URL in the
same row-aligned ranges hubwatch requests (4 MiB), over one keep-alive connection, each range into one reused
buffer, and computes per row max, max |x|, sum and sum of squares in 256-row slices (bench/numpy_baseline.py's
kernel). Prints one JSON line: seconds, CPU seconds, GB/s, peak RSS (MB), rows whose sum of squares is zero.

Usage: python3 bench/numpy_ranges.py URL OFFSET ROWS COLS [CHUNK_BYTES]
"""
import http.client
import json
import resource
import sys
import time
from urllib.parse import urlsplit

import numpy as np


def main() -> None:
    url, offset, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    chunk_bytes = int(sys.argv[5]) if len(sys.argv) > 5 else 4 << 20
    per = max(1, chunk_bytes // (cols * 2))
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    buf = np.empty(per * cols, dtype=np.uint16)
    sq = np.empty(rows, np.float32)
    mx = np.empty(rows, np.float32)
    amx = np.empty(rows, np.float32)
    sm = np.empty(rows, np.float32)
    t0, c0 = time.perf_counter(), time.process_time()
    for r in range(0, rows, per):
        n = min(per, rows - r)
        start = offset + r * cols * 2
        conn.request("GET", u.path, headers={"Range": f"bytes={start}-{start + n * cols * 2 - 1}"})
        resp = conn.getresponse()
        view = memoryview(buf)[: n * cols].cast("B")
        got = 0
        while got < n * cols * 2:
            k = resp.readinto(view[got:])
            if not k:
                raise SystemExit(f"short read at row {r}")
            got += k
        resp.read()
        for s in range(0, n, 256):
            m = min(256, n - s)
            x = (buf[s * cols : (s + m) * cols].astype(np.uint32) << 16).view(np.float32).reshape(m, cols)
            mx[r + s : r + s + m] = x.max(axis=1)
            amx[r + s : r + s + m] = np.maximum(mx[r + s : r + s + m], -x.min(axis=1))
            sq[r + s : r + s + m] = np.einsum("ij,ij->i", x, x)
            sm[r + s : r + s + m] = x.sum(axis=1)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"seconds": seconds, "cpuSeconds": cpu, "gbps": rows * cols * 2 / seconds / 1e9,
                      "zeroRows": np.flatnonzero(sq == 0).tolist(),
                      "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
