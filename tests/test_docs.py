"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file."""

import pathlib
import re

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_in_the_page_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # pages may write pictures; keep them out of the repo
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for number, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8")), 1):
        code = match.group(1)
        line = page.read_text(encoding="utf-8")[: match.start()].count("\n") + 2
        try:
            exec(compile(code, f"{page.name}:block{number}(line {line})", "exec"), namespace)
        except Exception as e:  # name the page and the block in the failure
            raise AssertionError(f"{page.name}, python block {number} (line {line}) failed: "
                                 f"{type(e).__name__}: {e}") from e
