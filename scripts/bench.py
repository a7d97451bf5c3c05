"""The whole benchmark suite under one entry, ending with one summary table.

Each benchmark measures something beside its baseline in the same run, on the same machine:

  features  astgan's cached, parallel log-mel extraction (cold and warm cache) vs a serial librosa
            loop (scripts/bench_features.py)
  gan       astgan's GAN training steps (time1d, grid2d) vs a 2-D DCGAN step, same recipe and loop
            (scripts/bench_gan.py)
  ast       astgan's train-ast step: sdpa attention vs eager on the CPU, bf16 vs fp32 on CUDA, and
            vs a plain transformers.Trainer on the same model and cached segments
            (scripts/bench_ast.py --trainer)
  e2e       `astgan demo --seeds 1` (with --quick in quick mode) run twice on the same folders:
            baseline = cold (fresh data folder and feature cache in a temporary folder), measured =
            warm (the same folders again: demo data and feature cache reused)

The three per-stage scripts run as they are, in child processes; each ends with a ``RESULT {json}``
line that this script reads. Their own tables are shown as they run.

    .venv/bin/python scripts/bench.py                 # --quick: a few minutes on a 2-core CPU
    .venv/bin/python scripts/bench.py --full          # every shape; the full demo (about 15 minutes)
    .venv/bin/python scripts/bench.py --device cuda   # on a GPU: adds AST-base, bf16 vs fp32 vs Trainer
    .venv/bin/python scripts/bench.py --only ast,e2e

The features benchmark reads data/demo (it writes the 120-song demo there first when missing,
about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ("features", "gan", "ast", "e2e")
STAGE_LINE = re.compile(r"^== (.+): (\d+(?:\.\d+)?)s$")  # run_demo's "== train-gan: 12.3s"


@dataclass
class Row:
    """One line of the summary: ``value`` measured beside ``base_value`` in ``unit``."""

    bench: str
    measured: str
    baseline: str
    value: float
    base_value: float
    unit: str  # "seg/s", "songs/s" (higher is better) or "s" (lower is better)
    on: str  # "CPU" or the GPU's name

    @property
    def speedup(self) -> float:
        """How many times faster than the baseline (> 1: faster)."""
        return self.base_value / self.value if self.unit == "s" else self.value / self.base_value


# --------------------------------------------------------------------------- running and parsing


def run_streamed(command: list[str], show=lambda line: True) -> tuple[int, str, float]:
    """Run ``command`` from the repository root, echo the output lines that ``show`` accepts.

    Returns (exit status, all of stdout and stderr, wall seconds).
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    for line in process.stdout:
        lines.append(line)
        if show(line) and not line.startswith("RESULT "):
            print("  " + line.rstrip("\n"), flush=True)
    status = process.wait()
    return status, "".join(lines), time.perf_counter() - started


