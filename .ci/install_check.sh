#!/usr/bin/env bash
# CI: does a bare install work? Installs this checkout into a fresh virtual environment WITHOUT the
# lock file (`pip install ".[dev]"`, whatever versions pip resolves today, no torchaudio), prints the
# versions it got, then runs the chain on a few demo songs in that environment: make-demo-data,
# extract, one GAN epoch, one AST epoch, evaluate; and the filterbank's recorded-values test. The
# environment (about 6 GB with a CUDA torch) lives in a temporary folder that is removed on exit,
# whether the check passed or not. Called at the end of .ci/run; ASTGAN_CI_INSTALL_CHECK=0 skips it.
# Usage: .ci/install_check.sh   (from anywhere; needs python3 with venv, and a package index)
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/astgan-install-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --upgrade pip
"$py" -m pip install -q "$checkout[dev]"
install_s=$((SECONDS - started))
"$py" -m pip check
"$py" - <<'EOF'
import importlib.metadata as m
import importlib.util

import astgan
import torch

print(f"astgan from {astgan.__file__}; torch build {torch.__version__}")
for name in ("torch", "transformers", "numpy", "librosa", "accelerate"):
    print(f"resolved {name}=={m.version(name)}")
# astgan needs no torchaudio; a bare install must not pull it in
assert importlib.util.find_spec("torchaudio") is None, "torchaudio was installed"
EOF
echo "install: ${install_s}s, venv $(du -sh "$work/venv" | cut -f1)"

# The chain on 12 short demo songs, in the temporary folder (the installed package, not src/).
cd "$work"
astgan="$work/venv/bin/astgan"
set_="--set data.root=demo --set features.cache_dir=cache --set run.dir=run --set features.num_workers=1"
"$astgan" make-demo-data --songs 12 --min-seconds 8 --max-seconds 10 --workers 1 demo
# shellcheck disable=SC2086  # $set_ is a list of options
"$astgan" extract $set_
# shellcheck disable=SC2086
"$astgan" train-gan $set_ --set gan.epochs=1
# shellcheck disable=SC2086
"$astgan" train-ast $set_ --set ast.epochs=1 --set ast.synthetic_ratio=0
# shellcheck disable=SC2086
"$astgan" evaluate $set_
test -s run/eval/report.md

# The filterbank's values against the recorded ones (the comparisons with torchaudio skip here).
cd "$checkout"
"$py" -m pytest -q -p no:cacheprovider tests/test_fbank.py
echo "install check passed in $((SECONDS - started))s"
