"""Training throughput of the AST regressor, and the share of step time spent waiting for data.

Two shapes, each trained for a few optimiser steps with the library's own ``AstTrainer.train_epoch``
(through accelerate) on real demo segments, kept in memory on the training device with SpecAugment
applied there per batch (what ``train-ast`` does):

- ``demo``: the demo config's model (64 mel bins x 256 frames, hidden 64, 2 layers, batch 32);
- ``base``: AST-base (128 x 1024, hidden 768, 12 layers, 12 heads, strides 10, batch 2 on CPU).

Every variant is printed beside a baseline run of the same shape, as a throughput ratio:

- on the CPU (default): baseline = Hugging Face's eager attention; variant = PyTorch sdpa
  attention (what astgan uses);
- with ``--device cuda``: baseline = fp32; variants = bf16 autocast (the ``run.precision=auto``
  choice) at the same batch, bf16 at the batch ``train-ast`` picks on CUDA (``--auto-batch``), and
  the upper bound of the same model: a bare loop whose inputs already sit on the GPU, bf16, sdpa,
  fused AdamW, no masking and no bookkeeping (``--upper``).

``--trainer`` adds the route a user would take instead of astgan: a plain Hugging Face
``transformers.Trainer`` fine-tuning ``ASTForAudioClassification(problem_type="regression",
num_labels=2)``, built from the same ``ASTConfig``, on the same real TRAIN segments of the same
feature cache (astgan's ``SegmentDataset`` yielding ``{"input_values": (frames, n_mels), "labels":
(2,)}``), with the same batch size, attention, DataLoader workers and precision (the CPU: beside
``sdpa attention, 0 workers``; CUDA: beside both fp32 and bf16). Its steps are timed like astgan's:
wall time over ``--steps`` steps after the warm-up ones, data loading included (a callback reads the
clock at the end of the last warm-up step and of the last step, synchronising CUDA there). Each
pair is printed as astgan's throughput over the Trainer's. Both apply the same SpecAugment to every
item. Differences left in on purpose: astgan's head is one linear layer on the pooled tokens
where ``ASTForAudioClassification`` has LayerNorm + linear; the Trainer uses its defaults
(fused AdamW where available, linear schedule) with astgan's learning rate, weight decay and
gradient clipping.

Each run is a fresh subprocess, so accelerate's one-per-process precision setting and the warm-up of
one run never leak into another; the variants are interleaved over ``--rounds`` and the median is
printed, so that other work on a shared machine slows them all alike. Usage::

    python scripts/bench_ast.py                      # CPU, both shapes (the base shape takes minutes)
    python scripts/bench_ast.py --shapes demo --steps 30
    python scripts/bench_ast.py --device cuda --steps 50 --base-batch 16
    python scripts/bench_ast.py --shapes demo --trainer       # astgan's step vs transformers.Trainer's
    python scripts/bench_ast.py --device cuda --shapes base --base-steps 30 --base-batch 16 --trainer

The last line printed is ``RESULT {json}`` (every variant's median, and the astgan/Trainer pairs)
for scripts/bench.py.
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


def variants(device: str, shape: str, trainer: bool = False) -> list[dict]:
    """The runs of one shape; the first is the baseline. A Trainer run names its astgan ``twin``."""
    if device == "cuda":
        common = {"attention": "sdpa", "workers": 0}
        runs = [{"name": "fp32 (baseline)", "precision": "fp32", **common},
                {"name": "bf16", "precision": "bf16", **common},
                {"name": "bf16, train-ast's CUDA batch", "precision": "bf16", "auto_batch": True, **common},
                {"name": "upper bound: bare bf16 loop, inputs on the GPU", "precision": "bf16", "loop": "upper",
                 "twin": "bf16", **common}]
    else:
        runs = [
            {"name": "eager attention (baseline)", "attention": "eager", "workers": 0, "precision": "fp32"},
            {"name": "sdpa attention", "attention": "sdpa", "workers": 0, "precision": "fp32"},
        ]
    if trainer:
        twins = runs[:2] if device == "cuda" else [runs[1]]
        runs += [{**twin, "name": "HF Trainer, " + twin["name"].removesuffix(" (baseline)"), "loop": "trainer",
                  "twin": twin["name"]} for twin in twins]
    return runs


# --------------------------------------------------------------------------- one run (child process)


def child_config(args: argparse.Namespace):
    """configs/demo.yaml at the run's shape, device, precision, workers and batch; real data only."""
    import logging

    from astgan.config import load_config

    logging.getLogger("astgan").setLevel(logging.WARNING)
    overrides = SHAPES[args.shape]["overrides"] + [
        f"run.dir={args.run_dir}", f"run.device={args.device}", f"run.precision={args.precision}",
        f"run.num_workers={args.workers}", "ast.synthetic_ratio=0",
    ]
    if args.batch:
        overrides.append(f"ast.batch_size={args.batch}")
    return load_config("demo", overrides)


