#!/usr/bin/env bash
# The torch backend on a CUDA machine, in one go (a CUDA machine is not always at hand; CI has none):
#   1. agreement: the torch backend's tests (same statistics, findings and fingerprint codes as the CPU backend) on CUDA;
#   2. row-statistics throughput on a 1 GB BF16 embedding: hubwatch cpu vs torch (CUDA) vs numpy, local and over the mirror;
#   3. the fingerprint on 4096 × 14336 deltas: CPU backend vs torch (CUDA), seconds, peak RSS, rank.
# Usage (repository root, after npm ci; Python with a CUDA torch and numpy as HUBWATCH_PYTHON or first on the PATH):
#   bash bench/cuda-bench.sh 2>&1 | tee cuda-bench.log
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${HUBWATCH_PYTHON:-python3}"
echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi not found"
"$PY" -c 'import torch, numpy; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-", "numpy", numpy.__version__)'
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "torch does not see a GPU: this benchmark is for a CUDA machine")'
nproc; node --version
export HUBWATCH_PYTHON="$(command -v "$PY")"

echo "== 1. agreement: torch backend (CUDA) vs CPU backend"
node --import tsx --test --test-concurrency=1 lib/compute/torch-backend.test.ts 2>&1 | grep -E '^# (pass|fail)|^not ok|ok [0-9]+ - reports'

echo "== 2. row statistics on a 1 GB BF16 embedding"
node --import tsx bench/backend-bench.ts --backends cpu,torch

echo "== 3. fingerprint on 4096 x 14336 BF16 deltas"
node --import tsx bench/fingerprint-bench.ts --backends torch,cpu
