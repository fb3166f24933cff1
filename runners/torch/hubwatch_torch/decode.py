"""Safetensors element types to float32 tensors, exactly as lib/compute/row-kernel-js.ts decodes them."""

import torch

ITEM_SIZE = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1, "F8_E5M2": 1}


def _half_to_float(h):
    sign = -1.0 if h & 0x8000 else 1.0
    e = (h >> 10) & 0x1F
    m = h & 0x3FF
    if e == 0:
        return sign * m * 2.0**-24
    if e == 0x1F:
        return float("nan") if m else sign * float("inf")
    return sign * (1 + m / 1024) * 2.0 ** (e - 15)


def _e4m3_to_float(b):
    # OCP FP8 E4M3 "fn" (torch.float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN.
    sign = -1.0 if b & 0x80 else 1.0
    e = (b >> 3) & 0xF
    m = b & 7
    if e == 0xF and m == 7:
        return float("nan")
    return sign * (m / 8) * 2.0**-6 if e == 0 else sign * (1 + m / 8) * 2.0 ** (e - 7)


_F8_TABLES = {
    "F8_E4M3": [_e4m3_to_float(b) for b in range(256)],
    "F8_E5M2": [_half_to_float(b << 8) for b in range(256)],
}
_table_cache = {}


def decode(buf, dtype, rows, cols, device):
    """The first rows × cols elements of `buf` as a float32 [rows, cols] tensor on `device`."""
    n = rows * cols
    if dtype not in ITEM_SIZE:
        raise ValueError(f"unsupported dtype {dtype}")
    if len(buf) < n * ITEM_SIZE[dtype]:
        raise ValueError(f"chunk holds {len(buf)} bytes, {rows} rows × {cols} {dtype} need {n * ITEM_SIZE[dtype]}")
    if dtype == "BF16":
        t = torch.frombuffer(buf, dtype=torch.bfloat16, count=n)
    elif dtype == "F16":
        t = torch.frombuffer(buf, dtype=torch.float16, count=n)
    elif dtype == "F32":
        t = torch.frombuffer(buf, dtype=torch.float32, count=n)
    else:
        key = (dtype, str(device))
        if key not in _table_cache:
            _table_cache[key] = torch.tensor(_F8_TABLES[dtype], dtype=torch.float32, device=device)
        idx = torch.frombuffer(buf, dtype=torch.uint8, count=n).to(device).long()
        return _table_cache[key][idx].reshape(rows, cols)
    return t.to(device).to(torch.float32).reshape(rows, cols)
