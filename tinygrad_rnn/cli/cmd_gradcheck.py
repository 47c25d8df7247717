"""`gradcheck`: check a model's BPTT gradients against central differences, and say where.

The checks themselves (per parameter element, and per time step through ∂E/∂x_t) are in
bptt_check.py, shared with `demo`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from .bptt_check import check_model, describe, step_size_hint
from .errors import EXIT_FAILURE, EXIT_OK, CLIError, nonnegative_int, positive_float, positive_int
from .models import MODELS, NONLINEARITIES, build_model, check_sizes

LOSSES = ("E", "ce")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("gradcheck", help="check a model's BPTT gradients by finite differences",
                       description="Gradcheck rnn/lstm/gru on a random sequence (float64).")
    p.add_argument("--model", choices=MODELS, default="rnn", help="rnn (default), lstm, gru")
    p.add_argument("--input", type=positive_int, default=2, help="input size I (2)")
    p.add_argument("--hidden", type=positive_int, default=3, help="hidden size H (3)")
    p.add_argument("--output", type=positive_int, default=2, help="output size O (2)")
    p.add_argument("--steps", type=positive_int, default=5, help="time steps T (5)")
    p.add_argument("--batch", type=positive_int, default=2, help="batch size B (2)")
    p.add_argument("--nonlinearity", choices=NONLINEARITIES,
                   help="σ of --model rnn (default tanh)")
    p.add_argument("--loss", choices=LOSSES, default="E",
                   help="E = ½Σ||y−g||² on random targets (default), ce = cross-entropy")
    p.add_argument("--mode", choices=("full", "random"), default="full",
                   help="full: every element (default); random: one random direction")
    p.add_argument("--eps", type=positive_float, default=1e-6, help="finite-difference step (1e-6)")
    p.add_argument("--atol", type=positive_float, default=1e-5, help="absolute tolerance (1e-5)")
    p.add_argument("--rtol", type=positive_float, default=1e-3, help="relative tolerance (1e-3)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    p.add_argument("--inject-bug", type=nonnegative_int, metavar="STEP", help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(a: argparse.Namespace) -> int:
    if a.inject_bug is not None and a.inject_bug >= a.steps:
        raise CLIError(f"--inject-bug {a.inject_bug} must be a time step below --steps {a.steps}")
    if a.loss == "ce" and a.output < 2:
        raise CLIError("--loss ce needs --output 2 or more classes")
    if a.nonlinearity is not None and a.model != "rnn":
        raise CLIError(f"--nonlinearity only applies to --model rnn (not {a.model})")
    check_sizes(a.model, a.input, a.hidden, a.output, a.batch, a.steps)
    rng = np.random.default_rng(a.seed)
    model = build_model(a.model, a.input, a.hidden, a.output, a.seed, a.nonlinearity or "tanh")
    x = rng.standard_normal((a.steps, a.batch, a.input))
    if a.loss == "E":
        target = rng.standard_normal((a.steps, a.batch, a.output))
        loss_fn: Callable[[Tensor], Tensor] = lambda ys: F.squared_error(ys, target)  # noqa: E731
    else:
        classes = rng.integers(a.output, size=(a.steps, a.batch))
        # (T, B, O) outputs -> T·B rows of O classes, cross_entropy's (PyTorch's) layout
        loss_fn = lambda ys: F.cross_entropy(ys.reshape(-1, a.output),  # noqa: E731
                                             classes.reshape(-1))
    shapes = ", ".join(f"{n} {tuple(p.shape)}" for n, p in model.named_parameters())
    print(f"gradcheck: {a.model} I={a.input} H={a.hidden} O={a.output}, T={a.steps} "
          f"B={a.batch}, float64, loss {a.loss}, mode {a.mode}, eps={a.eps:g} atol={a.atol:g} "
          f"rtol={a.rtol:g}")
    print(f"parameters: {shapes}")
    verdict = check_model(model, x, loss_fn, a.eps, a.atol, a.rtol, a.mode, a.inject_bug)
    for line in describe(verdict, a.steps):
        print(line)
    if not verdict.passed:
        hint = step_size_hint(float(loss_fn(model(Tensor(x))[0]).item()), a.eps, a.atol)
        if hint:
            print(hint)
    return EXIT_OK if verdict.passed else EXIT_FAILURE
