#!/usr/bin/env bash
# Build the folder scripts/gpu_check.py carries to a GPU machine that cannot reach the network:
#
#   bench-results/gpu-carry/wheels/       cp312 wheels of what that machine lacks (cleanlab,
#                                         SQLAlchemy, platformdirs, termcolor), the versions
#                                         installed here
#   bench-results/gpu-carry/cifar10.tar.gz  cifar10-train and cifar10-test (~20 MB gzipped)
#
# Usage: scripts/gpu_bundle.sh [DATASETS_DIR]   (default $LABELAUDIT_DATASETS or ../shared/datasets)
# bench-results/ is git-ignored, so the folder travels only where it is named as carried, e.g.
# the device tool's carry=["bench-results/gpu-carry"]. Needs network access to PyPI (pip download).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -x "$HOME/.cache/labelaudit/venv/bin/python" ] && [ -z "${PYTHON:-}" ]; then
    PY="$HOME/.cache/labelaudit/venv/bin/python"
fi
DATA=${1:-${LABELAUDIT_DATASETS:-../shared/datasets}}
CARRY=bench-results/gpu-carry
for split in cifar10-train cifar10-test; do
    [ -d "$DATA/$split" ] || { echo "error: $DATA/$split not found" >&2; exit 2; }
done
version() { "$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }
rm -rf "$CARRY.tmp"
mkdir -p "$CARRY.tmp/wheels"
wanted=()
for package in cleanlab SQLAlchemy platformdirs termcolor; do
    wanted+=("$package==$(version "$package")")
done
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$CARRY.tmp/wheels" "${wanted[@]}"
tar -C "$DATA" -czf "$CARRY.tmp/cifar10.tar.gz" cifar10-train cifar10-test
rm -rf "$CARRY"
mv "$CARRY.tmp" "$CARRY"
ls -l "$CARRY/wheels"
du -sh "$CARRY"
