"""Loss composites (PyTorch's torch.nn.functional names and semantics); none defines a backward.
Re-exported by `tinygrad_rnn.functional`.

The class axis is PyTorch's: dim 1 of an input of 2 or more dims, (N, C) or (N, C, d1, ...),
with targets (N,) or (N, d1, ...); a 1-D input (C,) is one sample, with a 0-d target. A
time-major (T, B, C) output is reshaped to (T·B, C) first, as PyTorch users do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import _check_tensor, _log1p, log_softmax, logsigmoid
from .tensor import Tensor, as_tensor, where

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: Any, op: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return str(reduction)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _check_pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    input = _check_tensor(input, op)
    target = as_tensor(target, input)
    if input.shape != target.shape:
        raise ValueError(f"{op}: input has shape {input.shape} but target has shape "
                         f"{target.shape}; they must match")
    return input, target


def _broadcast_weight(weight: Any, like: Tensor, name: str, op: str) -> Tensor:
    """A weight tensor that broadcasts to `like`'s shape without changing it."""
    w = as_tensor(weight, like)
    try:
        shape = np.broadcast_shapes(w.shape, like.shape)
    except ValueError:
        shape = None
    if shape != like.shape:
        raise ValueError(f"{op}: {name} of shape {w.shape} does not broadcast to the input's "
                         f"shape {like.shape}")
    return w


# ------------------------------------------------------------------------ regression losses


def squared_error(prediction: Tensor, target: Any) -> Tensor:
    """The lecture notes' error E = ½ Σ_t Σ_i ||y_t⁽ⁱ⁾ − g_t⁽ⁱ⁾||² (a sum, not a mean).

    prediction and target: any shape, usually (T, B, O) time-major. Returns a scalar.
    """
    prediction, target = _check_pair(prediction, target, "squared_error")
    return ((prediction - target) ** 2).sum() * 0.5  # (** 2: one edge into the difference)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """ℓ = (x − y)², reduced by mean (default), sum or none. Shapes must match (PyTorch would
    broadcast with a warning; here a mismatch is an error)."""
    reduction = _check_reduction(reduction, "mse_loss")
    input, target = _check_pair(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


# -------------------------------------------------------------------- binary cross-entropy


def _clamped_log(x: Tensor) -> Tensor:
    """max(log x, −100) for x in [0, 1]; where clamped, the log sees 1 (so no 0/0 in backward)."""
    with np.errstate(divide="ignore"):
        keep = np.log(x.data) > -100
    if keep.all():
        return x.log()
    return where(keep, where(keep, x, 1.0).log(), -100.0)


def _clamped_log1p(u: Tensor) -> Tensor:
    """max(log(1 + u), −100) for u in [−1, 0], to full precision near u = 0 (PyTorch's
    log1p(−x) term)."""
    with np.errstate(divide="ignore"):
        keep = np.log1p(u.data) > -100
    if keep.all():
        return _log1p(u)
    return where(keep, _log1p(where(keep, u, 0.0)), -100.0)


def _check_unit_interval(values: np.ndarray, what: str, op: str) -> None:
    inside = (values >= 0) & (values <= 1)  # False for NaN, as PyTorch's check
    if not inside.all():
        bad = values[~inside].flat[0]
        raise ValueError(f"{op}: all elements of {what} should be between 0 and 1, got {bad}")


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    """ℓ = −w·[y·log x + (1 − y)·log(1 − x)], each log clamped at −100 (PyTorch's clamp).

    input: probabilities in [0, 1]; target: the same shape, in [0, 1]; weight broadcasts to
    the input. The gradient is the derivative of this clamped loss: PyTorch's equals it
    wherever x(1 − x) ≥ 1e-12, and nearer 0 or 1 PyTorch clamps its own denominator instead.
    """
    reduction = _check_reduction(reduction, "binary_cross_entropy")
    input, target = _check_pair(input, target, "binary_cross_entropy")
    _check_unit_interval(input.data, "input", "binary_cross_entropy")
    _check_unit_interval(target.data, "target", "binary_cross_entropy")
    log_x, log_1mx = _clamped_log(input), _clamped_log1p(-input)
    loss = -(target * log_x + (1 - target) * log_1mx)
    if weight is not None:
        loss = loss * _broadcast_weight(weight, input, "weight", "binary_cross_entropy")
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """ℓ = (1 − y)·x − (1 + (p − 1)y)·log σ(x), times w: stable for logits of any size.

    target: the input's shape; weight and pos_weight p (per class, the last dim) broadcast to
    it. Without p this is −w·[y log σ(x) + (1 − y) log(1 − σ(x))].
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _check_reduction(reduction, op)
    input, target = _check_pair(input, target, op)
    log_sig = logsigmoid(input)
    if pos_weight is not None:
        p = _broadcast_weight(pos_weight, input, "pos_weight", op)
        log_sig = ((p - 1) * target + 1) * log_sig
    loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * _broadcast_weight(weight, input, "weight", op)
    return _reduce(loss, reduction)


# --------------------------------------------------------------- class-index losses


def _class_dim(input: Tensor, op: str) -> int:
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension: (C,), (N, C) or "
                         f"(N, C, d1, ...), got a 0-d tensor")
    return 1 if input.ndim >= 2 else 0


