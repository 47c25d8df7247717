"""Checking a recurrent model's BPTT gradients, and saying where they go wrong.

The parameters are checked element by element (the engine's `gradcheck`, with the parameters'
names). To find the *time step*, ∂E/∂x_t is also checked for every step t: x_t only reaches E
through steps t, t+1, …, T−1, so a backward that goes wrong at step k spoils ∂E/∂x_t for t ≤ k
and leaves the later steps right. The latest step that disagrees is where the error enters.
Used by `gradcheck` and by `demo`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn
from ..gradcheck import GradcheckError, gradcheck
from ..tensor import Tensor


@dataclass
class StepCheck:
    """Per time step: max |analytic − numeric| of ∂E/∂x_t and how many elements disagree."""

    max_error: list[float] = field(default_factory=list)
    bad: list[int] = field(default_factory=list)

    @property
    def latest_bad(self) -> int | None:
        steps = [t for t, n in enumerate(self.bad) if n]
        return steps[-1] if steps else None


@dataclass
class Verdict:
    passed: bool
    report: str  # the engine's report (names parameter and element) or "" when passed
    steps: StepCheck
    n_elements: int
    mode: str = "full"  # "full": every element; "random": one random direction


class _Probe(nn.Module):
    """model.unroll → (optional injected bug: scale ∂E/∂h_k by 1.5) → model.readout."""

    def __init__(self, model: Any, bug_step: int | None) -> None:  # unroll and readout
        super().__init__()
        self.inner, self.bug_step = model, bug_step

    def forward(self, x: Tensor) -> Tensor:
        hs = self.inner.unroll(x)
        if self.bug_step is not None and hs[self.bug_step].requires_grad:
            hs[self.bug_step].register_hook(lambda g: g * 1.5)  # a deliberately wrong backward
        return self.inner.readout(hs)


def check_model(model: nn.Module, x: np.ndarray, loss_fn: Callable[[Tensor], Tensor],
                eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, mode: str = "full",
                bug_step: int | None = None) -> Verdict:
    """Gradcheck every parameter of `model` (float64) and ∂E/∂x_t for each step t."""
    model = model.to(np.float64)
    probe = _Probe(model, bug_step)
    names = [name for name, _ in model.named_parameters()]
    values = [p.data.copy() for p in model.parameters()]

    def fn(*tensors: Tensor) -> Tensor:
        params = {f"inner.{n}": t for n, t in zip(names, tensors)}
        return loss_fn(nn.functional_call(probe, params, Tensor(x)))

    try:
        gradcheck(fn, [Tensor(v, requires_grad=True) for v in values], eps=eps, atol=atol,
                  rtol=rtol, mode=mode, names=names)
        passed, report = True, ""
    except GradcheckError as e:
        passed, report = False, str(e)
    steps = check_steps(lambda xt: loss_fn(probe(xt)), x, eps, atol, rtol)
    return Verdict(passed and not any(steps.bad), report, steps, sum(v.size for v in values),
                   mode)


def check_steps(fn: Callable[[Tensor], Tensor], x: np.ndarray, eps: float, atol: float,
                rtol: float) -> StepCheck:
    """∂E/∂x_t by backward against central differences, summarised per time step t."""
    xt = Tensor(x, requires_grad=True)
    fn(xt).backward()
    analytic = xt.grad if xt.grad is not None else np.zeros_like(x)
    data, result = xt.data, StepCheck()
    for t in range(x.shape[0]):
        worst, bad = 0.0, 0
        for index in np.ndindex(*x.shape[1:]):
            element = (t, *index)
            original = data[element]
            data[element] = original + eps
            plus = float(fn(xt).data)
            data[element] = original - eps
            minus = float(fn(xt).data)
            data[element] = original
            numeric = (plus - minus) / (2 * eps)
            error = abs(analytic[element] - numeric)
            worst, bad = max(worst, error), bad + (error > atol + rtol * abs(numeric))
        result.max_error.append(worst)
        result.bad.append(bad)
    return result


def describe(verdict: Verdict, T: int) -> list[str]:
    """The verdict as printable lines: the engine's report plus the time-step localisation."""
    s = verdict.steps
    entries = [f"t={t}: {e:.1e}{'*' if s.bad[t] else ''}" for t, e in enumerate(s.max_error)]
    lines = ["per time step, max |analytic - numeric| of dE/dx_t (* = mismatch):"]
    lines += ["  " + "  ".join(entries[i:i + 6]) for i in range(0, len(entries), 6)]
    if verdict.passed:
        checked = (f"all {verdict.n_elements} parameter elements" if verdict.mode == "full" else
                   f"one random direction through all {verdict.n_elements} parameter elements")
        steps = "the only step" if T == 1 else f"all {T} steps"
        return lines + textwrap.wrap(f"PASS: {checked} and dE/dx_t at {steps} match "
                                     "central differences", width=96, subsequent_indent="  ")
    if verdict.report:
        lines += verdict.report.splitlines()
    k = s.latest_bad
    worst = int(np.argmax(s.max_error))
    if k is None:
        lines.append(f"time step: none of the {T} steps' dE/dx_t disagree, so the gradients "
                     "flowing back through the hidden states are right; the error is in how the "
                     "parameter's own gradient is formed (largest per-step error at "
                     f"t={worst})")
    else:
        bad = ", ".join(f"t={t}" for t, n in enumerate(s.bad) if n)
        later = (f"agrees at every later step, so the wrong gradient enters in the backward of "
                 f"step t={k}" if k < T - 1 else
                 "this includes the last step, so the wrong gradient enters at the last step "
                 "or after it (read-out, loss), or in an op that every step uses")
        lines += textwrap.wrap(f"time step: t={k} of T={T} (0-based). dE/dx_t disagrees at "
                               f"{bad} and {later} (largest per-step error at t={worst})",
                               width=96, subsequent_indent="  ")
    return lines + ["FAIL: the backward pass disagrees with central differences"]


def step_size_hint(loss: float, eps: float, atol: float) -> str:
    """Name a step too small to resolve (central differences lose about ε_mach·|E|/eps to
    round-off) or too large (their O(eps²) error dominates) as the likely cause of a failure."""
    if eps > 1e-2:
        return (f"likely cause: --eps {eps:g} is too large: a central difference is exact only "
                "up to O(eps²) terms. Try --eps 1e-6")
    roundoff = np.finfo(np.float64).eps * max(abs(loss), 1.0) / eps
    if eps >= 1e-6 or roundoff < 0.1 * atol:  # the default step or larger is not "too small"
        return ""
    return (f"likely cause: --eps {eps:g} is too small to resolve in float64: round-off alone "
            f"can move each central difference by about {roundoff:.1e} (ε·|E|/eps), against "
            f"--atol {atol:g}. Try --eps 1e-6")
