"""The config's sections, one typed dataclass each, with their defaults and their rules (``check``).

A missing key takes the default written here; ``check`` says what a wrong value must be instead.
The ``gan`` section and its recipes are in :mod:`astgan.config.gan`; the config that holds every
section, in :mod:`astgan.config.experiment`. A new section is a dataclass here with a ``check``
method, and a field of :class:`~astgan.config.experiment.Config`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from astgan.config.values import fail, require_positive


@dataclass
class DataConfig:
    """Which dataset, and where it lives (each layout: docs/datasets.md).

    ``root`` is searched for the dataset's annotation files and audio folder (deam, pmemo,
    emomusic); for a manifest it is the manifest CSV (or a folder holding ``manifest.csv``): one key
    says where the data is, whatever the dataset. ``label_scale`` is the [lo, hi] scale of a
    manifest's valence and arousal; the known datasets have their own (deam and emomusic 1..9,
    pmemo 0..1).
    """

    dataset: Literal["deam", "pmemo", "emomusic", "manifest"] = "deam"
    root: str = "data/demo"
    label_scale: tuple[float, float] | None = None  # manifest only: [lo, hi], e.g. [1, 9] or [0, 1]
    max_songs: int | None = None  # keep only the first N songs (by id; a manifest's first rows): quick experiments

    def check(self) -> None:
        require_positive("data", self, "max_songs")
        if self.dataset == "manifest" and self.label_scale is None:
            fail("data.label_scale", "data.dataset=manifest needs the [lo, hi] scale of its valence and arousal "
                 "columns, e.g. [1, 9] or [0, 1]")
        if self.dataset != "manifest" and self.label_scale is not None:
            fail("data.label_scale", f"{self.dataset} has its own scale; set data.label_scale only for "
                 "data.dataset=manifest")
        if self.label_scale is not None and not self.label_scale[0] < self.label_scale[1]:
            fail("data.label_scale", f"must be [lo, hi] with lo < hi, got {list(self.label_scale)}")


@dataclass
class FeaturesConfig:
    """Log-mel extraction (Kaldi fbank, as AST was pretrained on) and segmenting."""

    sample_rate: int = 16000
    n_mels: int = 128
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    segment_frames: int = 1024  # frames per segment = the AST's max_length
    segment_hop: int = 512  # frames between segment starts
    max_segments_per_song: int | None = None  # evenly spaced subset for very long songs
    # auto: AudioSet statistics with a pretrained AST, TRAIN statistics otherwise
    normalization: Literal["auto", "train", "audioset"] = "auto"
    cache_dir: str = "data/cache"
    num_workers: int = 2  # extraction processes

    def check(self) -> None:
        require_positive(
            "features", self, "sample_rate", "n_mels", "frame_length_ms", "frame_shift_ms",
            "segment_frames", "segment_hop", "max_segments_per_song", "num_workers",
        )
        if self.n_mels < 8:
            fail("features.n_mels", f"must be >= 8, got {self.n_mels}")


@dataclass
class SplitConfig:
    """Song-level train/val/test split, made once and saved in the run folder."""

    train: float = 0.7
    val: float = 0.15
    test: float = 0.15
    seed: int = 0
    stratify: bool = True  # keep the V/A quadrant mix equal across splits

    def check(self) -> None:
        for name in ("train", "val", "test"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                fail(f"split.{name}", f"must be a fraction in (0, 1), got {value}")
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            fail("split", f"train + val + test must sum to 1, got {total:g}")


@dataclass
class SynthConfig:
    """Synthetic spectrograms drawn from the trained generator."""

    n: int = 1024
    batch_size: int = 64
    # conditions: empirical = TRAIN songs' labels; uniform = the box they span; balanced = TRAIN
    # labels resampled by inverse density over the V/A plane (more mass in sparse regions)
    sampler: Literal["empirical", "uniform", "balanced"] = "empirical"
    jitter: float = 0.05  # std of the noise added to resampled labels (empirical, balanced; -1..1 scale)
    seed: int = 0
    # The quality report's learned feature space (the judge): unset = a small AST trained on the run's
    # real TRAIN segments (cached in synthetic/judge.pt); or a path to an ast/best.pt trained on real
    # data only (ast.synthetic_ratio = 0), e.g. a study cell's real-only regressor.
    judge: str | None = None
    # Label-consistency filter: draw this many times synth.n candidates and keep the synth.n whose label
    # the quality report's judge reads closest to the one asked for; 1 = keep every draw
    filter: float = 1.0
    # The quality report's classifier two-sample test (astgan.synthetic.c2st): can classifiers tell
    # synthetic segments from real VAL ones? c2st_cnn adds its small CNN (the slowest part).
    c2st: bool = True
    c2st_cnn: bool = True

    def check(self) -> None:
        require_positive("synth", self, "n", "batch_size")
        if self.jitter < 0:
            fail("synth.jitter", f"must be >= 0, got {self.jitter}")
        if self.filter < 1:
            fail("synth.filter", f"must be >= 1 (how many candidates per kept segment), got {self.filter}")


@dataclass
class AstConfig:
    """Audio Spectrogram Transformer regressor of (valence, arousal)."""

    pretrained: str | None = None  # hub id or local folder; None builds a fresh model below
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    patch_size: int = 16
    frequency_stride: int = 10
    time_stride: int = 10
    dropout: float = 0.0
    epochs: int = 30
    batch_size: int = 8  # segments per step on the CPU, and the batch that ast.lr is set for
    # Per step on CUDA. null = auto: batch_size doubled while a step holds at most about 80k input
    # patches (at most 8x), so a small model keeps a GPU busy; ast.lr then grows with the square
    # root of the batch (as suits Adam). An explicit number is used as given, with the same lr rule.
    cuda_batch_size: int | None = None
    lr: float = 1e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    loss: Literal["mse", "ccc", "mse+ccc"] = "mse"
    grad_clip: float = 1.0
    patience: int = 5  # early stopping on validation song-level mean CCC
    # Extra items added on top of every batch of real segments, per real segment; 0 = real only.
    # The real part of each step is the same whatever this is: extra items never replace real ones.
    synthetic_ratio: float = 1.0
    # What the extra items are: gan = segments of the run's synthetic set; cmixup = label-aware
    # mixup of real TRAIN segments (C-Mixup), the cheap augmentation a GAN has to beat.
    synthetic_source: Literal["gan", "cmixup"] = "gan"
    mixup_alpha: float = 2.0  # C-Mixup: lambda ~ Beta(alpha, alpha)
    mixup_bandwidth: float = 0.2  # C-Mixup: sd of the label kernel that picks partners (-1..1 scale)
    freq_mask: int = 24  # SpecAugment widths (bins, frames); 0 disables
    time_mask: int = 96

    def check(self) -> None:
        require_positive(
            "ast", self, "hidden_size", "num_layers", "num_heads", "intermediate_size",
            "patch_size", "frequency_stride", "time_stride", "epochs", "batch_size", "lr",
            "grad_clip", "patience", "mixup_alpha", "mixup_bandwidth", "cuda_batch_size",
        )
        if self.hidden_size % self.num_heads:
            fail("ast.hidden_size", f"must be divisible by ast.num_heads={self.num_heads}, got {self.hidden_size}")
        if not 0.0 <= self.dropout < 1.0:
            fail("ast.dropout", f"must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            fail("ast.warmup_fraction", f"must be in [0, 1), got {self.warmup_fraction}")
        for name in ("weight_decay", "synthetic_ratio", "freq_mask", "time_mask"):
            if getattr(self, name) < 0:
                fail(f"ast.{name}", f"must be >= 0, got {getattr(self, name)}")


@dataclass
class EvalConfig:
    """Evaluation on the TEST songs."""

    bootstrap_samples: int = 1000  # paired bootstrap over test songs for comparisons
    confidence: float = 0.95
    ridge_alpha: float = 1.0  # baseline ridge on per-band mel statistics

    def check(self) -> None:
        require_positive("eval", self, "bootstrap_samples", "ridge_alpha")
        if not 0.5 < self.confidence < 1.0:
            fail("eval.confidence", f"must be in (0.5, 1), got {self.confidence}")


# the comparisons a study can declare primary (study.primary): arm minus arm, on mean CCC
PRIMARY_CHOICES = ("gan - real", "gan - control", "control - real")


@dataclass
class SlurmConfig:
    """``study.executor: slurm``: what each unit's SLURM job asks for (docs/cluster.md). Every key is
    optional: unset, the cluster's own default applies."""

    partition: str | None = None  # sbatch --partition
    account: str | None = None  # sbatch --account (the allocation the GPU hours are charged to)
    qos: str | None = None  # sbatch --qos
    constraint: str | None = None  # sbatch --constraint, e.g. a GPU type: a100
    gpus_per_unit: int = 1  # GPUs of one task; 0 on a CPU partition
    cpus_per_unit: int | None = None  # CPUs of one task; default study.threads (the torch threads a unit uses)
    mem: str | None = None  # memory of one task, sbatch --mem syntax (16G); default: the cluster's
    time: int = 120  # minutes one task may run (a GAN and its arm share one task); sbatch --time
    array_parallelism: int | None = None  # tasks of one array running at once; default: no limit but the cluster's
    # shell lines run in each job before astgan, e.g. ["module load cuda/12.4", "source ~/venv/bin/activate"]
    setup: tuple[str, ...] | None = None
    python: str | None = None  # the python the nodes run; default: this one (the same path must exist there)

    def check(self) -> None:
        require_positive("study.slurm", self, "cpus_per_unit", "time", "array_parallelism")
        if self.gpus_per_unit < 0:
            fail("study.slurm.gpus_per_unit", f"must be >= 0, got {self.gpus_per_unit}")
        if self.mem is not None and not re.fullmatch(r"\d+[KMGT]?B?", self.mem.strip().upper()):
            fail("study.slurm.mem", f"expected a size like 16G or 4000M (sbatch --mem), got '{self.mem}'")