def _class_targets(input: Tensor, target: np.ndarray, ignore_index: int, op: str
                   ) -> np.ndarray:
    """Check integer class targets against an input with classes on dim 1 (dim 0 if 1-D)."""
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets must be integer class indices, got dtype "
                        f"{target.dtype}")
    dim = _class_dim(input, op)
    expected = input.shape[:1] + input.shape[2:] if dim == 1 else ()
    if target.shape != expected:
        raise ValueError(f"{op}: targets of shape {target.shape} do not match input of shape "
                         f"{input.shape} (classes on dim {dim}, so targets of shape "
                         f"{expected})")
    n_classes = input.shape[dim]
    bad = (target != ignore_index) & ((target < 0) | (target >= n_classes))
    if bad.any():
        raise ValueError(f"{op}: target classes must lie in [0, {n_classes}) or equal "
                         f"ignore_index={ignore_index}, got {target[bad].flat[0]}")
    return target


def _class_weight(weight: Any, input: Tensor, dim: int, op: str) -> np.ndarray | None:
    """A (C,) constant; PyTorch does not differentiate the class weight either."""
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.shape != (input.shape[dim],):
        raise ValueError(f"{op}: weight must hold one entry per class, shape "
                         f"({input.shape[dim]},), got shape {w.shape}")
    return w.astype(input.dtype)


def _pick(input: Tensor, target: np.ndarray) -> Tensor:
    """input[n, target[n, d...], d...]: each sample's entry of its class (target's shape)."""
    if input.ndim == 1:
        return input[(target,)]
    grid: tuple[np.ndarray, ...] = tuple(np.indices(target.shape, sparse=True))
    return input[(grid[0], target) + grid[1:]]


def _weighted_mean(values: Tensor, factors: np.ndarray, weights: np.ndarray,
                   valid: np.ndarray) -> Tensor:
    """Σ values·factors / Σ weights over the valid entries, PyTorch's weighted mean: with no
    valid entry (all ignored, or an empty batch) the loss is 0/0 = nan and the gradient 0."""
    total = weights[valid].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(valid, factors / total, 0).astype(values.dtype)
    out = (values * coef).sum()
    return out if valid.any() else out + np.nan


def _sample_weights(target: np.ndarray, weight: np.ndarray | None, valid: np.ndarray,
                    dtype: np.dtype) -> np.ndarray:
    """w[y_n] for each sample (1 without a class weight), 0 where the target is ignored."""
    safe = np.where(valid, target, 0)
    per_sample = weight[safe] if weight is not None else np.ones(safe.shape, dtype)
    return np.where(valid, per_sample, 0).astype(dtype)


def _nll(log_p: Tensor, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
         reduction: str) -> Tensor:
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    picked = _pick(log_p, safe)
    if weight is None and valid.all():
        return -_reduce(picked, reduction)
    loss = -picked
    per_sample = _sample_weights(target, weight, valid, log_p.dtype)
    if reduction == "mean":
        return _weighted_mean(loss, per_sample, per_sample, valid)
    return _reduce(loss * per_sample, reduction)


