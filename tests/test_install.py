"""Installing astgan into an environment that already has torch: pip must keep that torch.

Lab machines have a torch of their own (and its CUDA setup); astgan's ranges must accept it
instead of replacing it with a download of several GB. Each check asks pip's own resolver, offline
(``--no-index --dry-run --report``), what installing astgan's requirements (read from
pyproject.toml) would do in a fresh virtual environment that sees this test run's packages, with
the torch under test planted in front of them as an installed distribution (its dependency
metadata, no code). "Nothing to install" means pip keeps that torch. astgan needs no torchaudio
(its Kaldi filterbank is its own), so no torchaudio has to match that torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"

# Dependency metadata of the CPU builds of torch (as in the 2.13.0+cpu wheel's METADATA).
TORCH_REQUIRES = ["filelock", "typing-extensions>=4.10.0", 'setuptools; python_version >= "3.12"', "sympy>=1.13.3",
                  "networkx>=2.5.1", "jinja2", "fsspec>=0.8.5"]


def project_requirements(extra: str | None = None) -> list[str]:
    """The core dependencies of pyproject.toml, or those of one extra."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] if extra is None else project["optional-dependencies"][extra]


def plant(site_packages: Path, name: str, version: str, requires: list[str]) -> None:
    """An installed distribution as pip sees one: a ``.dist-info`` folder with METADATA and INSTALLER."""
    info = site_packages / f"{name}-{version}.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("")


def environment_with(tmp_path: Path, torch_version: str | None) -> Path:
    """A venv that sees this run's packages, with torch ``torch_version`` in front of them.

    Returns its python. ``torch_version`` None plants nothing: the torch of this run is the one seen.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # a .pth line adds this run's site-packages *after* the venv's own: planted records come first
    (site / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    if torch_version is not None:
        plant(site, "torch", torch_version, TORCH_REQUIRES)
    return python


def resolve(python: Path, requirements: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """pip's plan for installing ``requirements`` into ``python``'s environment, without any index."""
    req = tmp_path / "requirements.txt"
    req.write_text("\n".join(requirements) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no machine-wide index, find-links or constraints
    return subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--dry-run", "--no-index",
                           "--quiet", "--report", "-", "-r", str(req)],
                          capture_output=True, text=True, env=env, timeout=180)


def installed_version(python: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("torch_version", [None, "2.6.0", "2.11.0", "2.14.1"])
def test_installing_astgan_keeps_an_installed_torch_within_range(torch_version, tmp_path):
    python = environment_with(tmp_path, torch_version)
    kept = installed_version(python, "torch")
    assert kept == (torch_version or installed_version(Path(sys.executable), "torch"))
    plan = resolve(python, project_requirements(), tmp_path)
    assert plan.returncode == 0, plan.stderr[-2000:]
    plan_items = json.loads(plan.stdout)["install"]
    to_install = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in plan_items}
    assert "torch" not in to_install and "torchaudio" not in to_install, to_install
    assert to_install == {}, f"pip would install {to_install} beside torch {kept}"


@pytest.mark.slow
@pytest.mark.parametrize("torch_version", ["2.5.1", "3.0.0"])
def test_a_torch_outside_the_range_is_not_accepted(torch_version, tmp_path):
    """The same check can fail: with a torch outside the range pip needs another one (none offline)."""
    python = environment_with(tmp_path, torch_version)
    plan = resolve(python, project_requirements(), tmp_path)
    assert plan.returncode != 0
    assert "torch" in plan.stderr


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{LOCK.name}: '{line}' is not an exact pin (name==version)"
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_lock_file_pins_a_matching_torch_pair_inside_the_ranges():
    """The lock keeps the reproducible pair: torch and the reference extra's torchaudio, one minor release."""
    requirements = pytest.importorskip("packaging.requirements")
    pins = _pins()
    assert pins["torch"].split(".")[:2] == pins["torchaudio"].split(".")[:2]
    for text in project_requirements() + project_requirements("reference"):
        requirement = requirements.Requirement(text)
        name = requirement.name.lower()
        assert name in pins, f"{LOCK.name} has no pin for {name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} outside {text}"
        # every range has an upper bound: a new major release is tried before it is allowed in
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), text


def test_a_bare_install_needs_no_torchaudio():
    """torchaudio's compiled library must match torch exactly (torch 2.11 with torchaudio 2.11.1 did
    not load together); astgan computes the Kaldi filterbank itself, so only the tests' reference
    extra names torchaudio, and no module of the package imports it."""
    requirements = pytest.importorskip("packaging.requirements")
    names = {requirements.Requirement(text).name.lower() for text in project_requirements()}
    assert "torch" in names and "torchaudio" not in names
    assert [requirements.Requirement(text).name for text in project_requirements("reference")] == ["torchaudio"]
    importing = [str(path.relative_to(ROOT)) for path in (ROOT / "src").rglob("*.py")
                 if any(line.lstrip().startswith(("import torchaudio", "from torchaudio"))
                        for line in path.read_text(encoding="utf-8").splitlines())]
    assert importing == []
