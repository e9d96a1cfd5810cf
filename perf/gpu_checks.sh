#!/usr/bin/env bash
# The GPU checks of the training room, in one call: the trainer's CUDA tests, then the
# training benchmark on cifar10-valid-shaped tensors and on the proxy (graphs on and off,
# several cells at once). Run from the repository root on a machine with a CUDA GPU and
# torch; figures and records go to ${OUT:-perf/results}. On a copy of the working tree,
# set NAR_GIT_SHA to the commit it was copied from, for the records.
set -u
out="${OUT:-perf/results}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
python3 -m pytest -q -p no:cacheprovider tests/training/test_trainer_cuda.py \
    2>&1 | tail -n 25 | tee "$out/gpu_tests.log"
timeout "${BENCH_TIMEOUT:-360}" python3 perf/bench_train.py --cifar-shaped --graphs both \
    --cells 5 --epochs 3 --at-once 4 8 16 --record "$out/bench_train_cifar_shaped.json" \
    2>&1 | tee "$out/bench_cifar_shaped.log"
timeout 120 python3 perf/bench_train.py --graphs both --cells 3 --epochs 3 --at-once 8 \
    --record "$out/bench_train_proxy.json" 2>&1 | tee "$out/bench_proxy.log"
