"""`sample`: generate text from a character-model checkpoint, one character at a time."""

from __future__ import annotations

import argparse
from typing import Any

from ..data import CharVocab
from ..data.tasks import generate
from .errors import EXIT_OK, CLIError, nonnegative_int, positive_float, positive_int, user_input
from .runs import load_model, open_checkpoint


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sample", help="generate text from a text-model checkpoint",
                       description="Generate text from a checkpoint of `train --text ...`.")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint of a text model")
    p.add_argument("--length", type=positive_int, default=300, help="characters (default 300)")
    p.add_argument("--prime", help="text to start from (default: one random character)")
    p.add_argument("--temperature", type=positive_float, default=0.8,
                   help="<1 more conservative, >1 more random (default 0.8)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    p.set_defaults(run=run)


def run(a: argparse.Namespace) -> int:
    ckpt = open_checkpoint(a.checkpoint)
    task = ckpt.config["task"]
    if task.get("kind") != "text":
        raise CLIError(f"{a.checkpoint} holds a {task.get('kind', 'non-text')} model of "
                       f"{task.get('label', '?')}; sample needs a text model (train --text)")
    chars = task.get("chars")
    if not isinstance(chars, str) or not chars:
        raise CLIError(f"{a.checkpoint} has no vocabulary in its config")
    vocab = CharVocab(chars)
    unknown = sorted({c for c in (a.prime or "") if c not in vocab})
    if unknown:
        raise CLIError(f"--prime contains characters the model never saw: "
                       f"{''.join(unknown)!r}")
    model = load_model(ckpt, a.checkpoint)
    with user_input():
        print(generate(model, vocab, a.prime, a.length, a.temperature, a.seed))
    return EXIT_OK
