"""The ``astgan`` command line: thin commands that parse options and call the library.

Heavy imports (torch, transformers) happen inside the commands so that ``astgan --help`` is fast.
Errors a user can act on print as one line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from astgan.errors import AstganError

log = logging.getLogger("astgan")

INTERRUPTED = 130  # the exit status after Ctrl-C (128 + SIGINT), as shells report it


class AstganGroup(click.Group):
    """Turns the errors a user can act on into one-line messages and a non-zero exit."""

    def invoke(self, ctx: click.Context):
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except AstganError as err:
            self._fail(ctx, debug, str(err))
        except KeyboardInterrupt:
            self._fail(ctx, debug, "interrupted; finished work and the last checkpoint are kept "
                       "(train-gan and train-ast continue with --resume)", code=INTERRUPTED)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT):
                self._fail(ctx, debug, f"cannot write {err.filename or ''}: {err.strerror}")
            raise
        except (RuntimeError, MemoryError) as err:
            if _is_out_of_memory(err):
                where = "the GPU" if "CUDA" in str(err) or type(err).__name__ == "OutOfMemoryError" else "memory"
                self._fail(ctx, debug, f"out of memory ({where}): lower the batch size (--set ast.batch_size=... "
                           "or gan.batch_size=...) or the model size")
            raise

    @staticmethod
    def _fail(ctx: click.Context, debug: bool, message: str, code: int = 1) -> None:
        if debug:
            raise
        click.echo(f"error: {message}", err=True)
        ctx.exit(code)


def _is_out_of_memory(err: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or an allocation the CPU allocator refused."""
    text = str(err)
    return (isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError"
            or "out of memory" in text or "can't allocate memory" in text)


def _setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    if os.environ.get("RANK", "0") != "0":  # the other processes of `accelerate launch`: warnings only
        log.setLevel(logging.WARNING)
    else:
        log.setLevel(logging.DEBUG if debug else logging.INFO)


@contextlib.contextmanager
def _log_level(level: int) -> Iterator[None]:
    """The ``astgan`` logger at ``level`` inside the block, as it was after."""
    previous = log.level
    log.setLevel(level)
    try:
        yield
    finally:
        log.setLevel(previous)


@click.group(cls=AstganGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.version_option(package_name="astgan")
def main(debug: bool) -> None:
    """Music emotion recognition on DEAM: a conditional spectrogram GAN augments the training
    data of an Audio Spectrogram Transformer that predicts valence and arousal.

    Run the stages in order with one config: extract, train-gan, synthesize, train-ast, evaluate.
    """
    _setup_logging(debug)
    _no_progress_monitor_thread()


def run() -> None:
    """The process entry point (the ``astgan`` script and ``python -m astgan``): ``main``, then exit.

    After Ctrl-C the exit status is always 130. Under ``python -m``, CPython 3.11 otherwise ends
    the process with a SIGINT of its own, although the interrupt was caught, whenever the Ctrl-C
    landed inside an ``exec`` of source text (a dataclass or namedtuple being built while a module
    imports, say): its runner sets a flag there that stays set. Everything the command wrote is
    closed by the time its exception reaches here, so leaving at once (after flushing the terminal
    streams) loses nothing.
    """
    try:
        main()
    except SystemExit as done:
        if done.code != INTERRUPTED:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)


def _no_progress_monitor_thread() -> None:
    """Stop tqdm from starting its monitor thread. That daemon thread can be inside a wait when
    Ctrl-C ends the process, and Python then aborts during shutdown (exit -6 instead of 130)."""
    import tqdm

    tqdm.tqdm.monitor_interval = 0


DEFAULT_CONFIG = "demo"
CONFIG_HELP = ("Experiment config: a YAML file, or the name of a packaged config (demo, deam; "
               "`astgan config list`). Relative paths inside it follow the working folder.")


def config_options(func):
    """``-c CONFIG`` (a file or a packaged config's name) and repeatable ``--set section.key=value``."""
    func = click.option(
        "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
        help="Override a config value, e.g. --set gan.epochs=5 (repeatable).",
    )(func)
    func = click.option("-c", "--config", "config_path", default=DEFAULT_CONFIG, metavar="CONFIG",
                        help=CONFIG_HELP)(func)
    return func