@dataclass
class StudyConfig:
    """``astgan study``: a cross-validated learning curve of real-only vs GAN vs C-Mixup training."""

    folds: int = 5  # every song is a TEST song in exactly one fold
    budgets: tuple[float, ...] = (0.25, 0.5, 1.0)  # shares of each fold's TRAIN songs (nested subsets)
    val: float = 0.15  # share of each fold's training songs held out for VAL (model selection)
    seed: int = 0  # folds, VAL and budget subsets
    # training seeds per cell: seed k trains its own GAN and its own three arms with run.seed + k, and
    # every CCC is averaged over the seeds (a study can be extended with --resume and a larger value)
    seeds: int = 1
    jobs: int = 2  # cells trained at once, each in a process of its own
    threads: int = 1  # torch CPU threads per cell (replaces run.threads inside the study)
    # The primary analysis, declared before any number: at every budget these comparisons on mean CCC
    # (per-fold estimator, intervals over songs within folds and seeds within cells), Holm over this
    # family only. Every other comparison the report shows is exploratory.
    primary: tuple[str, ...] = ("gan - real", "gan - control")
    # hierarchical bootstrap resamples of every study interval (eval.bootstrap_samples is the single runs')
    bootstrap_samples: int = 10000
    executor: Literal["local", "slurm"] = "local"  # where units run: this machine, or SLURM jobs (study.slurm)
    # how often a unit whose SLURM job died (node failure, preemption, time limit, killed) is submitted
    # again; it resumes from its last.pt. An astgan error (bad config, missing input) is never retried.
    retries: int = 2
    slurm: SlurmConfig = field(default_factory=SlurmConfig)

    def check(self) -> None:
        require_positive("study", self, "seeds", "jobs", "threads", "bootstrap_samples")
        unknown = [name for name in self.primary if name not in PRIMARY_CHOICES]
        if unknown or len(set(self.primary)) != len(self.primary):
            fail("study.primary", f"must be distinct comparisons among {list(PRIMARY_CHOICES)}, got "
                 f"{list(self.primary)}")
        if self.retries < 0:
            fail("study.retries", f"must be >= 0, got {self.retries}")
        self.slurm.check()
        if self.folds < 2:
            fail("study.folds", f"must be >= 2, got {self.folds}")
        if not 0.0 < self.val < 1.0:
            fail("study.val", f"must be a fraction in (0, 1), got {self.val}")
        if any(not 0.0 < b <= 1.0 for b in self.budgets) or len(set(self.budgets)) != len(self.budgets):
            fail("study.budgets", f"must be distinct shares in (0, 1], got {list(self.budgets)}")


@dataclass
class RunConfig:
    """Where results go and what runs them."""

    dir: str = "runs/demo"
    device: str = "auto"  # auto (cuda if available), cpu, cuda, cuda:N
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16 on CUDA, fp32 on CPU
    seed: int = 0
    num_workers: int = 0  # DataLoader workers for training
    # CPU threads of torch's own operations. A fixed number, not "all cores": how a sum is split
    # across threads changes its last bits, so the same seed gives the same numbers only with the
    # same thread count (on any machine with the same package versions).
    threads: int = 2

    def check(self) -> None:
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            fail("run.device", f"must be one of auto, cpu, cuda, cuda:N, got '{self.device}'")
        if self.num_workers < 0:
            fail("run.num_workers", f"must be >= 0, got {self.num_workers}")
        require_positive("run", self, "threads")