def run_one(args: argparse.Namespace) -> dict:
    """Train ``args.steps`` timed steps (after ``args.warmup``) with astgan's loop; return the measurements."""
    import itertools

    import torch

    from astgan.data.prepare import prepare_data
    from astgan.regressor.accelerator import device_batch, make_accelerator
    from astgan.regressor.model import build_regressor
    from astgan.regressor.train import AstTrainer, make_training_data

    # one long schedule without warmup: the timed steps all run at a full learning rate
    cfg = child_config(args).with_overrides("ast.warmup_fraction=0", "ast.epochs=1")
    torch.manual_seed(0)
    accelerator = make_accelerator(cfg)
    if args.auto_batch:
        cfg = device_batch(cfg, accelerator.device)
    data = prepare_data(cfg, progress=False)
    training = make_training_data(cfg, data, accelerator.device)
    model = build_regressor(cfg)
    model.encoder.set_attn_implementation(args.attention)
    trainer = AstTrainer(cfg, model, 10_000, accelerator)

    def steps(n: int):
        epochs = itertools.chain.from_iterable(training.batches.epoch(e) for e in itertools.count(1))
        return trainer.train_epoch(itertools.islice(epochs, n), n, progress=False)

    steps(args.warmup)
    if accelerator.device.type == "cuda":
        torch.cuda.synchronize()
    result = steps(args.steps)
    segments = result.steps * cfg.ast.batch_size
    return {"segments_per_s": segments / result.seconds, "data_wait": result.data_wait, "steps": result.steps,
            "batch": cfg.ast.batch_size, "seconds": result.seconds,
            "device": torch.cuda.get_device_name() if accelerator.device.type == "cuda" else "CPU",
            "threads": torch.get_num_threads()}


