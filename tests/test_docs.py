"""The README and the docs pages: every relative link resolves, and the README stays a front page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def prose(path: Path) -> str:
    """The page without its fenced code blocks (a link-like string in code is not a link)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchors(path: Path) -> set[str]:
    """The heading anchors a forge makes: lower case, punctuation dropped, spaces as hyphens."""
    slugs = set()
    for heading in HEADING.findall(prose(path)):
        text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
        slugs.add(text.replace(" ", "-"))
    return slugs


def relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(prose(path)) if not re.match(r"^[a-z]+:", target)]


def test_the_pages_exist():
    assert (ROOT / "docs").is_dir()
    assert len(PAGES) > 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading '{anchor}' in {linked.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(ROOT / "README.md")}
    unlinked = [p.name for p in PAGES if p.parent.name == "docs" and p.name != "README.md" and p not in linked]
    assert not unlinked, f"README.md links no page {unlinked}"


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; move write-ups to docs/"


def test_the_readmes_first_commands_install_and_run_the_demo_then_the_tests():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = FENCE.search(text).group(0).splitlines()[1:-1]
    assert len(first_block) == 2
    demo, tests = first_block
    assert "pip install" in demo and demo.endswith("astgan demo")
    # reference: torchaudio, which the filterbank tests compare against (they skip without it)
    assert "pip install" in tests and '".[dev,reference]"' in tests and tests.endswith("pytest")