def parse_result(output: str) -> dict:
    """The JSON of the last ``RESULT {json}`` line of a benchmark script's output."""
    for line in reversed(output.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise ValueError("no 'RESULT {json}' line in the output")


def parse_stage_timings(output: str) -> dict[str, float]:
    """Seconds of each stage of `astgan demo` from its "== <stage>: <seconds>s" lines, in order."""
    timings = {}
    for line in output.splitlines():
        match = STAGE_LINE.match(line.strip())
        if match:
            timings[match.group(1)] = float(match.group(2))
    return timings


def run_script(name: str, arguments: list[str]) -> dict:
    """Run ``scripts/<name>`` with the interpreter running this script; its RESULT line's JSON."""
    command = [sys.executable, str(ROOT / "scripts" / name), *arguments]
    print(f"\n== {' '.join([Path(sys.executable).name, 'scripts/' + name, *arguments])}", flush=True)
    status, output, _ = run_streamed(command)
    if status != 0:
        raise RuntimeError(f"scripts/{name} exited with status {status}")
    return parse_result(output)


# --------------------------------------------------------------------------- the four benchmarks


def bench_features(args) -> list[Row]:
    result = run_script("bench_features.py", ["--songs", "60" if args.quick else "120"])
    seconds, songs = result["seconds"], result["songs"]
    baseline = f"librosa load + melspectrogram, serial ({songs} songs)"
    return [Row("features", f"astgan extract, cold cache, {result['workers']} workers", baseline,
                songs / seconds["cold"], songs / seconds["librosa"], "songs/s", "CPU"),
            Row("features", "astgan extract, warm cache", baseline,
                songs / seconds["warm"], songs / seconds["librosa"], "songs/s", "CPU")]


def bench_gan(args) -> list[Row]:
    shapes = ["demo"] if args.quick and args.device == "cpu" else ["demo", "ast"]
    result = run_script("bench_gan.py", ["--device", args.device, "--shapes", *shapes])
    baselines = {row["shape"]: row for row in result["rows"] if row["baseline"]}
    return [Row("gan", f"G+D step, {row['model']}, {row['shape']}, batch {row['batch']}",
                "same step, 2-D DCGAN (transposed convolutions)", row["train_seg_per_s"],
                baselines[row["shape"]]["train_seg_per_s"], "seg/s", result["device"])
            for row in result["rows"] if not row["baseline"]]


def bench_ast(args) -> list[Row]:
    if args.device == "cuda":
        arguments = ["--shapes", "demo", "base", "--base-batch", "16"]
        arguments += ["--steps", "30", "--base-steps", "10", "--rounds", "1"] if args.quick else \
            ["--steps", "50", "--base-steps", "30", "--rounds", "3", "--base-rounds", "2"]
    else:
        arguments = ["--shapes", "demo", "--steps", "30", "--rounds", "3"] if args.quick else []
    result = run_script("bench_ast.py", ["--device", args.device, "--trainer", *arguments])
    rows = result["rows"]
    speed = {(row["shape"], row["variant"]): row["segments_per_s"] for row in rows}
    summary = [Row("ast", f"train-ast step, {row['variant']}, {row['shape']} shape, batch {row['batch']}",
                   f"same, {row['baseline'].removesuffix(' (baseline)')}", row["segments_per_s"],
                   speed[row["shape"], row["baseline"]], "seg/s", row["device"])
               for row in rows if row["loop"] == "astgan" and row["variant"] != row["baseline"]]
    summary += [Row("ast", f"train-ast step, {pair['astgan'].removesuffix(' (baseline)')}, {pair['shape']} shape",
                    "transformers.Trainer, same model, data, settings", pair["astgan_segments_per_s"],
                    pair["trainer_segments_per_s"], "seg/s", result["device"])
                for pair in result["vs_trainer"]]
    summary += [Row("ast", f"train-ast step, {pair['astgan']}, {pair['shape']} shape",
                    "bare loop, inputs already on the GPU (upper bound)", pair["astgan_segments_per_s"],
                    pair["upper_segments_per_s"], "seg/s", result["device"])
                for pair in result.get("vs_upper", [])]
    return summary


def bench_e2e(args) -> tuple[list[Row], dict[str, dict[str, float]]]:
    """`astgan demo` cold, then warm on the same folders; the row, and per run its stage timings and
    its "wall time" (the whole command: interpreter start, imports and the stages)."""
    demo = ["demo"] + (["--quick"] if args.quick else []) + ["--seeds", "1"]
    label = "astgan " + " ".join(demo)
    runs, walls = {}, {}
    with tempfile.TemporaryDirectory(prefix="astgan-bench-e2e-") as tmp:
        folders = [f"data.root={tmp}/data", f"features.cache_dir={tmp}/cache", f"run.dir={tmp}/run"]
        command = [sys.executable, "-m", "astgan", *demo, "--set", f"run.device={args.device}"]
        for folder in folders:
            command += ["--set", folder]
        for run in ("cold", "warm"):
            print(f"\n== {label} ({run}: {'a fresh' if run == 'cold' else 'the same'} data folder and feature cache "
                  f"under {tmp})", flush=True)
            status, output, walls[run] = run_streamed(command, show=lambda line: STAGE_LINE.match(line.strip()))
            if status != 0:
                print(output[-3000:])
                raise RuntimeError(f"astgan demo ({run}) exited with status {status}")
            runs[run] = {**parse_stage_timings(output), "wall time": walls[run]}
            print(f"  wall time {walls[run]:.1f}s", flush=True)
    on = device_name(args.device)
    rows = [Row("e2e", f"{label}, warm: demo data + feature cache reused", "same command, cold: fresh data + cache",
                walls["warm"], walls["cold"], "s", on)]
    return rows, runs


# --------------------------------------------------------------------------- the summary


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name()
    return "CPU"


def cpu_name() -> str:
    """The CPU model as /proc/cpuinfo names it (platform's guess elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_value(value: float, unit: str) -> str:
    return f"{value:.1f} s" if unit == "s" else f"{value:,.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def summary_table(rows: list[Row]) -> str:
    """One line per measurement: what, against what, both numbers, the speed-up, where it ran."""
    header = ["bench", "measured", "baseline", "measured value", "baseline value", "speed-up", "on"]
    cells = [[r.bench, r.measured, r.baseline, format_value(r.value, r.unit), format_value(r.base_value, r.unit),
              f"{r.speedup:.2f}x", r.on] for r in rows]
    widths = [max(len(str(line[i])) for line in [header] + cells) for i in range(len(header))]
    right = {3, 4, 5}  # numbers right-aligned
    lines = []
    for line in [header] + cells:
        lines.append("  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        if line is header:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def stage_table(runs: dict[str, dict[str, float]]) -> str:
    """The demo's stages, cold beside warm (a stage the warm run skipped shows '-'), then the time
    outside the stages (interpreter start, imports) and the wall time."""
    outside = "outside the stages (start-up, imports)"
    table = {}
    for run, timings in runs.items():
        stages = {k: v for k, v in timings.items() if k != "wall time"}
        table[run] = {**stages, outside: timings["wall time"] - sum(stages.values()), "wall time": timings["wall time"]}
    names = list(dict.fromkeys([*table["cold"], *table["warm"]]))
    names = [n for n in names if n not in (outside, "wall time")] + [outside, "wall time"]
    width = max(len(n) for n in names + ["stage"])
    lines = [f"  {'stage':<{width}}  {'cold':>7}  {'warm':>7}"]
    for name in names:
        lines.append(f"  {name:<{width}}  " + "  ".join(f"{t[name]:>6.1f}s" if name in t else f"{'-':>7}"
                                                        for t in (table["cold"], table["warm"])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small runs, a few minutes on a 2-core CPU (the default)")
    size.add_argument("--full", action="store_true", help="every shape, more steps and rounds, the full demo")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where GAN, AST and demo train")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}")
    args = parser.parse_args(argv)
    args.quick = not args.full
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown or not chosen:
        parser.error(f"--only: unknown benchmark(s) {unknown}; choose from {','.join(BENCHES)}")

    machine = f"{cpu_name()}, {os.cpu_count()} cores"
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: torch sees no CUDA device here; use --device cpu")
        machine += f"; GPU {device_name('cuda')}"
    mode = "quick" if args.quick else "full"
    print(f"machine: {machine}; python {platform.python_version()}; {mode} run", flush=True)
    started = time.perf_counter()
    rows, stages, failed = [], None, []
    for name in BENCHES:
        if name not in chosen:
            continue
        try:
            if name == "e2e":
                e2e_rows, stages = bench_e2e(args)
                rows += e2e_rows
            else:
                rows += {"features": bench_features, "gan": bench_gan, "ast": bench_ast}[name](args)
        except (RuntimeError, ValueError, KeyError) as err:
            print(f"!! {name} failed: {err}", flush=True)
            failed.append(name)

    print(f"\n== summary: {mode} run, {time.perf_counter() - started:.0f}s on {machine}")
    print("speed-up = measured / baseline throughput, or baseline / measured wall time: "
          "> 1x is faster than the baseline")
    print(summary_table(rows))
    if stages:
        print("\nastgan demo stage timings (baseline: cold run; measured: warm run):")
        print(stage_table(stages))
    if failed:
        print(f"\nfailed: {', '.join(failed)} (see the output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
