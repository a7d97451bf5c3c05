#!/usr/bin/env bash
# The GPU check: the whole test suite, then the benchmarks on CUDA, on a machine with a GPU.
#
# Run it from the repository root:   bash scripts/gpu_check.sh
#
# A GPU machine that reaches no package registry (see GPU.md in the team's shared notes) has torch,
# torchaudio, transformers and accelerate but not librosa, soundfile, soxr and their helpers. Bring
# them as wheels in .whl/ (downloaded on a machine with network, for that machine's Python):
#
#   for p in librosa soundfile soxr audioread pooch platformdirs decorator cffi pycparser audmetric audeer; do
#     python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#       --platform any -d .whl "$p"
#   done
#
# This script installs .whl/*.whl (when present) into a private folder, runs the package from src/
# without installing it, and writes its logs under $OUT (or ./gpu-check-logs). Progress bars are
# kept out of the logs. Each step has its own time limit; the script goes on after a failed step
# and exits non-zero if any step failed.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu-check-logs}"
mkdir -p "$OUT"
SITE="${TMPDIR:-/tmp}/astgan-site"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
        || { echo "could not install .whl/*.whl" >&2; exit 1; }
    export PYTHONPATH="$SITE:$PWD/src"
else
    export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 MPLBACKEND=Agg

status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log, remember failures
    local name=$1 limit=$2
    shift 2
    echo "== $name (at most ${limit}s)"
    local started=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "   $name: exit $rc in $((SECONDS - started))s; log $OUT/$name.log"
    tail -n 5 "$OUT/$name.log" | sed 's/^/   | /'
    [ $rc -eq 0 ] || status=1
}

python3 - <<'EOF' | tee "$OUT/machine.txt"
import platform, torch, transformers, accelerate
name = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
print(f"{name}; torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}, "
      f"accelerate {accelerate.__version__}, Python {platform.python_version()}")
EOF

parallel=()
python3 -c "import xdist" 2>/dev/null && parallel=(-n 4)  # pytest-xdist, where the machine has it
step tests 900 python3 -m pytest -q -p no:cacheprovider "${parallel[@]}" tests
step bench 1200 python3 scripts/bench.py --device cuda --quick
exit $status
