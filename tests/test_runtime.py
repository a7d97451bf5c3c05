"""Atomic artifacts under real failures: kill -9 mid-write, a full disk, a read-only folder."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from astgan.artifacts import load_checkpoint, save_checkpoint, write_text
from astgan.errors import AstganError, CheckpointError, MissingArtifactError
from astgan.runtime import rng_state, set_rng_state

WRITER = textwrap.dedent("""
    import sys, torch
    from astgan.artifacts import save_checkpoint
    i = 0
    while True:  # rewrite one big checkpoint forever; the test kills us mid-write
        save_checkpoint(sys.argv[1], {"step": i, "weights": torch.full((4_000_000,), float(i))})
        i += 1
""")


def test_kill_9_during_a_checkpoint_write_never_corrupts_the_previous_one(tmp_path):
    path = tmp_path / "last.pt"
    rng = random.Random(0)
    for attempt in range(3):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        try:
            deadline = time.time() + 60
            while not path.exists() and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.05, 0.5))  # somewhere in the middle of a later write
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        checkpoint = load_checkpoint(path)
        assert torch.all(checkpoint["weights"] == float(checkpoint["step"])), attempt
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last.pt"]
    assert all(name.endswith(".tmp") for name in leftovers)  # a killed writer leaves only its temp file


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys, torch
    from astgan.errors import AstganError
    from astgan.artifacts import save_checkpoint
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))  # files may not exceed 1 MB
    try:
        save_checkpoint(sys.argv[1], {"weights": torch.zeros(2_000_000)})
    except AstganError as err:
        print(err)
        sys.exit(3)
""")


def test_a_full_disk_leaves_the_previous_artifact_and_no_partial_file(tmp_path):
    path = tmp_path / "generator.pt"
    save_checkpoint(path, {"weights": torch.ones(10)})
    result = subprocess.run([sys.executable, "-c", FULL_DISK, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert "could not write" in result.stdout and "generator.pt" in result.stdout
    assert torch.equal(load_checkpoint(path)["weights"], torch.ones(10))
    assert [p.name for p in tmp_path.iterdir()] == ["generator.pt"]


def make_read_only(folder) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return
    # root ignores permission bits; the immutable attribute still stops it
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a read-only folder here (needs chmod as a user, or chattr as root)")


def make_writable(folder) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def test_a_read_only_folder_gives_a_clear_error(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    write_text(folder / "config.yaml", "old\n")
    make_read_only(folder)
    try:
        with pytest.raises(AstganError, match=r"could not write .*config.yaml"):
            write_text(folder / "config.yaml", "new\n")
        assert (folder / "config.yaml").read_text() == "old\n"
    finally:
        make_writable(folder)


class ForeignPayload:
    """Stands for arbitrary code in a checkpoint from elsewhere."""


def test_missing_and_foreign_checkpoints(tmp_path):
    with pytest.raises(MissingArtifactError, match="run `astgan train-gan` first"):
        load_checkpoint(tmp_path / "gan" / "generator.pt", produced_by="train-gan")
    truncated = tmp_path / "truncated.pt"
    save_checkpoint(truncated, {"weights": torch.ones(1000)})
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable astgan checkpoint"):
        load_checkpoint(truncated)

    foreign = tmp_path / "foreign.pt"  # holds an object that is not plain data: weights_only refuses it
    torch.save({"model": ForeignPayload()}, foreign)
    with pytest.raises(CheckpointError, match="not a readable astgan checkpoint"):
        load_checkpoint(foreign)


def test_rng_state_round_trips_through_a_checkpoint(tmp_path):
    import numpy as np

    torch.manual_seed(1)
    np.random.seed(1)
    save_checkpoint(tmp_path / "rng.pt", {"rng": rng_state()})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]
