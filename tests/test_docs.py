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


SHELL_BLOCK = re.compile(r"^```(?:bash|sh|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMAND = re.compile(r"^(?:\$ )?(?:python -m tinygrad_rnn|tinygrad-rnn)\s+(.*)$")


def _documented_commands():
    for page in PAGES:
        for block in SHELL_BLOCK.finditer(page.read_text(encoding="utf-8")):
            for line in block.group(1).splitlines():
                line = line.split("  #")[0].split(" && ")[0].strip()
                match = COMMAND.match(line)
                if match:
                    yield pytest.param(page.name, match.group(1), id=f"{page.name}:{line[:50]}")


@pytest.mark.parametrize("page, args", list(_documented_commands()))
def test_every_documented_cli_command_parses(page, args):
    """Shell blocks are not executed (they train for minutes), but every command line in them
    must be accepted by the real argument parser, so the docs cannot drift from the CLI."""
    import shlex

    from tinygrad_rnn.cli import build_parser

    try:
        build_parser().parse_args(shlex.split(args))
    except SystemExit as e:  # --help exits 0; a rejected command line exits 2
        if e.code not in (0, None):
            raise AssertionError(f"{page}: `{args}` is rejected by the CLI's parser") from e
