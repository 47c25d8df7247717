"""CLI errors, exit codes and argument checks: every bad input becomes one line on stderr.

`CLIError` is the only exception the subcommands raise on purpose; `main` prints it as
`tinygrad-rnn: error: <message>` and returns its exit code. `user_input` turns the library's
own ValueError/TypeError/OSError (which already name the file, column, line or value) into one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CLIError(Exception):
    """A problem the user can fix: printed as one line, exit code `code` (2: bad input)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(" ".join(str(message).split()))  # always a single line
        self.code = code


@contextlib.contextmanager
def user_input(what: str = "") -> Iterator[None]:
    """Re-raise the library's errors about user data (file, CSV, text, sizes) as CLIError."""
    try:
        yield
    except (ValueError, TypeError, OSError, KeyError) as e:
        text = _strip_quotes(e)
        if isinstance(e, OSError) and e.filename and str(e.filename) not in text:
            text = f"{e.strerror or text}: {e.filename}"
        elif isinstance(e, OSError) and e.filename and e.strerror:
            text = f"{e.strerror}: {e.filename}"
        text = re.sub(r"^[a-z_]+: ", "", text)  # the library function's name: noise here
        raise CLIError(f"{what}: {text}" if what else text) from None


def _strip_quotes(e: BaseException) -> str:
    text = str(e)
    if isinstance(e, KeyError) and len(text) > 1 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


# --------------------------------------------------------------------------- argparse types
def positive_int(text: str) -> int:
    """An int >= 1 (for sizes, lengths and counts)."""
    value = _parse(text, int, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    value = _parse(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _parse(text, float, "a number")
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    value = _parse(text, float, "a number")
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a non-negative finite number, got {text}")
    return value


def fraction(text: str) -> float:
    value = _parse(text, float, "a number")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _parse(text: str, kind: type, name: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {name}, got {text!r}") from None


# ----------------------------------------------------------------------------- output files
def output_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """Create the output folder if needed; refuse a path that is an existing file, and a
    folder where no file can be created (read-only), before any work starts."""
    if not os.fspath(path):
        raise CLIError(f"{what} is empty; give a folder")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CLIError(f"{what} {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise CLIError(f"cannot write in the folder {out}: {e.strerror or e}") from None
    return out


def writable(path: str | os.PathLike, force: bool, flag: str = "") -> Path:
    """`path` may be written: it does not exist yet, or --force was given and it is a regular
    file. Creates its folder and checks that files can be created in it. (The writers check
    again when they write: see io.atomic_write.)"""
    if not os.fspath(path):
        raise CLIError(f"{flag or 'the file name'} is empty; give a file name")
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{flag + ' ' if flag else ''}{target} is a directory; give a file name")
    if target.exists() and not force:
        raise CLIError(f"{target} already exists; pass --force to overwrite it"
                       f"{' or choose another ' + flag if flag else ''}")
    if target.exists() and not target.is_file():
        raise CLIError(f"{target} is not a regular file (a FIFO, socket or device); --force "
                       "only replaces regular files")
    output_dir(target.parent, f"the folder of {flag or 'the file'}")
    return target


def unclaimed(path: Path, force: bool, ours: Iterable[Path] = ()) -> Path:
    """Right before writing `path`: refuse a file that appeared there while the command ran
    (one this run wrote itself, listed in `ours`, may be replaced)."""
    if path.exists() and not force and path not in set(ours):
        raise CLIError(f"{path} appeared while this command ran; it is left as it is (pass "
                       "--force to overwrite it)")
    return path


def refuse_existing(paths: list[Path], force: bool, hint: str = "--out DIR") -> None:
    """Nothing the user already has is overwritten without --force."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        shown = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more"
                                           if len(existing) > 3 else "")
        raise CLIError(f"{shown} already exist{'s' if len(existing) == 1 else ''}; pass --force "
                       f"to overwrite, or choose another {hint}")
