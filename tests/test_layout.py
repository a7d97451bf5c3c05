"""The package's layout: the import contract of pyproject.toml ([tool.importlinter]) holds.

.ci/run checks it with ``lint-imports``; this runs the same check with the tests, so that a new
import that crosses a layer (a model importing the other model, the data layer importing a model,
anything importing the CLI) or closes a cycle fails where it is written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def test_the_import_contracts_hold():
    pytest.importorskip("importlinter", reason="import-linter is in the dev extra")
    # in a process of its own: import-linter configures logging, which would silence astgan's loggers here
    code = ("import sys\nfrom importlinter.cli import lint_imports\n"
            f"sys.exit(lint_imports(config_filenames=({str(PYPROJECT)!r},), no_cache=True, no_logo=True))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # names each broken contract and the imports that break it
    assert "4 kept, 0 broken" in done.stdout