def run_upper_bound(args: argparse.Namespace) -> dict:
    """The same model in a bare loop: one input batch already on the device, bf16 autocast, sdpa,
    fused AdamW, MSE, no masking, no clipping and no logging. What the hardware allows this model."""
    import time

    import torch

    from astgan.regressor.model import build_regressor

    cfg = child_config(args)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_regressor(cfg).to(device)
    model.encoder.set_attn_implementation("sdpa")
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.ast.lr, fused=device.type == "cuda")
    batch = args.batch or cfg.ast.batch_size
    specs = torch.randn(batch, cfg.features.n_mels, cfg.features.segment_frames, device=device)
    labels = torch.rand(batch, 2, device=device) * 2 - 1
    dtype = torch.bfloat16 if args.precision == "bf16" else None

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = torch.nn.functional.mse_loss(model(specs).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {"segments_per_s": args.steps * batch / seconds, "data_wait": None, "steps": args.steps, "batch": batch,
            "seconds": seconds, "device": torch.cuda.get_device_name() if device.type == "cuda" else "CPU",
            "threads": torch.get_num_threads()}


def run_trainer(args: argparse.Namespace) -> dict:
    """The same model, data and steps through a plain ``transformers.Trainer``; the same measurements."""
    import tempfile
    import time

    import torch
    from transformers import ASTForAudioClassification, Trainer, TrainerCallback, TrainingArguments

    from astgan.data.augment import SpecAugment
    from astgan.data.datasets import SegmentDataset
    from astgan.data.prepare import prepare_data
    from astgan.regressor.model import ast_config_from

    if args.warmup < 1:
        raise SystemExit("the Trainer run needs at least one warm-up step (its clock starts at a step's end)")
    cuda = args.device == "cuda"

    class StepClock(TrainerCallback):
        """Clock readings at the end of the last warm-up step and of the last timed step."""

        def __init__(self):
            self.at: dict[int, float] = {}

        def on_step_end(self, training_args, state, control, **kwargs):
            if state.global_step in (args.warmup, args.warmup + args.steps):
                if cuda:
                    torch.cuda.synchronize()
                self.at[state.global_step] = time.perf_counter()

    class TrainerSegments(torch.utils.data.Dataset):
        """astgan's segments as a Trainer reads them: {"input_values": (frames, n_mels), "labels": (2,)}."""

        def __init__(self, segments: SegmentDataset, augment: SpecAugment):
            self.segments, self.augment = segments, augment
            self.generator = torch.Generator().manual_seed(0)

        def __len__(self) -> int:
            return len(self.segments)

        def __getitem__(self, index: int) -> dict:
            spec, label = self.segments[index]  # (n_mels, frames), (2,)
            return {"input_values": self.augment(spec[None], self.generator)[0].T, "labels": label}

    cfg = child_config(args)
    torch.manual_seed(0)
    data = prepare_data(cfg, progress=False)
    train = TrainerSegments(data.segments("train"),
                            SpecAugment(cfg.ast.freq_mask, cfg.ast.time_mask))  # the same masks as astgan's
    ast_config = ast_config_from(cfg)
    ast_config.num_labels, ast_config.problem_type = 2, "regression"
    model = ASTForAudioClassification(ast_config)
    model.set_attn_implementation(args.attention)
    clock = StepClock()
    with tempfile.TemporaryDirectory() as out:
        training_args = TrainingArguments(
            output_dir=out, max_steps=args.warmup + args.steps, per_device_train_batch_size=cfg.ast.batch_size,
            learning_rate=cfg.ast.lr, weight_decay=cfg.ast.weight_decay, max_grad_norm=cfg.ast.grad_clip,
            bf16=args.precision == "bf16", use_cpu=not cuda, dataloader_num_workers=args.workers,
            dataloader_persistent_workers=args.workers > 0, eval_strategy="no", save_strategy="no",
            logging_strategy="no", report_to=[], disable_tqdm=True, seed=0,
        )
        Trainer(model=model, args=training_args, train_dataset=train, callbacks=[clock]).train()
    seconds = clock.at[args.warmup + args.steps] - clock.at[args.warmup]
    return {"segments_per_s": args.steps * cfg.ast.batch_size / seconds, "data_wait": None, "steps": args.steps,
            "batch": cfg.ast.batch_size, "seconds": seconds,
            "device": torch.cuda.get_device_name() if cuda else "CPU", "threads": torch.get_num_threads()}


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
    parser.add_argument("--trainer", action="store_true",
                        help="also train the same model with a plain transformers.Trainer, paired with astgan's run")
    # child mode: one run, printed as JSON
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shape", default="demo", help=argparse.SUPPRESS)
    parser.add_argument("--attention", default="sdpa", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--loop", choices=["astgan", "trainer", "upper"], default="astgan", help=argparse.SUPPRESS)
    parser.add_argument("--auto-batch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = {"trainer": run_trainer, "upper": run_upper_bound}.get(args.loop, run_one)
        print(json.dumps(run(args)))
        return

    print(f"{'shape':<6} {'variant':<40} {'seg/s':>8} {'data wait':>10} {'vs baseline':>12}  (median of rounds)")
    rows, pairs = [], []
    for shape in args.shapes:
        n_steps = args.steps if shape == "demo" else args.base_steps
        batch = None if shape == "demo" else (args.base_batch or (8 if args.device == "cuda" else 2))
        rounds = args.rounds if shape == "demo" else args.base_rounds
        runs = variants(args.device, shape, args.trainer)
        results: dict[str, list[dict]] = {v["name"]: [] for v in runs}
        for _ in range(rounds):  # variants interleaved, so a busy moment of a shared machine hits them all
            for variant in runs:
                command = [sys.executable, __file__, "--child", "--shape", shape, "--device", args.device,
                           "--attention", variant["attention"], "--workers", str(variant["workers"]),
                           "--precision", variant["precision"], "--steps", str(n_steps), "--run-dir", args.run_dir,
                           "--warmup", "2" if shape == "demo" else "1", "--loop", variant.get("loop", "astgan")]
                if variant.get("auto_batch"):
                    command.append("--auto-batch")
                if batch:
                    command += ["--batch", str(batch)]
                done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
                if done.returncode != 0:
                    sys.exit(f"{shape} / {variant['name']} failed:\n{done.stderr[-3000:]}")
                results[variant["name"]].append(json.loads(done.stdout.strip().splitlines()[-1]))
        speeds = {}
        for variant in runs:
            measured = results[variant["name"]]
            speed = speeds[variant["name"]] = statistics.median(r["segments_per_s"] for r in measured)
            waits = [r["data_wait"] for r in measured if r["data_wait"] is not None]
            wait = f"{statistics.median(waits):>9.0%}" if waits else f"{'-':>9}"
            baseline = speeds[runs[0]["name"]]
            first = measured[0]
            spread = ", ".join(f"{r['segments_per_s']:.3g}" for r in measured)
            rows.append({"shape": shape, "variant": variant["name"], "loop": variant.get("loop", "astgan"),
                         "precision": variant["precision"], "segments_per_s": speed, "ratio": speed / baseline,
                         "baseline": runs[0]["name"], "steps": first["steps"], "batch": first["batch"],
                         "rounds": len(measured), "device": first["device"], "threads": first["threads"]})
            print(f"{shape:<6} {variant['name']:<40} {speed:>8.3g} {wait} {speed / baseline:>11.2f}x  "
                  f"({first['steps']} steps x {first['batch']}, {first['batch'] / speed:.2f}s a step; "
                  f"rounds: {spread}; {first['device']}, {first['threads']} threads)", flush=True)
        for variant in runs:
            if variant.get("loop") in ("trainer", "upper"):
                astgan, other = speeds[variant["twin"]], speeds[variant["name"]]
                pairs.append({"shape": shape, "astgan": variant["twin"], variant["loop"]: variant["name"],
                              "precision": variant["precision"], "astgan_segments_per_s": astgan,
                              f"{variant['loop']}_segments_per_s": other, "ratio": astgan / other})
                against = "HF Trainer" if variant["loop"] == "trainer" else "the upper bound"
                print(f"{shape:<6} astgan train-ast vs {against} ({variant['twin'].removesuffix(' (baseline)')}, "
                      f"same batch): {astgan:.3g} vs {other:.3g} seg/s -> astgan {astgan / other:.2f}x", flush=True)
    print("RESULT " + json.dumps({"bench": "ast", "device": rows[0]["device"] if rows else None, "rows": rows,
                                  "vs_trainer": [p for p in pairs if "trainer" in p],
                                  "vs_upper": [p for p in pairs if "upper" in p]}))

if __name__ == "__main__":
    main()
