#!/usr/bin/env bash
# The torch compute backend's tests run for real: they need a Python that imports torch. Installs Debian's CPU
# PyTorch (python3-torch, runs under /usr/bin/python3) and OpenBLAS when missing and we may (root with apt-get);
# otherwise says how. OpenBLAS matters: Debian's torch links the reference BLAS through libblas.so.3, where
# torch.svd_lowrank of a 4096 x 14336 matrix takes ~87 s; with libopenblas0-pthread (the alternatives system
# switches libblas.so.3) it takes ~0.5 s. Idempotent.
set -euo pipefail

imports_torch() { [ -n "$1" ] && "$1" -c 'import torch' >/dev/null 2>&1; }

have_openblas() {
  # Only matters for Debian's torch; a pip/conda wheel bundles its own BLAS.
  command -v dpkg >/dev/null 2>&1 || return 0
  dpkg -s python3-torch >/dev/null 2>&1 || return 0
  dpkg -s libopenblas0-pthread >/dev/null 2>&1
}

for py in "${HUBWATCH_PYTHON:-}" "$(command -v python3 || true)" /usr/bin/python3; do
  if imports_torch "$py" && have_openblas; then exit 0; fi
done

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's python3-torch and OpenBLAS for the torch compute backend" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another installer may hold the dpkg lock for a while; apt waits for it.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3-torch libopenblas0-pthread >/dev/null
  /usr/bin/python3 -c 'import torch' || { echo "python3-torch installed but /usr/bin/python3 cannot import torch" >&2; exit 1; }
else
  echo "the torch backend tests need PyTorch: sudo apt-get install python3-torch libopenblas0-pthread" >&2
  echo "(or pip install torch numpy, and set HUBWATCH_PYTHON to that python)" >&2
  exit 1
fi
