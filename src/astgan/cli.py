"""The ``astgan`` command line: thin commands that parse options and call the library.

Heavy imports (torch, transformers) happen inside the commands so that ``astgan --help`` is fast.
Errors a user can act on print as one line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import errno
import logging
import sys
import time
from pathlib import Path

import click

from astgan.errors import AstganError

log = logging.getLogger("astgan")


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
                       "(train-gan and train-ast continue with --resume)", code=130)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT):
                self._fail(ctx, debug, f"cannot write {err.filename or ''}: {err.strerror}")
            raise
        except RuntimeError as err:
            if type(err).__name__ == "OutOfMemoryError" or "out of memory" in str(err):
                self._fail(ctx, debug, "the GPU ran out of memory; lower the batch size "
                           "(--set ast.batch_size=... or gan.batch_size=...)")
            raise

    @staticmethod
    def _fail(ctx: click.Context, debug: bool, message: str, code: int = 1) -> None:
        if debug:
            raise
        click.echo(f"error: {message}", err=True)
        ctx.exit(code)


def _setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False


@click.group(cls=AstganGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.version_option(package_name="astgan")
def main(debug: bool) -> None:
    """Music emotion recognition on DEAM: a conditional spectrogram GAN augments the training
    data of an Audio Spectrogram Transformer that predicts valence and arousal.

    Run the stages in order with one config: extract, train-gan, synthesize, train-ast, evaluate.
    """
    _setup_logging(debug)


def config_options(func):
    """``-c CONFIG`` and repeatable ``--set section.key=value``."""
    func = click.option(
        "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
        help="Override a config value, e.g. --set gan.epochs=5 (repeatable).",
    )(func)
    func = click.option(
        "-c", "--config", "config_path", required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Experiment YAML config.",
    )(func)
    return func


def load_run_config(config_path: Path, overrides: tuple[str, ...]):
    """Load and check the config, then save the resolved copy into the run folder."""
    from astgan.config import config_to_yaml, load_config
    from astgan.runtime import write_text

    cfg = load_config(config_path, overrides)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    write_text(cfg.run_dir / "config.yaml", config_to_yaml(cfg))
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


@main.command()
@config_options
def extract(config_path: Path, overrides: tuple[str, ...]) -> None:
    """Build the song table and split, extract and cache log-mel features, print a summary."""
    from astgan.prepare import prepare_data, split_summary

    cfg = load_run_config(config_path, overrides)
    started = time.perf_counter()
    data = prepare_data(cfg)
    click.echo(split_summary(data, cfg))
    click.echo(f"song table: {cfg.run_dir / 'songs.csv'} ({time.perf_counter() - started:.1f}s)")


# --- end of commands (add new commands above this line)
