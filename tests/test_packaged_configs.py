"""The configs ship inside the package: -c takes a file or a packaged name, from any working folder."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from astgan.config import config_text, load_config, packaged_configs
from astgan.errors import ConfigError

from helpers import invoke

REPO = Path(__file__).resolve().parents[1]


def test_packaged_names_resolve_to_the_files_inside_the_package():
    assert set(packaged_configs()) >= {"demo", "deam"}
    cfg = load_config("deam")
    assert cfg.ast.pretrained == "MIT/ast-finetuned-audioset-10-10-0.4593"
    assert load_config("deam.yaml").to_dict() == cfg.to_dict()
    _, source = config_text("deam")
    assert source == "packaged config 'deam'"


def test_a_file_at_the_given_path_wins_over_a_packaged_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("demo").write_text("run:\n  dir: runs/mine\n")
    assert load_config("demo").run.dir == "runs/mine"


def test_an_unknown_name_lists_the_packaged_configs():
    with pytest.raises(ConfigError, match=r"config file not found: nope\..*demo"):
        load_config("nope")


def test_config_show_prints_a_starter_config_with_its_comments(tmp_path):
    result = invoke("config", "show", "deam")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("#")  # the comments come along
    mine = tmp_path / "my.yaml"
    mine.write_text(result.output)
    assert load_config(mine).to_dict() == load_config("deam").to_dict()
    listed = invoke("config", "list")
    assert "demo" in listed.output and "deam" in listed.output


def test_every_stage_defaults_to_the_packaged_demo_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    result = invoke("extract")
    # the demo config names data/demo, which does not exist in an empty folder: the error says so
    assert result.exit_code == 1
    assert "data.root 'data/demo' does not exist" in result.output
    assert yaml.safe_load((tmp_path / "runs" / "demo" / "config.yaml").read_text())["run"]["dir"] == "runs/demo"


@pytest.mark.slow
def test_demo_quick_runs_from_an_empty_folder(tmp_path):
    """The installed command, started in an empty folder: data, cache and runs land there."""
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-m", "astgan", "demo", "--quick", "--seeds", "1"], cwd=work,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "GAN effect" in done.stdout
    assert (work / "runs" / "demo" / "eval" / "report.json").is_file()
    assert (work / "data" / "demo" / "astgan_demo.json").is_file()


@pytest.mark.slow
def test_the_wheel_contains_the_configs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    wheel = next(tmp_path.glob("astgan-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"astgan/configs/demo.yaml", "astgan/configs/deam.yaml"} <= set(names)
    assert "astgan/data/resources/deam_static_labels.csv" in names
