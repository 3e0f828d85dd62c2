"""Every code line in the docs fits the width the site shows it in; program output wraps.

The width was measured in headless Chromium on the built site (Material theme, system fonts,
``font: false``): a code block holds 80 columns of its monospace font in a 1280- or 1600-pixel
wide window, with the navigation and the table of contents beside it. A longer line is cut
off at the right edge. Program output (```text blocks: logs, error messages) cannot be
reflowed by hand without misquoting it, so the site's stylesheet wraps it instead.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CODE_COLUMNS = 80
WRAPPED = {"text"}  # languages whose blocks wrap (docs/stylesheets/extra.css)
FENCE = re.compile(r"^(\s*)```(\S*)")


def fenced_blocks(text):
    """``(language, first line number, lines)`` of each fenced block, unindented."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, language, start, body = match.group(1), match.group(2) or "none", i + 1, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append((language, start + 1, body))
        i += 1
    return blocks


PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def test_the_block_finder_sees_fences_and_their_languages():
    text = "x\n```python\na = 1\n```\n\n    ```text\n    out\n    ```\n"
    assert fenced_blocks(text) == [("python", 3, ["a = 1"]), ("text", 7, ["out"])]


def test_the_check_fails_on_a_line_the_theme_would_cut():
    line = "x = " + "1 + " * 20  # 84 columns
    assert [len(t) for _, _, b in fenced_blocks(f"```python\n{line}\n```\n") for t in b] == [84]
    assert len(line) > CODE_COLUMNS


@pytest.mark.parametrize("page", PAGES)
def test_code_lines_fit_the_page(page):
    too_long = [
        f"{page}:{start + k}: {len(line)} columns: {line[:50]}..."
        for language, start, body in fenced_blocks((DOCS / page).read_text())
        if language not in WRAPPED
        for k, line in enumerate(body)
        if len(line.rstrip()) > CODE_COLUMNS
    ]
    assert not too_long, "\n".join(too_long)


def test_program_output_wraps():
    css = (DOCS / "stylesheets" / "extra.css").read_text()
    config = (ROOT / "mkdocs.yml").read_text()
    assert "stylesheets/extra.css" in config
    for language in WRAPPED:
        rule = re.search(rf"\.language-{language}\.highlight pre > code \{{([^}}]*)\}}", css)
        assert rule and "white-space: pre-wrap" in rule.group(1), language