def _as_target_array(target: Any) -> np.ndarray:
    return np.asarray(target.data if isinstance(target, Tensor) else target)


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """ℓ_n = −w[y_n]·x[n, y_n] (0 where y_n = ignore_index); the mean divides by Σ w[y_n]
    over the targets not ignored, as PyTorch.

    input: log-probabilities (C,), (N, C) or (N, C, d1, ...); target: integers of shape
    (), (N,) or (N, d1, ...); weight: (C,), a constant.
    """
    reduction = _check_reduction(reduction, "nll_loss")
    input = _check_tensor(input, "nll_loss")
    target = _class_targets(input, _as_target_array(target), ignore_index, "nll_loss")
    weight = _class_weight(weight, input, _class_dim(input, "nll_loss"), "nll_loss")
    return _nll(input, target, weight, ignore_index, reduction)


def _check_smoothing(label_smoothing: Any) -> float:
    if not isinstance(label_smoothing, (int, float)) or not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    return float(label_smoothing)


def _class_shape(weight: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) -> (C, 1, ...), to broadcast against an input with classes on dim 1."""
    return weight.reshape(weight.shape + (1,) * max(ndim - 2, 0))


def _smoothing_term(log_p: Tensor, target: np.ndarray, weight: np.ndarray | None,
                    ignore_index: int, reduction: str) -> Tensor:
    """PyTorch's smoothing loss: s_n = −Σ_c w_c log p[n, c], 0 where ignored, normalised as
    the nll term (by Σ w[y_n] over the targets not ignored)."""
    dim = 1 if log_p.ndim >= 2 else 0
    weighted = log_p if weight is None else log_p * _class_shape(weight, log_p.ndim)
    smooth = -weighted.sum(axis=dim)
    valid = target != ignore_index
    if reduction == "mean":
        per_sample = _sample_weights(target, weight, valid, log_p.dtype)
        return _weighted_mean(smooth, valid.astype(log_p.dtype), per_sample, valid)
    if not valid.all():
        smooth = smooth * valid.astype(log_p.dtype)
    return _reduce(smooth, reduction)


def _soft_cross_entropy(log_p: Tensor, target: Tensor, weight: np.ndarray | None,
                        reduction: str, label_smoothing: float) -> Tensor:
    """ℓ_n = −Σ_c w_c y'_{n,c} log p[n, c], y' = (1 − ε)y + ε/C; the mean is over samples."""
    dim = 1 if log_p.ndim >= 2 else 0
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / log_p.shape[dim]
    product = log_p * target
    if weight is not None:
        product = product * _class_shape(weight, log_p.ndim)
    return _reduce(-product.sum(axis=dim), reduction)


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """ℓ_n = −w[y_n]·log softmax(x_n)[y_n], with label smoothing ε:
    (1 − ε)·ℓ_n + (ε/C)·(−Σ_c w_c log softmax(x_n)_c), the mean normalised by Σ w[y_n] of the
    targets not ignored (exactly PyTorch's).

    input: logits (C,), (N, C) or (N, C, d1, ...), classes on dim 1; target: integer classes
    of shape (), (N,) or (N, d1, ...), or floating class probabilities of the input's shape
    (then the mean is over samples and ignore_index must stay negative). Stable for logits of
    any size.
    """
    reduction = _check_reduction(reduction, "cross_entropy")
    label_smoothing = _check_smoothing(label_smoothing)
    input = _check_tensor(input, "cross_entropy")
    dim = _class_dim(input, "cross_entropy")
    weight = _class_weight(weight, input, dim, "cross_entropy")
    array = _as_target_array(target)
    if array.dtype.kind == "f":
        if array.shape != input.shape:
            raise TypeError(f"cross_entropy: a floating-point target holds class "
                            f"probabilities and needs the input's shape {input.shape}, got "
                            f"shape {array.shape}; class-index targets must be integers")
        if ignore_index >= 0:
            raise ValueError("cross_entropy: ignore_index is not supported for class-"
                             "probability targets")
        probs = as_tensor(target, input)
        return _soft_cross_entropy(log_softmax(input, dim=dim), probs, weight, reduction,
                                   label_smoothing)
    array = _class_targets(input, array, ignore_index, "cross_entropy")
    log_p = log_softmax(input, dim=dim)
    nll = _nll(log_p, array, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    smooth = _smoothing_term(log_p, array, weight, ignore_index, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / input.shape[dim])


__all__ = [
    "squared_error", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "nll_loss", "cross_entropy",
]
