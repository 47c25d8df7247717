"""The command line: `python -m tinygrad_rnn <command>` or `tinygrad-rnn <command>`.

Commands: demo (the main job), train, sample, gradcheck, render, flow, explore. See
docs/cli.md.
Every error is one line on stderr, `tinygrad-rnn: error: <message>`, with exit code 2 for bad
input, 1 for a failure at run time (a gradcheck that fails, a diverging run, a missing `dot`)
and 130 for Ctrl-C. Nothing the user already has is overwritten without --force.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import numpy as np

from .. import __version__
from ..memory import keep_freed_memory
from .errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, CLIError

PROG = "tinygrad-rnn"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) raised as CLIError."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
        raise CLIError(f"{message} (see {PROG} {command}--help)", EXIT_USAGE)


def build_parser() -> ArgumentParser:
    from . import cmd_demo, cmd_gradcheck, cmd_sample, cmd_train, cmd_viz

    parser = ArgumentParser(
        prog=PROG, description="A small exact autodiff engine and the notes' RNN: train it, "
        "gradcheck it, and draw its unfolded graph.",
        epilog="Start with `tinygrad-rnn demo`. Each command has --help.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cmd_demo.add_parser(sub)
    cmd_train.add_parser(sub)
    cmd_sample.add_parser(sub)
    cmd_gradcheck.add_parser(sub)
    cmd_viz.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 failure, 2 bad input, 130 Ctrl-C)."""
    try:
        parser = build_parser()
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        keep_freed_memory()  # faster backward; a CLI process owns its heap (see memory.py)
        with np.errstate(all="ignore"):  # overflow is detected and reported by the commands
            return int(args.run(args))
    except CLIError as e:
        return _fail(str(e), e.code)
    except SystemExit as e:  # --help and --version exit through argparse
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        return EXIT_FAILURE
    except Exception as e:  # noqa: BLE001 - the CLI promises one line, never a traceback
        if os.environ.get("TINYGRAD_RNN_DEBUG"):
            raise
        text = " ".join(str(e).split()) or type(e).__name__
        return _fail(f"unexpected {type(e).__name__}: {text} (this is a bug; rerun with "
                     "TINYGRAD_RNN_DEBUG=1 for the traceback)", EXIT_FAILURE)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


__all__ = ["main", "build_parser", "CLIError"]
