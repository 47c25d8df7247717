"""`sample`: generate text from a character-model checkpoint, one character at a time."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..data import CharVocab
from ..tensor import Tensor
from .errors import EXIT_OK, CLIError, nonnegative_int, positive_float, positive_int
from .runs import load_model, open_checkpoint


def generate(model: Any, vocab: CharVocab, prime: str | None, length: int,
             temperature: float, seed: int) -> str:
    """prime + `length` characters drawn from softmax(y_t / temperature), state carried."""
    rng = np.random.default_rng(seed)
    if not prime:
        prime = vocab.chars[int(rng.integers(vocab.size))]
    ids = vocab.encode(prime)
    out: list[int] = []
    with no_grad():
        ys, state = model(Tensor(vocab.one_hot(ids)[:, None, :]), None)
        for _ in range(length):
            logits = ys.data[-1, 0] / temperature
            if not np.all(np.isfinite(logits)):
                raise CLIError(f"the model's outputs became {_non_finite(logits)} after "
                               f"{len(out)} generated characters, so no character can be "
                               "drawn; the checkpoint's parameters are not usable (a diverged "
                               "run?) or --temperature is too small")
            p = np.exp(logits - logits.max())
            nxt = int(rng.choice(vocab.size, p=p / p.sum()))
            out.append(nxt)
            ys, state = model(Tensor(vocab.one_hot(np.array([nxt]))[:, None, :]), state)
    return prime + vocab.decode(np.array(out, dtype=np.int64))


def _non_finite(values: np.ndarray) -> str:
    return "NaN" if np.isnan(values).any() else "infinite"


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
    print(generate(model, vocab, a.prime, a.length, a.temperature, a.seed))
    return EXIT_OK
