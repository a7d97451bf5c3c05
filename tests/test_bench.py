"""scripts/bench.py: it starts, and it reads what the benchmark scripts and the demo print.

No benchmark runs here: the parsing is checked on text in the scripts' own formats.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str):
    """scripts/<name>.py as a module (registered first: its dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", SCRIPTS / f"{name}.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_runs():
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench.py"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--only" in done.stdout and "--device" in done.stdout


def test_unknown_benchmark_is_refused():
    with pytest.raises(SystemExit):
        load_script("bench").main(["--only", "features,gpu"])


def test_result_line_is_the_last_one():
    bench = load_script("bench")
    output = 'table\nRESULT {"bench": "gan", "rows": []}\nwarning\nRESULT {"bench": "ast", "rows": [1]}\ntrailing log\n'
    assert bench.parse_result(output) == {"bench": "ast", "rows": [1]}
    with pytest.raises(ValueError, match="RESULT"):
        bench.parse_result("no result here\n")


def test_stage_timings_of_the_demo_output():
    bench = load_script("bench")
    output = ("\n== extract\nsplit: 16 train songs\n== extract: 1.2s\n\n== train-gan\n== train-gan: 12.0s\n"
              "== train-ast (real + synthetic, seed 0): 2.1s\n"
              "stage timings: extract 1s, train-gan 12s; total 13s\n")
    assert bench.parse_stage_timings(output) == {
        "extract": 1.2, "train-gan": 12.0, "train-ast (real + synthetic, seed 0)": 2.1}


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_every_trainer_run_has_an_astgan_twin_with_the_same_settings(device):
    bench_ast = load_script("bench_ast")
    for shape in bench_ast.SHAPES:
        runs = bench_ast.variants(device, shape, trainer=True)
        by_name = {run["name"]: run for run in runs}
        trainer_runs = [run for run in runs if run.get("loop") == "trainer"]
        assert trainer_runs
        for run in trainer_runs:
            twin = by_name[run["twin"]]
            assert twin.get("loop", "astgan") == "astgan"
            assert {k: twin[k] for k in ("precision", "attention", "workers")} == \
                   {k: run[k] for k in ("precision", "attention", "workers")}
