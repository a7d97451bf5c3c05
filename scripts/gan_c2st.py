"""The classifier two-sample test of a run folder's generator or synthetic set, printed as a table.

Real VAL segments (at most 512) against as many synthetic ones, beside the real-vs-real floor (VAL
against TRAIN songs); see astgan.synthetic.c2st. Two sources of synthetic segments:

- ``--source generator`` (default): the run's gan/generator.pt draws one segment at the label of each
  VAL segment, as the quality report does;
- ``--source last``: the generator (its moving average) in gan/last.pt, which train-gan rewrites after
  every epoch: the C2ST of a training that is still running, or was stopped;
- ``--source set``: the run's synthetic/synthetic.npz, each VAL segment matched with the unused
  synthetic segment nearest to its label (for sets whose generator this release cannot load, e.g. a
  first-release run; the set must be in this release's normalised log-mel space).

    .venv/bin/python scripts/gan_c2st.py -c demo --set run.dir=runs/demo
    .venv/bin/python scripts/gan_c2st.py -c demo --set run.dir=runs/old --source set --seeds 0 1 2

The last line printed is ``RESULT {json}`` (the c2st block of each seed).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from astgan.config import load_config
from astgan.data.prepare import prepare_data
from astgan.gan.models import load_generator
from astgan.regressor.train import load_synthetic
from astgan.runtime import seed_everything
from astgan.synthetic.c2st import held_out_subset, run_c2st
from astgan.synthetic.quality_text import c2st_rows
from astgan.synthetic.synthesis import generate


def nearest_label_match(wanted: np.ndarray, available: np.ndarray, seed: int) -> np.ndarray:
    """(N,) rows of (M, 2) ``available`` labels, each used once, nearest to each of (N, 2) ``wanted``
    (greedy, in a seeded random order of ``wanted``)."""
    if len(available) < len(wanted):
        raise ValueError(f"the synthetic set has {len(available)} segments, the test needs {len(wanted)}")
    free = np.ones(len(available), bool)
    chosen = np.empty(len(wanted), np.int64)
    for i in np.random.default_rng(seed).permutation(len(wanted)):
        distance = np.where(free, np.abs(available - wanted[i]).sum(axis=1), np.inf)
        chosen[i] = int(np.argmin(distance))
        free[chosen[i]] = False
    return chosen


def last_generator(cfg):
    """The sampling generator of ``gan/last.pt`` and the epochs it has trained."""
    import torch

    from astgan.artifacts import load_checkpoint
    from astgan.config import Config
    from astgan.gan.train import GanTrainer

    checkpoint = load_checkpoint(cfg.paths.gan_last, produced_by="train-gan")
    trainer = GanTrainer(Config.from_dict(checkpoint["config"]), torch.device("cpu"))
    trainer.load_state_dict(checkpoint["trainer"])
    return trainer.sampling_generator.eval(), int(checkpoint["epoch"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default="demo")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--source", choices=("generator", "last", "set"), default="generator")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the draws and the folds")
    parser.add_argument("--no-cnn", action="store_true")
    args = parser.parse_args()
    cfg = load_config(args.config, args.overrides)
    seed_everything(cfg.synth.seed, cfg.run.threads)
    data = prepare_data(cfg, progress=False)
    train, val = data.segments("train"), data.segments("val")
    results = []
    for seed in args.seeds:
        picked = held_out_subset(val.song_ids, seed)
        if args.source in ("generator", "last"):
            if args.source == "last":
                generator, epochs = last_generator(cfg)
                print(f"gan/last.pt after {epochs} epochs")
            else:
                generator, _ = load_generator(cfg.paths.generator)
            synthetic = generate(generator, val.labels[picked], cfg.synth.batch_size, seed + 3)
        else:
            specs, labels = load_synthetic(cfg)
            synthetic = specs[nearest_label_match(val.labels[picked], labels, seed)].astype(np.float32)
        block = run_c2st(val.stack(picked), val.song_ids[picked], synthetic, train, train.song_ids, seed=seed,
                         cnn=not args.no_cnn)
        results.append(block)
        print(f"\nseed {seed}: {block['segments_per_side']} VAL segments ({block['songs']} songs), "
              f"floor {block['floor_segments_per_side']}, {block['folds']} folds, {block['seconds']:.1f} s "
              f"({block['cpu_seconds']:.1f} s CPU)")
        print("| features, classifier | accuracy vs synthetic | floor | gap |\n|---|---:|---:|---:|")
        for row in c2st_rows(block):
            print("| " + " | ".join(row) + " |")
        print(f"largest gap {block['max_gap']:+.3f} ({block['worst']}): target "
              f"{'met' if block['met'] else 'missed'}")
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main()
