"""Gradient checking: analytic gradients against central finite differences, in float64.

`gradcheck(fn, inputs)` reduces the output to a scalar with a fixed random cotangent v, so the
check compares vᵀJ (what backward computes) with (L(x + εeᵢ) − L(x − εeᵢ)) / 2ε for every
element i of every input that requires a gradient. `mode="random"` instead checks one random
direction d for all inputs at once: ⟨∇L, d⟩ against (L(x + εd) − L(x − εd)) / 2ε, two forward
passes whatever the size (the VJP checked against a numerical JVP). `fast_mode=True` is that
check (PyTorch's fast gradcheck, vᵀJu), and on failure it reruns the full check so that the
report still names the input and the element.

`check_forward_ad=True` also checks every jvp rule: forward mode's J·eᵢ (or J·u in fast mode)
against central differences of the whole output. `gradgradcheck` checks second derivatives:
gradcheck of the function (inputs, v) -> vᵀJ built with create_graph=True.
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
    output_element: tuple[int, ...] | None = None  # forward mode: which output element

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def rel_error(self) -> float:
        return self.abs_error / max(abs(self.numeric), abs(self.analytic), 1e-300)

    @property
    def non_finite(self) -> str:
        """'' when both sides are finite, else which side is NaN/Inf ('analytic is NaN')."""
        return _non_finite(self.analytic, self.numeric)


def _non_finite(analytic: float, numeric: float) -> str:
    bad = [f"{side} is {_kind(v)}" for side, v in (("analytic", analytic), ("numeric", numeric))
           if not np.isfinite(v)]
    return ", ".join(bad)


def _kind(v: float) -> str:
    return "NaN" if np.isnan(v) else "+Inf" if v > 0 else "-Inf"


def agrees(analytic: float, numeric: float, atol: float, rtol: float) -> bool:
    """|analytic − numeric| <= atol + rtol·|numeric| for finite values. A NaN never agrees, and
    an infinity agrees only with the identical infinity."""
    if np.isfinite(analytic) and np.isfinite(numeric):
        return abs(analytic - numeric) <= atol + rtol * abs(numeric)
    return bool(np.isinf(analytic) and analytic == numeric)


def _as_float64_inputs(inputs: Sequence[Any]) -> list[Tensor]:
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(Tensor(x.data, requires_grad=x.requires_grad,
                              dtype=np.float64 if x.data.dtype.kind == "f" else None))
        else:
            out.append(Tensor(x, requires_grad=True, dtype=np.float64))
    return out


def _prepare(inputs: Sequence[Any], names: Sequence[str] | None, seed: int
             ) -> tuple[list[Tensor], list[int], list[str], np.random.Generator]:
    """float64 copies of the inputs, the indices of those checked, their names and the rng."""
    tensors = _as_float64_inputs(inputs)
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient; nothing to check")
    labels = list(names) if names is not None else [f"input {i}" for i in range(len(tensors))]
    return tensors, checked, labels, np.random.default_rng(seed)


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
              raise_exception: bool = True, fast_mode: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True) -> bool:
    """Check backward against central differences. Returns True or raises GradcheckError.

    fn: tensors -> tensor (any shape). inputs: tensors (those with requires_grad=True are
    checked; non-tensors are treated as tensors requiring a gradient). Everything is computed
    on float64 copies. An element fails when |analytic − numeric| > atol + rtol·|numeric|, and
    when either side is NaN or infinite, unless both are the same infinity (in every mode).
    fast_mode: check vᵀJu for random u, v (one backward, two evaluations of fn); on failure
    rerun the full check for an element-level report.
    check_forward_ad: also check forward mode (each op's jvp rule) against central
    differences; check_backward_ad=False checks forward mode only.
    """
    if mode not in ("full", "random"):
        raise ValueError(f"gradcheck: mode must be 'full' or 'random', got {mode!r}")
    if fast_mode and mode == "full":
        ok = gradcheck(fn, inputs, eps, atol, rtol, "random", seed, names, max_report, False,
                       False, check_forward_ad, check_backward_ad)
        if ok:
            return True
        if not raise_exception:
            return False
        # the full check names the element; if it passes, the random one raises its own report
        gradcheck(fn, inputs, eps, atol, rtol, "full", seed, names, max_report, True, False,
                  check_forward_ad, check_backward_ad)
        return gradcheck(fn, inputs, eps, atol, rtol, "random", seed, names, max_report, True,
                         False, check_forward_ad, check_backward_ad)
    if check_forward_ad:
        if not _check_forward_ad(fn, inputs, eps, atol, rtol, mode, seed, names, max_report,
                                 raise_exception):
            return False
        if not check_backward_ad:
            return True
    tensors, checked, names, rng = _prepare(inputs, names, seed)
    probe = fn(*tensors)
    if not isinstance(probe, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(probe).__name__}")
    cotangent = None if probe.data.size == 1 else rng.standard_normal(probe.shape)
    loss = _scalar_loss(fn, tensors, cotangent)
    if not loss.requires_grad:
        raise ValueError("gradcheck: the output does not depend on any input that requires grad")
    loss.backward()
    grads = [tensors[i].grad for i in checked]
    analytic = [np.zeros(tensors[i].shape) if g is None else g for i, g in zip(checked, grads)]

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
            if not agrees(float(grad[element]), numeric, atol, rtol):
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


def _check_direction(tensors: list[Tensor], checked: list[int], analytic: list[np.ndarray],
                     loss_at: Callable[[], float], eps: float, atol: float, rtol: float,
                     rng: np.random.Generator, names: list[str], raise_exception: bool) -> bool:
    directions = [rng.standard_normal(tensors[i].shape) for i in checked]
    originals = [tensors[i].data.copy() for i in checked]

    def shifted(sign: float) -> float:
        for i, d, x0 in zip(checked, directions, originals):
            tensors[i].data[...] = x0 + sign * eps * d
        return loss_at()

    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: reported as a failure
        numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
        vjp = float(sum(np.vdot(g, d) for g, d in zip(analytic, directions)))
    for i, x0 in zip(checked, originals):
        tensors[i].data[...] = x0
    if agrees(vjp, numeric, atol, rtol):
        return True
    if not raise_exception:
        return False
    mismatch = Mismatch(checked[0], (), vjp, numeric)
    where = _first_non_finite(analytic, checked, names)
    detail = f" ({mismatch.non_finite}{where})" if mismatch.non_finite else ""
    raise GradcheckError(
        "gradcheck (random direction) failed: the analytic directional derivative <grad, d> = "
        f"{vjp:.10g} but the numerical JVP = {numeric:.10g}{detail} (abs error "
        f"{mismatch.abs_error:.3g}, rel error {mismatch.rel_error:.3g}, atol={atol}, "
        f"rtol={rtol}) over inputs {', '.join(names[i] for i in checked)}. Run mode='full' to "
        "find the element.")


def _first_non_finite(analytic: list[np.ndarray], checked: list[int],
                      names: Sequence[str]) -> str:
    """'; the analytic gradient of input 0 is NaN at [1, 2]' for the first non-finite element."""
    for i, grad in zip(checked, analytic):
        bad = np.argwhere(~np.isfinite(grad))
        if bad.size:
            element = tuple(int(k) for k in bad[0])
            return (f"; the analytic gradient of {names[i]} is {_kind(grad[element])} at "
                    f"[{', '.join(map(str, element))}]")
    return ""


def _report(failures: list[Mismatch], total: int, names: Sequence[str], atol: float,
            rtol: float, max_report: int) -> str:
    # NaN/Inf first (their abs error is NaN or Inf, so they would not sort), then by abs error
    worst = sorted(failures, key=lambda m: (not m.non_finite,
                                            0.0 if m.non_finite else -m.abs_error))
    lines = [f"gradcheck failed: {len(failures)} of {total} elements differ from central "
             f"differences (atol={atol}, rtol={rtol}). Worst first:"]
    for m in worst[:max_report]:
        error = (f"NaN/Inf: {m.non_finite}" if m.non_finite else
                 f"abs error {m.abs_error:.3g}, rel error {m.rel_error:.3g}")
        out = ("" if m.output_element is None else
               f" -> output[{', '.join(map(str, m.output_element))}]")
        lines.append(f"  {names[m.input_index]}[{', '.join(map(str, m.element))}]{out}: "
                     f"analytic {m.analytic:.10g}, numeric {m.numeric:.10g}, {error}")
    if len(worst) > max_report:
        lines.append(f"  ... and {len(worst) - max_report} more")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ forward mode


def _check_forward_ad(fn: Callable[..., Tensor], inputs: Sequence[Any], eps: float, atol: float,
                      rtol: float, mode: str, seed: int, names: Sequence[str] | None,
                      max_report: int, raise_exception: bool) -> bool:
    """Forward mode against central differences of the whole output: J·eᵢ for every element
    i (mode "full"), or J·u for one random u across all inputs (mode "random")."""
    from .func import jvp

    tensors, checked, labels, rng = _prepare(inputs, names, seed)

    def f(*xs: Tensor) -> Tensor:
        args = list(tensors)
        for i, x in zip(checked, xs):
            args[i] = x
        out = fn(*args)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        return out

    primals = [tensors[i].data.copy() for i in checked]

    def output_at(shifts: list[np.ndarray], sign: float) -> np.ndarray:
        for i, x0, d in zip(checked, primals, shifts):
            tensors[i].data[...] = x0 + sign * eps * d
        value = np.array(fn(*tensors).data, dtype=np.float64)
        for i, x0 in zip(checked, primals):
            tensors[i].data[...] = x0
        return value

    def compare(direction: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        _, dot = jvp(f, tuple(primals), tuple(direction))
        with np.errstate(invalid="ignore", over="ignore"):
            numeric = (output_at(direction, 1.0) - output_at(direction, -1.0)) / (2 * eps)
        return np.asarray(dot.data, dtype=np.float64), numeric

    if mode == "random":
        direction = [rng.standard_normal(p.shape) for p in primals]
        analytic, numeric = compare(direction)
        bad = [k for k in np.ndindex(*numeric.shape)
               if not agrees(float(analytic[k]), float(numeric[k]), atol, rtol)]
        if not bad:
            return True
        if not raise_exception:
            return False
        k = bad[0]
        raise GradcheckError(
            f"gradcheck (forward mode, random direction) failed: J·u = {analytic[k]:.10g} but "
            f"the numerical directional derivative = {numeric[k]:.10g} at output element "
            f"[{', '.join(map(str, k))}] ({len(bad)} of {numeric.size} output elements differ; "
            f"atol={atol}, rtol={rtol}) over inputs {', '.join(labels[i] for i in checked)}. "
            "Run mode='full' to find the input element.")
    failures: list[Mismatch] = []
    total = 0
    for n, (i, p) in enumerate(zip(checked, primals)):
        for element in np.ndindex(*p.shape):
            direction = [np.zeros_like(q) for q in primals]
            direction[n][element] = 1.0
            analytic, numeric = compare(direction)
            for k in np.ndindex(*numeric.shape):
                total += 1
                if not agrees(float(analytic[k]), float(numeric[k]), atol, rtol):
                    failures.append(Mismatch(i, element, float(analytic[k]), float(numeric[k]),
                                             k))
    if not failures:
        return True
    if not raise_exception:
        return False
    report = _report(failures, total, labels, atol, rtol, max_report)
    raise GradcheckError(report.replace("gradcheck failed:", "gradcheck (forward mode, jvp) "
                                        "failed:", 1))


# ------------------------------------------------------------------------- second derivatives


def gradgradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any],
                  grad_outputs: Sequence[Any] | None = None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, mode: str = "full", seed: int = 0,
                  names: Sequence[str] | None = None, max_report: int = 5,
                  raise_exception: bool = True, fast_mode: bool = False) -> bool:
    """Check second derivatives against finite differences of the first (PyTorch's
    gradgradcheck): gradcheck of (inputs, v) -> vᵀ∂fn/∂inputs, where the first derivative is
    built with create_graph=True. grad_outputs (v) default to fixed random values and are
    checked too (the first derivative is linear in them). The report names the input and the
    element, as gradcheck's does.
    """
    from .autograd import grad

    tensors = _as_float64_inputs(inputs)
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires a gradient; nothing to check")
    probe = fn(*tensors)
    if not isinstance(probe, Tensor):
        raise TypeError(f"gradgradcheck: fn must return a Tensor, got {type(probe).__name__}")
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        vs = [Tensor(rng.standard_normal(probe.shape), requires_grad=True)]
    else:
        vs = _as_float64_inputs(grad_outputs)
    labels = list(names) if names is not None else [f"input {i}" for i in range(len(tensors))]
    labels += [f"grad_output {k}" for k in range(len(vs))]

    def first_derivative(*args: Tensor) -> Tensor:
        xs, v = list(args[:len(tensors)]), args[len(tensors)]
        out = fn(*xs)
        wrt = [xs[i] for i in checked]
        if not out.requires_grad:
            return Tensor(np.zeros(sum(x.data.size for x in wrt)))
        gs = grad(out, wrt, v, create_graph=True, allow_unused=True)
        pieces = [(Tensor(np.zeros(x.shape)) if g is None else g).reshape(-1)
                  for x, g in zip(wrt, gs)]
        from .tensor import cat

        return cat(pieces)

    args = [*tensors, *vs]
    if not first_derivative(*args).requires_grad:
        # the first derivative is constant (fn is at most linear in its inputs, and with no v
        # dependence): the second derivative is 0, so the first must not move numerically
        return _check_constant(first_derivative, args, eps, atol, rtol, labels,
                               raise_exception)
    return gradcheck(first_derivative, args, eps, atol, rtol, mode, seed, labels,
                     max_report, raise_exception, fast_mode)


def _check_constant(fn: Callable[..., Tensor], args: list[Tensor], eps: float, atol: float,
                    rtol: float, names: Sequence[str], raise_exception: bool) -> bool:
    for i, t in enumerate(args):
        if not t.requires_grad:
            continue
        data = t.data
        for element in np.ndindex(*data.shape):
            original = data[element]
            data[element] = original + eps
            plus = np.array(fn(*args).data)
            data[element] = original - eps
            minus = np.array(fn(*args).data)
            data[element] = original
            numeric = (plus - minus) / (2 * eps)
            worst = float(np.max(np.abs(numeric))) if numeric.size else 0.0
            if worst > atol:
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"gradgradcheck failed: the first derivative has no graph (its backward "
                    f"says the second derivative is 0), but it changes with {names[i]}"
                    f"[{', '.join(map(str, element))}]: central difference up to {worst:.10g} "
                    f"(atol={atol}, rtol={rtol})")
    return True
