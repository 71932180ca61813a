#!/usr/bin/env bash
# The diffusion engine's GPU measures as one run on a lent GPU (the `device` tool), where
# diffusers is not installed: its wheels travel in .whl/ (`make gpu-wheels` fetches them here).
#   device run: bash benchmarks/gpu.sh          (carry: [".whl"], timeout_s: 600)
#   device run: bash benchmarks/gpu.sh training (the LoRA training step; training.json, training.log)
# Results land in $OUT (or /tmp/tessera-gpu): diffusion.json holds the eager figures, then the
# compiled ones (printed as soon as each is known), diffusion.log the warnings.
# Extra arguments go to the benchmark (a quick try here: bash benchmarks/gpu.sh --runs 1 --steps 1).
set -uo pipefail
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/tessera-gpu}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "could not install the wheels in .whl/"; exit 1; }
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true) | tee "$OUT/gpu.txt"
"$PY" -c "import torch, diffusers; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
if [ "${1:-}" = training ]; then  # the LoRA training step against diffusers' recipe: a run of its own
  shift
  timeout 540 "$PY" benchmarks/training.py --runs 5 "$@" >"$OUT/training.json" 2>"$OUT/training.log"
  echo "benchmark: exit $?"; cat "$OUT/training.json"; tail -5 "$OUT/training.log"
  exit 0
fi
timeout 540 "$PY" benchmarks/diffusion.py --runs 5 --compile "$@" >"$OUT/diffusion.json" 2>"$OUT/diffusion.log"
echo "benchmark: exit $?"; cat "$OUT/diffusion.json"; tail -5 "$OUT/diffusion.log"
