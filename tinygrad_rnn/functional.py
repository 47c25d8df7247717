"""Composites: functions built only from primitives. None of them defines a backward."""

from __future__ import annotations

from typing import Any

import numpy as np

from .ops import _normalize_axis
from .tensor import Tensor, as_tensor


def _check_tensor(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def _max_shift(x: Tensor, axis: int, finite: bool, op: str) -> Tensor:
    """max(x) along axis (kept as size 1) as a constant: any constant shift gives the same value,
    and the max keeps exp from overflowing. An empty axis has shift 0. finite=True also turns
    a ±inf max into 0, PyTorch's trick that makes logsumexp([inf, 0]) = inf and
    logsumexp([-inf, -inf]) = -inf instead of nan (inf - inf)."""
    data = x.data
    axes = _normalize_axis(axis, data.ndim, op)
    if any(data.shape[a] == 0 for a in axes):
        shift = np.zeros(data.sum(axis=axes, keepdims=True).shape, dtype=data.dtype)
    else:
        shift = data.max(axis=axes, keepdims=True)
    if finite:
        shift = np.where(np.isinf(shift), 0, shift)
    return Tensor._wrap(shift, None, 0)


def logsumexp(x: Tensor, axis: int = -1, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) along axis, shifted by the (constant) max so that ±1e4 logits stay finite.

    As PyTorch: a row holding inf gives inf, an all -inf (or empty) row gives -inf.
    """
    x = _check_tensor(x, "logsumexp")
    shift = _max_shift(x, axis, True, "logsumexp")
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf or empty row
        total = (x - shift).exp().sum(axis=axis, keepdims=keepdims).log()
    return total + (shift if keepdims else shift.reshape(total.shape))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x) = (x - m) - log Σ exp(x - m), m = max(x) as a constant (PyTorch's kernel:
    a row holding inf, or all -inf, gives nan everywhere, as in PyTorch)"""
    x = _check_tensor(x, "log_softmax")
    shifted = x - _max_shift(x, axis, False, "log_softmax")
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m), with m = max(x) treated as a constant
    (a row holding inf, or all -inf, gives nan everywhere, as in PyTorch)"""
    x = _check_tensor(x, "softmax")
    e = (x - _max_shift(x, axis, False, "softmax")).exp()
    return e / e.sum(axis=axis, keepdims=True)


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def identity(x: Tensor) -> Tensor:
    return x


# ------------------------------------------------------------------------------------ losses


def _check_pair(prediction: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    prediction = _check_tensor(prediction, op)
    target = as_tensor(target, prediction)
    if prediction.shape != target.shape:
        raise ValueError(f"{op}: prediction has shape {prediction.shape} but target has shape "
                         f"{target.shape}; they must match")
    return prediction, target


def squared_error(prediction: Tensor, target: Any) -> Tensor:
    """The lecture notes' error E = ½ Σ_t Σ_i ||y_t⁽ⁱ⁾ − g_t⁽ⁱ⁾||² (a sum, not a mean).

    prediction and target: any shape, usually (T, B, O) time-major. Returns a scalar.
    """
    prediction, target = _check_pair(prediction, target, "squared_error")
    diff = prediction - target
    return (diff * diff).sum() * 0.5


def mse_loss(prediction: Tensor, target: Any) -> Tensor:
    """mean((prediction − target)²), as torch.nn.functional.mse_loss(reduction='mean')."""
    prediction, target = _check_pair(prediction, target, "mse_loss")
    diff = prediction - target
    return (diff * diff).mean()


def cross_entropy(logits: Tensor, target: Any) -> Tensor:
    """mean over rows of −log softmax(logits)[row, target[row]].

    logits: (N, C) (or (..., C), flattened to rows); target: integer class indices of shape
    logits.shape[:-1]. Stable for logits of any magnitude.
    """
    logits = _check_tensor(logits, "cross_entropy")
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if logits.ndim < 1 or target.shape != logits.shape[:-1]:
        raise ValueError(f"cross_entropy: targets of shape {target.shape} do not match logits of "
                         f"shape {logits.shape} (expected targets of shape {logits.shape[:-1]})")
    if target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype "
                        f"{target.dtype}")
    n_classes = logits.shape[-1]
    if target.size and (target.min() < 0 or target.max() >= n_classes):
        raise ValueError(f"cross_entropy: target classes must lie in [0, {n_classes}), got values "
                         f"from {target.min()} to {target.max()}")
    rows = logits.reshape(-1, n_classes)
    flat = target.reshape(-1)
    picked = log_softmax(rows, axis=-1)[np.arange(flat.size), flat]
    return -picked.mean()
