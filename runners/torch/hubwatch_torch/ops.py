"""The operations of the worker: per-row statistics (the same numbers as lib/compute/row-kernel-js.ts) and the
comparison of a release matrix with its base (norms, identity, torch.svd_lowrank of the difference)."""

import torch

from .decode import ITEM_SIZE, decode

_CANONICAL_NAN = 0x7FC00000


def _lane_words(x):
    """The 16 Fletcher words per row of the values rounded to 3 decimals (lib/compute/row-kernel-js.ts rowStatsOf):
    per lane l (columns c with c % 8 == l), the sum of the rounded values' float32 bit patterns and the sum of
    their running sums, both modulo 2**32. int64 arithmetic wraps modulo 2**64, so the low 32 bits are exact."""
    rounded = torch.round(x * 1000.0)
    bits = rounded.view(torch.int32).to(torch.int64)
    bits = torch.where(torch.isnan(rounded), torch.full_like(bits, _CANONICAL_NAN), bits)
    rows = x.shape[0]
    words = torch.zeros((rows, 16), dtype=torch.int64, device=x.device)
    for lane in range(8):
        e = bits[:, lane::8]
        k = e.shape[1]
        if k == 0:
            continue
        weights = torch.arange(k, 0, -1, dtype=torch.int64, device=x.device)
        words[:, lane] = e.sum(dim=1)
        words[:, 8 + lane] = (e * weights).sum(dim=1)
    low = words & 0xFFFFFFFF
    return torch.where(low >= 2**31, low - 2**32, low).to(torch.int32)


def row_stats(buf, dtype, rows, cols, device):
    """Per-row max and max |x| over finite values, float64 sum and sum of squares, NaN and Inf counts, hash words."""
    x = decode(buf, dtype, rows, cols, device)
    finite = torch.isfinite(x)
    zero = torch.zeros((), dtype=x.dtype, device=device)
    xf = torch.where(finite, x, zero)
    mx = torch.where(finite, x, torch.full((), float("-inf"), device=device)).amax(dim=1)
    mx = torch.where(finite.any(dim=1), mx, torch.full((), float("nan"), device=device))
    xd = xf.to(torch.float64)
    return [
        ("max", "F32", mx.cpu().numpy().tobytes()),
        ("absMax", "F32", xf.abs().amax(dim=1).cpu().numpy().tobytes()),
        ("sum", "F64", xd.sum(dim=1).cpu().numpy().tobytes()),
        ("sumSq", "F64", (xd * xd).sum(dim=1).cpu().numpy().tobytes()),
        ("nan", "I32", torch.isnan(x).sum(dim=1).to(torch.int32).cpu().numpy().tobytes()),
        ("inf", "I32", torch.isinf(x).sum(dim=1).to(torch.int32).cpu().numpy().tobytes()),
        ("words", "I32", _lane_words(x).cpu().numpy().tobytes()),
    ]


class DeltaSession:
    """ΔW = W_release − W_base over the rows sent, kept as float32 on the device, with running norms."""

    def __init__(self, rows, cols, release_dtype, base_dtype, device):
        self.rows, self.cols = rows, cols
        self.release_dtype, self.base_dtype = release_dtype, base_dtype
        self.device = device
        self.delta = torch.zeros((rows, cols), dtype=torch.float32, device=device)
        self.acc = torch.zeros(4, dtype=torch.float64, device=device)
        self.non_finite = 0
        self.bytes_equal = True

    def add(self, first_row, rows, payload, release_nbytes):
        if first_row < 0 or first_row + rows > self.rows:
            raise ValueError(f"rows {first_row}+{rows} outside 0..{self.rows}")
        release = memoryview(payload)[:release_nbytes]
        base = memoryview(payload)[release_nbytes:]
        rb = rows * self.cols * ITEM_SIZE[self.release_dtype]
        bb = rows * self.cols * ITEM_SIZE[self.base_dtype]
        if self.bytes_equal and release[:rb] != base[:bb]:
            self.bytes_equal = False
        r = decode(payload[:release_nbytes], self.release_dtype, rows, self.cols, self.device)
        b = decode(payload[release_nbytes:], self.base_dtype, rows, self.cols, self.device)
        ok = torch.isfinite(r) & torch.isfinite(b)
        self.non_finite += int((~ok).sum().item())
        zero = torch.zeros((), dtype=torch.float32, device=self.device)
        r = torch.where(ok, r, zero)
        b = torch.where(ok, b, zero)
        d = r - b
        self.delta[first_row : first_row + rows] = d
        rd, bd, dd = r.double(), b.double(), d.double()
        self.acc += torch.stack([(dd * dd).sum(), (bd * bd).sum(), (rd * rd).sum(), (rd * bd).sum()])

    def finish(self, q, niter, seed):
        sum_sq_delta, sum_sq_base, sum_sq_release, dot = self.acc.tolist()
        same_dtype = self.release_dtype == self.base_dtype
        identical = self.bytes_equal if same_dtype else (sum_sq_delta == 0 and self.non_finite == 0)
        values = []
        if sum_sq_delta > 0:
            torch.manual_seed(seed)
            k = min(q, self.rows, self.cols)
            _, s, _ = torch.svd_lowrank(self.delta, q=k, niter=niter)
            values = s.double().cpu().tolist()
        self.delta = None
        header = {
            "identical": bool(identical),
            "sumSqDelta": sum_sq_delta,
            "sumSqBase": sum_sq_base,
            "sumSqRelease": sum_sq_release,
            "dot": dot,
            "nonFinite": self.non_finite,
            "singularValues": values,
        }
        return header
