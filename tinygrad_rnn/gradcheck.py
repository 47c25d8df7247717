"""Gradient checking: analytic gradients against central finite differences, in float64.

`gradcheck(fn, inputs)` reduces the output to a scalar with a fixed random cotangent v, so the
check compares vᵀJ (what backward computes) with (L(x + εeᵢ) − L(x − εeᵢ)) / 2ε for every
element i of every input that requires a gradient. `mode="random"` instead checks one random
direction d for all inputs at once: ⟨∇L, d⟩ against (L(x + εd) − L(x − εd)) / 2ε, two forward
passes whatever the size (the VJP checked against a numerical JVP).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences; the message is the report."""


@dataclass
class Mismatch:
    input_index: int
    element: tuple[int, ...]
    analytic: float
    numeric: float

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def rel_error(self) -> float:
        return self.abs_error / max(abs(self.numeric), abs(self.analytic), 1e-300)


def _as_float64_inputs(inputs: Sequence[Any]) -> list[Tensor]:
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(Tensor(x.data, requires_grad=x.requires_grad,
                              dtype=np.float64 if x.data.dtype.kind == "f" else None))
        else:
            out.append(Tensor(x, requires_grad=True, dtype=np.float64))
    return out


def _scalar_loss(fn: Callable, tensors: list[Tensor], cotangent: np.ndarray | None) -> Tensor:
    out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if cotangent is None:
        return out
    return (out * cotangent).sum()


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, mode: str = "full", seed: int = 0,
              names: Sequence[str] | None = None, max_report: int = 5,
              raise_exception: bool = True) -> bool:
    """Check backward against central differences. Returns True or raises GradcheckError.

    fn: tensors -> tensor (any shape). inputs: tensors (those with requires_grad=True are
    checked; non-tensors are treated as tensors requiring a gradient). Everything is computed
    on float64 copies. An element fails when |analytic − numeric| > atol + rtol·|numeric|.
    """
    if mode not in ("full", "random"):
        raise ValueError(f"gradcheck: mode must be 'full' or 'random', got {mode!r}")
    tensors = _as_float64_inputs(inputs)
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient; nothing to check")
    names = list(names) if names is not None else [f"input {i}" for i in range(len(tensors))]
    rng = np.random.default_rng(seed)
    probe = fn(*tensors)
    if not isinstance(probe, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(probe).__name__}")
    cotangent = None if probe.data.size == 1 else rng.standard_normal(probe.shape)
    loss = _scalar_loss(fn, tensors, cotangent)
    if not loss.requires_grad:
        raise ValueError("gradcheck: the output does not depend on any input that requires grad")
    loss.backward()
    analytic = [tensors[i].grad if tensors[i].grad is not None else np.zeros(tensors[i].shape)
                for i in checked]

    def loss_at() -> float:
        return float(_scalar_loss(fn, tensors, cotangent).data.sum())

    if mode == "random":
        return _check_direction(tensors, checked, analytic, loss_at, eps, atol, rtol, rng,
                                names, raise_exception)
    failures: list[Mismatch] = []
    total = 0
    for i, grad in zip(checked, analytic):
        data = tensors[i].data
        for element in np.ndindex(*data.shape):
            total += 1
            numeric = _central_difference(data, element, eps, loss_at)
            if abs(grad[element] - numeric) > atol + rtol * abs(numeric):
                failures.append(Mismatch(i, element, float(grad[element]), numeric))
    if not failures:
        return True
    if not raise_exception:
        return False
    raise GradcheckError(_report(failures, total, names, atol, rtol, max_report))


def _central_difference(data: np.ndarray, element: tuple, eps: float, loss_at: Callable) -> float:
    original = data[element]
    data[element] = original + eps
    plus = loss_at()
    data[element] = original - eps
    minus = loss_at()
    data[element] = original
    return (plus - minus) / (2 * eps)


def _check_direction(tensors, checked, analytic, loss_at, eps, atol, rtol, rng, names,
                     raise_exception) -> bool:
    directions = [rng.standard_normal(tensors[i].shape) for i in checked]
    originals = [tensors[i].data.copy() for i in checked]

    def shifted(sign: float) -> float:
        for i, d, x0 in zip(checked, directions, originals):
            tensors[i].data[...] = x0 + sign * eps * d
        return loss_at()

    numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
    for i, x0 in zip(checked, originals):
        tensors[i].data[...] = x0
    vjp = float(sum(np.vdot(g, d) for g, d in zip(analytic, directions)))
    if abs(vjp - numeric) <= atol + rtol * abs(numeric):
        return True
    if not raise_exception:
        return False
    mismatch = Mismatch(checked[0], (), vjp, numeric)
    raise GradcheckError(
        "gradcheck (random direction) failed: the analytic directional derivative <grad, d> = "
        f"{vjp:.10g} but the numerical JVP = {numeric:.10g} (abs error {mismatch.abs_error:.3g}, "
        f"rel error {mismatch.rel_error:.3g}, atol={atol}, rtol={rtol}) over inputs "
        f"{', '.join(names[i] for i in checked)}. Run mode='full' to find the element.")


def _report(failures: list[Mismatch], total: int, names: Sequence[str], atol: float,
            rtol: float, max_report: int) -> str:
    worst = sorted(failures, key=lambda m: -m.abs_error)
    lines = [f"gradcheck failed: {len(failures)} of {total} elements differ from central "
             f"differences (atol={atol}, rtol={rtol}). Worst first:"]
    for m in worst[:max_report]:
        lines.append(f"  {names[m.input_index]}[{', '.join(map(str, m.element))}]: analytic "
                     f"{m.analytic:.10g}, numeric {m.numeric:.10g}, abs error "
                     f"{m.abs_error:.3g}, rel error {m.rel_error:.3g}")
    if len(worst) > max_report:
        lines.append(f"  ... and {len(worst) - max_report} more")
    return "\n".join(lines)