def load_run_config(config_path: str, overrides: tuple[str, ...]):
    """Load and check the config, then save the resolved copy into the run folder."""
    from astgan.config import load_config, save_run_config

    cfg = load_config(config_path, overrides)
    save_run_config(cfg)
    return cfg


@main.command("make-demo-data")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--songs", default=120, type=click.IntRange(min=3), help="Number of songs.")
@click.option("--seed", default=0, type=int, help="Random seed (same seed, same dataset).")
@click.option("--min-seconds", default=15.0, type=click.FloatRange(min=1.0), help="Shortest song.")
@click.option("--max-seconds", default=45.0, type=click.FloatRange(min=1.0), help="Longest song.")
@click.option("--workers", default=2, type=click.IntRange(min=1), help="Parallel processes.")
def make_demo_data(out_dir: Path, songs: int, seed: int, min_seconds: float, max_seconds: float, workers: int) -> None:
    """Write the embedded demo dataset (procedural music, DEAM layout) into OUT_DIR."""
    from astgan.data.demo import write_demo_dataset

    if max_seconds < min_seconds:
        raise click.BadParameter(f"--max-seconds {max_seconds} < --min-seconds {min_seconds}")
    summary = write_demo_dataset(out_dir, n_songs=songs, seed=seed, min_seconds=min_seconds,
                                 max_seconds=max_seconds, num_workers=workers)
    click.echo(f"wrote {summary.n_songs} demo songs to {out_dir} in {summary.wall_seconds:.1f}s")


@main.group("config")
def config_group() -> None:
    """The configs shipped with astgan: list them, or print one to start your own from."""


@config_group.command("list")
def config_list() -> None:
    """Names of the packaged configs (use them as -c NAME)."""
    from astgan.config import packaged_configs

    configs = sorted(packaged_configs().items())
    width = max(len(name) for name, _ in configs)
    for name, entry in configs:
        first = entry.read_text().splitlines()[0].lstrip("# ").strip()
        click.echo(f"{name:<{width}} {first}")


@config_group.command("show")
@click.argument("name", default=DEFAULT_CONFIG)
def config_show(name: str) -> None:
    """Print a packaged config (or a config file) with its comments, e.g. astgan config show deam > my.yaml."""
    from astgan.config import config_text

    click.echo(config_text(name)[0], nl=False)


@main.command()
@config_options
def extract(config_path: str, overrides: tuple[str, ...]) -> None:
    """Build the song table and split, extract and cache log-mel features, print a summary."""
    from astgan.data.prepare import prepare_data, split_summary

    cfg = load_run_config(config_path, overrides)
    started = time.perf_counter()
    data = prepare_data(cfg)
    click.echo(split_summary(data, cfg))
    click.echo(f"song table: {cfg.paths.songs} ({time.perf_counter() - started:.1f}s)")


