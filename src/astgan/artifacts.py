"""Artifacts on disk: atomic writes, checkpoints, and the checks that a stage's inputs exist and fit.

Every artifact is written to a temporary file in the same folder and renamed into place, so an
interrupted or failed write (Ctrl-C, ``kill -9``, a full disk) leaves the previous version intact
and never a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from astgan.errors import AstganError, CheckpointError, MissingArtifactError

UNKNOWN_VERSION = "0+unknown"  # a source tree on the path that was never installed (no package metadata)


def package_version() -> str:
    """astgan's version as installed (its package metadata), stamped into what astgan writes."""
    from importlib.metadata import PackageNotFoundError, version  # reads site-packages: only when asked

    try:
        return version("astgan")
    except PackageNotFoundError:
        return UNKNOWN_VERSION


_UMASK = os.umask(0o022)  # read the process umask once (reading it means setting it) ...
os.umask(_UMASK)  # ... and put it back


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp makes private files; artifacts get the usual mode
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:  # data on disk before the rename makes it visible
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``path`` atomically."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            writer(tmp)
    except OSError as err:
        raise AstganError(f"could not write {path}: {err.strerror or err}") from None
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write a checkpoint of tensors and plain data atomically (see :func:`load_checkpoint`)."""
    import torch

    def write(tmp: Path) -> None:
        try:
            torch.save(payload, tmp)
        except RuntimeError as err:  # torch reports a failed write (full disk, size limit) this way
            raise OSError(f"the write failed, is the disk full? ({err})") from None

    return write_atomic(path, write)


def load_checkpoint(path: str | Path, produced_by: str | None = None) -> dict:
    """Load a checkpoint with ``weights_only=True``: a run folder from elsewhere cannot run code.

    ``produced_by`` names the command that writes the file, for the message when it is missing.
    """
    path = Path(path)
    if not path.is_file():
        hint = f"; run `astgan {produced_by}` first" if produced_by else ""
        raise MissingArtifactError(f"{path} not found{hint}")
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, corrupt or holding objects that are not plain data
        raise CheckpointError(f"{path} is not a readable astgan checkpoint ({type(err).__name__}: {err})") from None


def require(path: str | Path, produced_by: str) -> Path:
    """Fail with the command to run first when a stage's input is missing."""
    path = Path(path)
    if not path.exists():
        raise MissingArtifactError(f"{path} not found; run `astgan {produced_by}` first")
    return path


def check_config_compatible(saved: dict, current: dict, keys: list[str], what: str) -> None:
    """Fail naming every ``section.key`` whose saved value differs from the current config.

    ``saved`` and ``current`` are :meth:`Config.to_dict` dicts; ``keys`` are dotted names.
    """
    mismatches = []
    for dotted in keys:
        section, key = dotted.split(".")
        old = saved.get(section, {}).get(key)
        new = current.get(section, {}).get(key)
        if old != new:
            mismatches.append(f"{dotted} (checkpoint {old!r}, config {new!r})")
    if mismatches:
        raise CheckpointError(
            f"{what} was built with a different configuration: " + "; ".join(mismatches)
            + ". Use the matching config or a new run.dir."
        )
