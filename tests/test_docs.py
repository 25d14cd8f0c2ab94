"""The README's commands are CI's, it fits on two screens, and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
LINKED = [README, ROOT / "CONTRIBUTING.md", *PAGES]

#: Markdown links and images: [text](target) and ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _command(after: str) -> str:
    """The one-line code block that follows the sentence starting with ``after``."""
    match = re.search(re.escape(after) + r"[^\n]*\n\n```\n([^\n]+)\n```", README.read_text())
    assert match, f"README has no command block after {after!r}"
    return match.group(1)


def _ci_command() -> str:
    """The last line of .ci/run (its install and test step) with the quiet flags dropped."""
    line = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    return re.sub(r" -q\b", "", line)


def test_readme_test_command_is_ci_command():
    assert _command("Set up and run the tests") == _ci_command()


def test_ci_installs_cpu_torch_first_then_the_docs_extra():
    steps = [s.strip() for s in _ci_command().split("&&")]
    assert steps[:3] == [
        "python3.11 -m venv .venv",
        ". .venv/bin/activate",
        "pip install torch==2.13.0",
    ]
    assert steps[3] == 'pip install -e ".[dev,ray,docs]"'
    assert "mkdocs build --strict" in steps and steps[-1] == "pytest"


def test_ci_checks_lint_format_and_types_before_the_tests():
    steps = [s.strip() for s in _ci_command().split("&&")]
    checks = ["ruff check .", "ruff format --check .", "mypy"]
    assert all(c in steps for c in checks), steps
    assert max(steps.index(c) for c in checks) < steps.index("pytest")
    assert min(steps.index(c) for c in checks) > steps.index('pip install -e ".[dev,ray,docs]"')


def test_readme_main_job_command():
    steps = [s.strip() for s in _command("Set up and run the main job").split("&&")]
    # the same environment as CI's, without the development extras, then the main job
    assert steps[:3] == [s.strip() for s in _ci_command().split("&&")][:3]
    assert steps[3:] == ["pip install -e .", "attrbench run --task psl --method all"]


def test_readme_fits_in_150_lines():
    assert len(README.read_text().splitlines()) <= 150


def test_readme_names_no_missing_spec():
    assert "SPEC" not in README.read_text()


def _targets(path: Path) -> list[str]:
    """Relative link targets of a markdown file, code blocks and inline code left out."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


@pytest.mark.parametrize("path", LINKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    missing = [t for t in _targets(path) if not (path.parent / t.split("#")[0]).exists()]
    assert not missing, f"{path.name} links to missing files: {missing}"


def test_link_pattern_finds_links_and_images(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "[a](x.md#h) ![b](img/y.png) [c](https://e.org) [d](#top) `[e](z.md)`\n```\n[f](w.md)\n```\n"
    )
    assert _targets(page) == ["x.md#h", "img/y.png"]


def test_nav_lists_only_existing_pages_and_every_page():
    nav = re.findall(r"^\s+- [^:]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert sorted(nav) == sorted(p.name for p in PAGES)