@main.command()
@config_options
@click.option("--compare", "compare_with", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Another evaluated run: paired bootstrap of this run's CCC minus that run's on the same TEST songs.")
@click.option("--on", "on_other", default=None, metavar="OTHER_CONFIG",
              help="Evaluate on every song of another dataset instead: a config file or packaged name whose data "
                   "section says which and where (its features.cache_dir keeps its features); writes eval/on-<name>/.")
def evaluate(config_path: str, overrides: tuple[str, ...], compare_with: Path | None, on_other: str | None) -> None:
    """Evaluate the best regressor on the TEST songs (or, with --on, on another dataset) beside two
    baselines; write <run>/eval/."""
    from astgan.evaluation.report import paired_sentence, songs_phrase
    from astgan.metrics import song_level_table

    if on_other is not None and compare_with is not None:
        raise click.UsageError("--on and --compare: one at a time (--compare pairs two runs on the same TEST songs)")
    cfg = load_run_config(config_path, overrides)
    if compare_with is not None:  # fail before the work when the other run cannot be compared
        from astgan.evaluation.compare import read_predictions

        read_predictions(compare_with)
    if on_other is not None:
        from astgan.config import load_config
        from astgan.evaluation.cross import evaluate_on, evaluation_name

        name = evaluation_name(on_other)
        report = evaluate_on(cfg, load_config(on_other), name)
        paths = cfg.paths.evaluation_on(name)
    else:
        from astgan.evaluation.evaluate import evaluate as evaluate_run

        report = evaluate_run(cfg)
        paths = cfg.paths.evaluation
    lo, hi = report.evaluated_on["label_scale"]
    click.echo(f"song level, {songs_phrase(report.to_dict())} (RMSE/MAE on {lo:g}..{hi:g}):")
    click.echo(song_level_table(report.to_dict()))
    click.echo(paired_sentence(report.model_vs_ridge, "AST", "ridge", cfg.eval.confidence))
    click.echo(f"report: {paths.report_md} ({report.wall_seconds:.1f}s)")
    if compare_with is not None:
        from astgan.evaluation.compare import compare_runs, comparison_table

        result = compare_runs(cfg.run_dir, compare_with, cfg.eval.bootstrap_samples, cfg.eval.confidence, cfg.run.seed)
        click.echo(f"\nA = {cfg.run_dir}, B = {compare_with}, {result['n_test_songs']} shared TEST songs:")
        click.echo(comparison_table(result))
        click.echo(f"comparison: {cfg.paths.eval_dir / 'compare.md'}")


@main.command()
@click.argument("model", metavar="MODEL", type=click.Path(exists=True, path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV to write [default: RUN/predictions/predict.csv for a run, ./predictions.csv for an export].")
@click.option("--timeline", is_flag=True, help="Also write every segment's prediction (start/end seconds) to the "
              "CSV, and draw the first files.")
@click.option("--resume", is_flag=True, help="Keep the CSV's rows and skip the files already in it.")
@click.option("--workers", default=2, type=click.IntRange(min=0),
              help="Processes that decode audio while the model runs (0: decode in the main process).")
@click.option("--batch-size", default=None, type=click.IntRange(min=1),
              help="Segments per model call [default: twice the training batch size].")
@click.option("--device", default="auto",
              help="auto, cpu, cuda or cuda:N (under accelerate launch: one GPU per process).")
@click.option("--shard", default=None, metavar="I/N",
              help="Predict only the I-th (0-based) of N shares of the files, into a part beside the CSV (one "
                   "task of a job array: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); --resume "
                   "without --shard then merges the parts and predicts what they miss.")
def predict(model: Path, paths: tuple[Path, ...], out: Path | None, timeline: bool, resume: bool, workers: int,
            batch_size: int | None, device: str, shard: str | None) -> None:
    """Valence and arousal (1..9) of audio files and folders (searched recursively).

    MODEL is a run folder (its ast/best.pt) or a folder written by `astgan export`. The terminal
    gets a song-level summary; every row goes to the CSV. Several GPUs:
    accelerate launch -m astgan predict MODEL PATHS... (each process takes a share of the files);
    a job array on a cluster: --shard (docs/cluster.md).
    """
    import os

    from astgan.regressor.predict import predict_files

    result = predict_files(model, list(paths), timeline=timeline, out=out, device=device, resume=resume,
                           workers=workers, batch_size=batch_size, shard=_shard(shard) if shard else None)
    if os.environ.get("RANK", "0") != "0":  # the other processes of `accelerate launch` stay quiet
        return
    click.echo(result.summary())
    skipped = f"; {len(result.failed)} skipped (cannot decode)" if result.failed else ""
    resumed = f"; {result.n_resumed} already in the CSV (--resume)" if result.n_resumed else ""
    processes = f" with {result.n_processes} processes" if result.n_processes > 1 else ""
    click.echo(f"predicted {result.throughput()}{processes}{skipped}{resumed}")
    figure = f"; timeline figure: {result.figure_path}" if result.figure_path else ""
    click.echo(f"all rows: {result.csv_path}{figure}")


def _shard(text: str) -> tuple[int, int]:
    """``--shard I/N`` as (I, N), with 0 <= I < N."""
    parts = text.split("/")
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        i, n = int(parts[0]), int(parts[1])
        if 0 <= i < n:
            return i, n
    raise click.BadParameter(f"expected I/N with 0 <= I < N (e.g. 0/8), got '{text}'", param_hint="--shard")


@main.command()
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR when it already holds files.")
def export(run: Path, out_dir: Path, overwrite: bool) -> None:
    """Write RUN's regressor as a Hugging Face model folder (ASTForAudioClassification, safetensors).

    OUT_DIR gets config.json, model.safetensors, preprocessor_config.json (ASTFeatureExtractor),
    astgan.json and a model card (README.md) with the run's evaluation. Load it with
    AutoModelForAudioClassification.from_pretrained(OUT_DIR), or astgan predict OUT_DIR FILES.
    """
    from astgan.regressor.export import export_model

    result = export_model(run, out_dir, overwrite=overwrite)
    click.echo(f"exported to {result.out_dir}: {', '.join(p.name for p in result.files)}")
    if not result.evaluated:
        click.echo("the model card has no evaluation: run `astgan evaluate` on the run, then export again")


@main.command("train-ast")
@config_options
@click.option("--resume", is_flag=True,
              help="Continue from RUN/ast/last.pt (optimizer, schedule, early stopping, RNG).")
def train_ast_command(config_path: str, overrides: tuple[str, ...], resume: bool) -> None:
    """Train the AST regressor on real TRAIN (+ synthetic) segments; early stopping on VAL songs.

    Multi-GPU: accelerate launch -m astgan train-ast -c CONFIG.
    """
    import os

    from astgan.regressor.train import train_ast

    cfg = load_run_config(config_path, overrides)
    result = train_ast(cfg, resume=resume)
    if os.environ.get("RANK", "0") != "0":  # the other processes of `accelerate launch` stay quiet
        return
    row = result.best_row
    click.echo(f"best epoch {result.best_epoch} of {len(result.history)}: validation song-level CCC valence "
               f"{row['val_valence_ccc']:.3f}, arousal {row['val_arousal_ccc']:.3f} "
               f"({result.steps} steps, {result.seconds:.1f}s)")
    click.echo(f"model: {result.best_path}; curves: {cfg.paths.curves_figure}")


@main.command("train-gan")
@config_options
@click.option("--resume", is_flag=True, help="Continue from the run's gan/last.pt (epochs and curves go on).")
def train_gan_command(config_path: str, overrides: tuple[str, ...], resume: bool) -> None:
    """Train the conditional spectrogram GAN on the TRAIN segments."""
    from astgan.gan.train import train_gan

    cfg = load_run_config(config_path, overrides)
    result = train_gan(cfg, resume=resume)
    average = " (moving average of its weights)" if cfg.gan.resolved().ema_decay > 0 else ""
    click.echo(f"generator: {result.generator_path}{average} ({result.seconds:.1f}s); "
               f"curves: {cfg.paths.gan_losses_figure}, samples: {cfg.paths.gan_samples_figure}")


@main.command()
@config_options
def synthesize(config_path: str, overrides: tuple[str, ...]) -> None:
    """Draw synthetic spectrograms from the trained generator and report their quality beside real data."""
    from astgan.synthetic.quality_text import format_quality_table
    from astgan.synthetic.synthesis import synthesize as run_synthesis

    cfg = load_run_config(config_path, overrides)
    started = time.perf_counter()
    quality = run_synthesis(cfg)
    click.echo(format_quality_table(quality))
    missed = [name for name, check in quality["targets"].items() if not check["met"]]
    verdict = f"missed {', '.join(missed)}" if missed else "all met"
    if not missed and "c2st" not in quality["targets"]:
        verdict = "all checked met, but no classifier two-sample test ran (synth.c2st off, or too few VAL songs)"
    click.echo(f"quality targets: {verdict}; what the numbers mean: {cfg.paths.quality_md}")
    click.echo(f"synthetic set: {cfg.paths.synthetic} "
               f"({quality['n_synthetic']} segments, {time.perf_counter() - started:.1f}s)")


@main.command()
@config_options
@click.option("--quick", is_flag=True, help="A small, fast version of the whole chain (used by the tests).")
@click.option("--seeds", default=2, type=click.IntRange(min=1), help="Training seeds per arm of the GAN ablation.")
def demo(config_path: str, overrides: tuple[str, ...], quick: bool, seeds: int) -> None:
    """Run the whole chain on the embedded demo, with and without the GAN, and compare.

    Writes the demo data (data.root) if it is not there, then extract -> train-gan -> synthesize ->
    train-ast -> evaluate, and train-ast -> evaluate again on real data only with the same split
    and number of optimiser steps, each arm with --seeds training seeds. Ends with one table and
    the GAN's effect with its interval.
    """
    from astgan.demo import run_demo, summary_text

    result = run_demo(config_path, overrides, quick=quick, seeds=seeds, echo=click.echo)
    click.echo(summary_text(result))


@main.command()
@config_options
@click.option("--quick", is_flag=True, help="A small study (3 folds, 2 budgets, tiny training) for the tests.")
@click.option("--resume", is_flag=True, help="Continue a study: finished units are kept, interrupted ones resume.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Units trained at once, one process each [default: study.jobs].")
@click.option("--base", "base", default=None, type=click.Path(file_okay=False, path_type=Path), metavar="RUN_DIR",
              help="A finished study this one is a variant of (an ablation): units the changed settings cannot "
                   "touch are taken from it, and every arm is compared with its arm there (study/vs_base.md).")
@click.option("--executor", type=click.Choice(["local", "slurm"]), default=None,
              help="Where units run: this machine, or SLURM jobs (study.slurm; docs/cluster.md) "
                   "[default: study.executor].")
@click.option("--no-wait", "no_wait", is_flag=True,
              help="With --executor slurm: submit the units and exit; a later --resume collects them.")
def study(config_path: str, overrides: tuple[str, ...], quick: bool, resume: bool, jobs: int | None,
          base: Path | None, executor: str | None, no_wait: bool) -> None:
    """Does the GAN help, and when? A cross-validated learning curve of real-only vs real + GAN vs
    real + C-Mixup training, with paired bootstrap intervals per real-data budget.

    Writes <run.dir>/study/: study.csv, predictions.csv, study.json, study.md, study.png,
    study_regions.png (by third of the label plane), gans.csv and study_quality.png (each GAN's
    quality beside its arm's gain), and one run folder per fold, budget and arm. With the demo
    config the demo data is written first when data.root holds none.

    More training seeds per cell: --set study.seeds=3; another budget: --set
    "study.budgets=[0.1, 0.25, 0.5, 1.0]" (with --resume a finished study keeps its units and only
    the new ones are trained). An ablation of the GAN arm: run the study again into
    another run.dir with the setting changed and --base pointing at the first, e.g. `astgan study
    --base runs/demo --set run.dir=runs/demo-empirical --set synth.sampler=empirical`.
    """
    from astgan.demo import needs_demo_data, write_demo_data
    from astgan.study import QUICK_OVERRIDES
    from astgan.study.report import closing_lines
    from astgan.study.runner import finish_study, run_units, start_study

    extra = QUICK_OVERRIDES if quick else ()
    options = ((f"study.jobs={jobs}",) if jobs else ()) + ((f"study.executor={executor}",) if executor else ())
    cfg = load_run_config(config_path, extra + tuple(overrides) + options)
    if needs_demo_data(cfg) and (quick or config_path in ("demo", "demo.yaml")):
        click.echo(f"writing the demo data into {cfg.data.root} first")
        write_demo_data(cfg, quick)
    study_run = start_study(cfg, resume=resume, echo=click.echo, base=base)
    with _log_level(logging.WARNING):  # every unit's stages log each step; the study reports each unit instead
        done = run_units(study_run, echo=click.echo, wait=not no_wait)
    if not done:
        click.echo("submitted to SLURM (job records: slurm_job.json in each unit's folder); collect the results "
                   "with the same command and --resume")
        return
    click.echo("\n".join(closing_lines(finish_study(study_run), cfg, base)))


# --- end of commands (add new commands above this line)
