#!/bin/bash
# Regenerates every model, zoo fixture and reference (GPU machine: torch, transformers,
# onnx, onnxruntime, tokenizers). Usage: bash tools/models/run_all.sh OUT_ROOT [tiny|full] [STEPS]
# then copy OUT_ROOT/{models,test} into the repository (tools/models/README.md).
set -euo pipefail
OUT_ROOT=${1:?output folder}
SCALE=${2:-full}
STEPS=${3:-3000}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT_ROOT/metrics"
python3 -c "import torch, transformers, onnx, onnxruntime, tokenizers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__, 'tokenizers', tokenizers.__version__, 'cuda', torch.cuda.is_available())"
python3 "$HERE/tok.py" "$OUT_ROOT/tokenizer" 60000
# The zoo runs on the CPU while the demo models train on the GPU.
OMP_NUM_THREADS=4 python3 "$HERE/zoo.py" "$OUT_ROOT" "$OUT_ROOT/tokenizer" > "$OUT_ROOT/zoo.log" 2>&1 &
ZOO=$!
python3 "$HERE/train_demo.py" "$OUT_ROOT" --scale "$SCALE" --steps "$STEPS" --max-seconds "${MAX_SECONDS:-1e9}"
wait $ZOO || echo "zoo.py exited with an error (see zoo.log)"
cat "$OUT_ROOT/zoo.log"
