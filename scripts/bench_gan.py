"""GAN training and generation throughput, side by side with a baseline measured in the same run.

Baseline: a 2-D DCGAN of the kind GAN tutorials train (stride-2 transposed convolutions,
conditions as extra input maps, about 0.8 M parameters in G and 0.7 M in D at 64 x 256), trained
with the classic recipe by the same ``GanTrainer``. Measured beside it, at the demo shape (64 x
256, configs/demo.yaml) and at the AST shape (128 x 1024, configs/deam.yaml): astgan's first 1-D
pair (``gan.architecture=time1d``) with the classic recipe, and the default generator
(``grid2d``) with the packaged config's own recipe, alone and with ``gan.d_local``. One training
step = one D update + one G update (the extra-G-step rule is switched off so every model does the
same work). Random tensors stand in for segments: speed does not depend on the values.

Every model is warmed up for ``--warmup`` steps before the clock starts: on this 2-core VM the first
steps of a model are 2-10x slower than the rest while the allocator settles (the 2-D DCGAN baseline at
128 x 1024 took about 5 such steps), and with one warm-up step they dominated a 6-step timing.

    .venv/bin/python scripts/bench_gan.py              # about 2-3 minutes on a 2-core CPU
    .venv/bin/python scripts/bench_gan.py --shapes demo
    .venv/bin/python scripts/bench_gan.py --device cuda

The last line printed is ``RESULT {json}`` (one row per model and shape) for scripts/bench.py.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from astgan.config import load_config
from astgan.gan.models import count_parameters
from astgan.gan.train import GanTrainer
from astgan.gan.updates import DiscriminatorUpdate


class DcganGenerator(nn.Module):
    """z + c -> 4 stride-2 transposed convolutions (the architecture that left checkerboards)."""

    def __init__(self, n_mels: int, frames: int, latent_dim: int, width: int = 128):
        super().__init__()
        self.latent_dim, self.width = latent_dim, width
        self.start = (n_mels // 16, frames // 16)
        self.project = nn.Linear(latent_dim + 2, width * self.start[0] * self.start[1])
        layers = []
        for w_in, w_out in ((width, width // 2), (width // 2, width // 4), (width // 4, width // 8)):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1), nn.BatchNorm2d(w_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(width // 8, 1, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z, condition):
        x = self.project(torch.cat([z, condition], 1)).view(len(z), self.width, *self.start)
        return self.body(x).squeeze(1)


class DcganDiscriminator(nn.Module):
    """(segment + 2 condition maps) -> 4 stride-2 convolutions -> logit."""

    def __init__(self, n_mels: int, frames: int, width: int = 32):
        super().__init__()
        layers, w_in = [], 3
        for w_out in (width, width * 2, width * 4, width * 8):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1), nn.LeakyReLU(0.2)]
            w_in = w_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(w_in * (n_mels // 16) * (frames // 16), 1)

    def forward(self, x, condition):
        maps = condition[:, :, None, None].expand(-1, -1, *x.shape[1:])
        return self.head(self.body(torch.cat([x[:, None], maps], 1)).flatten(1)).squeeze(1)


def make_trainer(cfg, device, baseline: bool) -> GanTrainer:
    trainer = GanTrainer(cfg, device)
    if baseline:  # same recipe, optimisers and loop; only the networks differ
        n_mels, frames, gan = cfg.features.n_mels, cfg.features.segment_frames, trainer.gan
        trainer.generator = DcganGenerator(n_mels, frames, gan.latent_dim).to(device)
        trainer.opt_g = torch.optim.Adam(trainer.generator.parameters(), lr=gan.lr_g, betas=gan.betas)
        trainer.critic = DiscriminatorUpdate(DcganDiscriminator(n_mels, frames).to(device), gan, device,
                                             trainer.amp_dtype, fp16=False)
    return trainer


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_throughput(trainer: GanTrainer, batch: int, steps: int, warmup: int, device: torch.device) -> float:
    """Segments per second over ``steps`` training steps (after ``warmup`` untimed ones)."""
    cfg = trainer.cfg
    real = torch.randn(batch, cfg.features.n_mels, cfg.features.segment_frames, device=device)
    condition = torch.rand(batch, 2, device=device) * 2 - 1
    for _ in range(warmup):
        trainer.train_step(real, condition)
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(real, condition)
    _sync(device)
    return batch * steps / (time.perf_counter() - started)


@torch.no_grad()
def generation_throughput(generator: nn.Module, latent_dim: int, batch: int, repeats: int,
                          device: torch.device) -> float:
    generator.eval()
    z, condition = torch.randn(batch, latent_dim, device=device), torch.zeros(batch, 2, device=device)
    generator(z, condition)
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        generator(z, condition)
    _sync(device)
    generator.train()
    return batch * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"],
                        help="run.precision of every case (bf16: autocast on CUDA)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--steps", type=int, default=6, help="timed training steps per model and shape")
    parser.add_argument("--warmup", type=int, default=6, help="untimed training steps before the clock starts")
    parser.add_argument("--shapes", nargs="+", choices=["demo", "ast"], default=["demo", "ast"],
                        help="demo: 64 x 256 segments; ast: 128 x 1024")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    common = [f"run.device={args.device}", "gan.extra_g_step_threshold=1.0", f"run.precision={args.precision}"]
    classic = ["gan.recipe=classic"]
    first = ["gan.architecture=time1d", "gan.channels=32", "gan.latent_dim=64", "gan.condition_dim=16",
             "gan.d_deltas=false"]
    cases = [  # (shape, what runs, config, batch, baseline?); the baseline first in each shape
        ("demo 64 x 256", "baseline: 2-D DCGAN, classic", load_config("demo", common + classic), 32, True),
        ("demo 64 x 256", "astgan time1d, classic", load_config("demo", common + classic + first), 32, False),
        ("demo 64 x 256", "astgan grid2d, demo.yaml", load_config("demo", common), 32, False),
        ("demo 64 x 256", "grid2d + gan.d_local", load_config("demo", common + ["gan.d_local=true"]), 32, False),
        ("AST 128 x 1024", "baseline: 2-D DCGAN, classic", load_config("deam", common + classic), 8, True),
        ("AST 128 x 1024", "astgan time1d, classic",
         load_config("deam", common + classic + ["gan.architecture=time1d", "gan.d_deltas=false"]), 8, False),
        ("AST 128 x 1024", "astgan grid2d, deam.yaml", load_config("deam", common), 8, False),
        ("AST 128 x 1024", "grid2d + gan.d_local", load_config("deam", common + ["gan.d_local=true"]), 8, False),
    ]
    cases = [case for case in cases if case[0].split()[0].lower() in args.shapes]
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {device}" + (f" ({device_name})" if device.type == "cuda" else "")
          + f", torch threads {torch.get_num_threads()}, {args.steps} timed steps each after {args.warmup} warm-up")
    header = (f"{'shape':<15} {'model':<31} {'G params':>9} {'D params':>9} {'train seg/s':>12} {'ratio':>6} "
              f"{'generate /s':>12}")
    print(header)
    print("-" * len(header))
    baseline_speed, rows = {}, []
    for shape, name, cfg, batch, baseline in cases:
        torch.manual_seed(0)
        trainer = make_trainer(cfg, device, baseline)
        speed = train_throughput(trainer, batch, args.steps, args.warmup, device)
        if baseline:
            baseline_speed[shape] = speed
        generate = generation_throughput(trainer.generator, cfg.gan.latent_dim, 64, 3, device)
        rows.append({"shape": shape, "model": name, "baseline": baseline, "batch": batch,
                     "g_params": count_parameters(trainer.generator),
                     "d_params": count_parameters(trainer.discriminator), "train_seg_per_s": speed,
                     "ratio": speed / baseline_speed[shape], "generate_per_s": generate})
        print(f"{shape:<15} {name:<31} {rows[-1]['g_params']:>9,} {rows[-1]['d_params']:>9,} {speed:>12.1f} "
              f"{rows[-1]['ratio']:>5.1f}x {generate:>12.1f}", flush=True)
    print("RESULT " + json.dumps({"bench": "gan", "device": device_name, "threads": torch.get_num_threads(),
                                  "steps": args.steps, "warmup": args.warmup, "rows": rows}))


if __name__ == "__main__":
    main()
