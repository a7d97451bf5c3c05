"""Training throughput of the AST regressor, and the share of step time spent waiting for data.

Two shapes, each trained for a few optimiser steps with the library's own ``train_epoch`` (through
accelerate) on real demo segments:

- ``demo``: configs/demo.yaml's model (64 mel bins x 256 frames, hidden 64, 2 layers, batch 32);
- ``base``: AST-base (128 x 1024, hidden 768, 12 layers, 12 heads, strides 10, batch 2 on CPU).

Every variant is printed beside a baseline run of the same shape, as a throughput ratio:

- on the CPU (default): baseline = Hugging Face's eager attention with ``run.num_workers=0``;
  variants = PyTorch sdpa attention (what astgan uses), and sdpa with one DataLoader worker
  (demo shape only: it overlaps reading and SpecAugment with compute);
- with ``--device cuda``: baseline = fp32; variant = bf16 autocast (the ``run.precision=auto`` choice),
  both with sdpa, 4 DataLoader workers and pinned memory.

Each run is a fresh subprocess, so accelerate's one-per-process precision setting and the warm-up of
one run never leak into another; the variants are interleaved over ``--rounds`` and the median is
printed, so that other work on a shared machine slows them all alike. Usage::

    python scripts/bench_ast.py                      # CPU, both shapes (the base shape takes minutes)
    python scripts/bench_ast.py --shapes demo --steps 30
    python scripts/bench_ast.py --device cuda --steps 50 --base-batch 16
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SHAPES = {
    "demo": {  # configs/demo.yaml as it is
        "overrides": [],
    },
    "base": {  # AST-base on 10.24 s segments, as configs/deam.yaml trains it (weights random here)
        "overrides": [
            "features.n_mels=128", "features.segment_frames=1024", "features.segment_hop=512",
            "ast.hidden_size=768", "ast.num_layers=12", "ast.num_heads=12", "ast.intermediate_size=3072",
            "ast.frequency_stride=10", "ast.time_stride=10", "ast.freq_mask=24", "ast.time_mask=96",
        ],
    },
}


def variants(device: str, shape: str) -> list[dict]:
    """The runs of one shape; the first is the baseline."""
    if device == "cuda":
        common = {"attention": "sdpa", "workers": 4}
        return [{"name": "fp32 (baseline)", "precision": "fp32", **common},
                {"name": "bf16", "precision": "bf16", **common}]
    runs = [{"name": "eager attention, 0 workers (baseline)", "attention": "eager", "workers": 0, "precision": "fp32"},
            {"name": "sdpa attention, 0 workers", "attention": "sdpa", "workers": 0, "precision": "fp32"}]
    if shape == "demo":
        runs.append({"name": "sdpa attention, 1 worker", "attention": "sdpa", "workers": 1, "precision": "fp32"})
    return runs


# --------------------------------------------------------------------------- one run (child process)


def run_one(args: argparse.Namespace) -> dict:
    """Train ``args.steps`` timed steps (after ``args.warmup``) and return the measurements."""
    import logging

    import torch

    from astgan.config import load_config
    from astgan.epochs import train_epoch
    from astgan.prepare import prepare_data
    from astgan.regressor import build_regressor
    from astgan.schedules import make_optimizer, make_scheduler
    from astgan.train import make_accelerator, make_datasets, make_loaders

    logging.getLogger("astgan").setLevel(logging.WARNING)
    overrides = SHAPES[args.shape]["overrides"] + [
        f"run.dir={args.run_dir}", f"run.device={args.device}", f"run.precision={args.precision}",
        f"run.num_workers={args.workers}", "ast.synthetic_ratio=0",
    ]
    if args.batch:
        overrides.append(f"ast.batch_size={args.batch}")
    cfg = load_config(ROOT / "configs" / "demo.yaml", overrides)
    torch.manual_seed(0)
    accelerator = make_accelerator(cfg)
    data = prepare_data(cfg, progress=False)
    pool, val = make_datasets(cfg, data)
    model = build_regressor(cfg)
    model.encoder.set_attn_implementation(args.attention)
    optimizer = make_optimizer(model, cfg.ast)
    scheduler = make_scheduler(optimizer, 10_000, 0.0)
    train_loader, _, sampler = make_loaders(cfg, pool, val, accelerator.device)
    model, optimizer, train_loader, scheduler = accelerator.prepare(model, optimizer, train_loader, scheduler)

    def steps(n: int):
        sampler.samples_per_epoch = min(n * cfg.ast.batch_size, len(pool))
        return train_epoch(model, train_loader, optimizer, scheduler, accelerator, cfg.ast.loss,
                           cfg.ast.grad_clip, progress=False)

    steps(args.warmup)
    if accelerator.device.type == "cuda":
        torch.cuda.synchronize()
    result = steps(args.steps)
    segments = result.steps * cfg.ast.batch_size
    return {"segments_per_s": segments / result.seconds, "data_wait": result.data_wait, "steps": result.steps,
            "batch": cfg.ast.batch_size, "seconds": result.seconds,
            "device": torch.cuda.get_device_name() if accelerator.device.type == "cuda" else "CPU",
            "threads": torch.get_num_threads()}


# --------------------------------------------------------------------------- the table (parent process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--steps", type=int, default=20, help="timed steps of the demo shape")
    parser.add_argument("--base-steps", type=int, default=2, help="timed steps of the base shape")
    parser.add_argument("--base-batch", type=int, default=None, help="batch of the base shape (2 on CPU, 8 on CUDA)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions of the demo shape")
    parser.add_argument("--base-rounds", type=int, default=1, help="interleaved repetitions of the base shape")
    parser.add_argument("--run-dir", default="runs/ast-bench", help="run folder for the split and statistics")
    # child mode: one run, printed as JSON
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shape", default="demo", help=argparse.SUPPRESS)
    parser.add_argument("--attention", default="sdpa", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args)))
        return

    print(f"{'shape':<6} {'variant':<40} {'seg/s':>8} {'data wait':>10} {'vs baseline':>12}  (median of rounds)")
    for shape in args.shapes:
        n_steps = args.steps if shape == "demo" else args.base_steps
        batch = None if shape == "demo" else (args.base_batch or (8 if args.device == "cuda" else 2))
        rounds = args.rounds if shape == "demo" else args.base_rounds
        runs = variants(args.device, shape)
        results: dict[str, list[dict]] = {v["name"]: [] for v in runs}
        for _ in range(rounds):  # variants interleaved, so a busy moment of a shared machine hits them all
            for variant in runs:
                command = [sys.executable, __file__, "--child", "--shape", shape, "--device", args.device,
                           "--attention", variant["attention"], "--workers", str(variant["workers"]),
                           "--precision", variant["precision"], "--steps", str(n_steps), "--run-dir", args.run_dir,
                           "--warmup", "2" if shape == "demo" else "1"]
                if batch:
                    command += ["--batch", str(batch)]
                done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
                if done.returncode != 0:
                    sys.exit(f"{shape} / {variant['name']} failed:\n{done.stderr[-3000:]}")
                results[variant["name"]].append(json.loads(done.stdout.strip().splitlines()[-1]))
        baseline = None
        for name, measured in results.items():
            speed = statistics.median(r["segments_per_s"] for r in measured)
            wait = statistics.median(r["data_wait"] for r in measured)
            baseline = baseline or speed
            first = measured[0]
            spread = ", ".join(f"{r['segments_per_s']:.3g}" for r in measured)
            print(f"{shape:<6} {name:<40} {speed:>8.3g} {wait:>9.0%} {speed / baseline:>11.2f}x  "
                  f"({first['steps']} steps x {first['batch']}, {first['batch'] / speed:.2f}s a step; rounds: {spread}; "
                  f"{first['device']}, "
                  f"{first['threads']} threads)", flush=True)

if __name__ == "__main__":
    main()
