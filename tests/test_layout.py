"""The package's layout: the import contract of pyproject.toml ([tool.importlinter]) holds.

.ci/run checks it with ``lint-imports``; this runs the same check with the tests, so that a new
import that crosses a layer (a model importing the other model, the data layer importing a model,
anything importing the CLI) or closes a cycle fails where it is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def test_the_import_contracts_hold(capsys):
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is in the dev extra")
    status = cli.lint_imports(config_filenames=(str(PYPROJECT),), no_cache=True, no_logo=True)
    output = capsys.readouterr().out
    assert status == 0, output  # the report names each broken contract and the imports that break it
    assert "4 kept, 0 broken" in output
