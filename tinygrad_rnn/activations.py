"""Activation composites (PyTorch's torch.nn.functional names): every one is a few primitives,
none defines a backward. Re-exported by `tinygrad_rnn.functional`.

Stability: no exp overflows at any input (±1e4 gives finite values and finite gradients), the
masked-out branch of every `where` is finite too (a NaN there would leak into the gradient as
0·NaN), and each kink's gradient is PyTorch's. log1p and expm1 are not primitives; `_log1p` and
`_expm1_neg` rebuild them from log/tanh to full precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ops import _normalize_axis
from .tensor import Tensor, where


def _check_tensor(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def _resolve_dim(dim: Any, axis: Any, op: str) -> Any:
    """PyTorch's `dim`, or numpy's `axis` (an alias kept for old callers); -1 when neither."""
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: got dim={dim!r} and its alias axis={axis!r}; pass only one")
    return dim if dim is not None else axis if axis is not None else -1


# ------------------------------------------------------------------------- softmax family


def _max_shift(x: Tensor, axis: Any, finite: bool, op: str) -> Tensor:
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


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Tensor:
    """log Σ_dim exp(x), shifted by the (constant) max so that ±1e4 logits stay finite.

    dim: an int or a tuple (default -1); axis/keepdims are aliases of dim/keepdim. As PyTorch:
    a row holding inf gives inf, an all -inf (or empty) row gives -inf.
    """
    x = _check_tensor(input, "logsumexp")
    dims = _resolve_dim(dim, axis, "logsumexp")
    keep = keepdim if keepdims is None else keepdims
    shift = _max_shift(x, dims, True, "logsumexp")
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf or empty row
        total = (x - shift).exp().sum(axis=dims, keepdims=keep).log()
    return total + (shift if keep else shift.reshape(total.shape))


def log_softmax(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """log softmax(x) = (x − m) − log Σ exp(x − m), m = max(x) as a constant (PyTorch's kernel:
    a row holding inf, or all -inf, gives nan everywhere). dim defaults to -1; axis is an alias."""
    x = _check_tensor(input, "log_softmax")
    d = _resolve_dim(dim, axis, "log_softmax")
    shifted = x - _max_shift(x, d, False, "log_softmax")
    return shifted - shifted.exp().sum(axis=d, keepdims=True).log()


def softmax(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """softmax(x)_i = exp(x_i − m) / Σ_j exp(x_j − m), m = max(x) as a constant (a row holding
    inf, or all -inf, gives nan everywhere, as in PyTorch). dim defaults to -1; axis is an
    alias."""
    x = _check_tensor(input, "softmax")
    d = _resolve_dim(dim, axis, "softmax")
    e = (x - _max_shift(x, d, False, "softmax")).exp()
    return e / e.sum(axis=d, keepdims=True)


# ------------------------------------------------------------------ the primitives' names


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def relu(input: Tensor) -> Tensor:
    return input.relu()


def identity(input: Tensor) -> Tensor:
    return input


# ---------------------------------------------------------------- log1p and expm1, rebuilt


def _log1p(u: Tensor) -> Tensor:
    """log(1 + u) for u > −1 to full precision: log(w)·u/(w − 1) with w = 1 + u (Goldberg's
    trick: the rounding of w cancels), and u itself where w rounds to exactly 1."""
    w = 1 + u
    exact = w.data == 1
    if not exact.any():
        return w.log() * u / (w - 1)
    return where(exact, u, w.log() * u / where(exact, 1.0, w - 1))


def _expm1_neg(v: Tensor) -> Tensor:
    """exp(v) − 1 for v ≤ 0 to full precision: 2t/(1 − t) with t = tanh(v/2) near 0 (no
    cancellation, and 1 − t ≥ 1), exp(v) − 1 below −1 (where it loses nothing)."""
    near = v.data > -1
    if not near.any():
        return v.exp() - 1
    t = (v * 0.5).tanh()
    small = t * 2 / (1 - t)
    return small if near.all() else where(near, small, v.exp() - 1)


def _softplus(z: Tensor) -> Tensor:
    """log(1 + eᶻ) = max(z, 0) + log1p(e^−|z|), finite for any z. −|z| is where(z > 0, −z, z),
    whose slope at 0 is 1 (abs's is 0), so the gradient at 0 is ½ as in PyTorch."""
    pos = z.data > 0
    return z.relu() + _log1p(where(pos, -z, z).exp())


# ------------------------------------------------------------------------------ activations


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """y = log(1 + e^{βx})/β, and y = x where βx > threshold; dy/dx = sigmoid(βx) (1 there)."""
    x = _check_tensor(input, "softplus")
    z = x if beta == 1 else x * beta
    soft = _softplus(z) if beta == 1 else _softplus(z) / beta
    over = z.data > threshold
    return where(over, x, soft) if over.any() else soft


def logsigmoid(input: Tensor) -> Tensor:
    """y = log σ(x) = −softplus(−x) (no threshold), finite for any x; dy/dx = σ(−x)."""
    return -_softplus(-_check_tensor(input, "logsigmoid"))


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """y = x for x > 0, else slope·x; dy/dx at 0 is the slope (PyTorch's choice)."""
    x = _check_tensor(input, "leaky_relu")
    return where(x.data > 0, x, x * negative_slope)


def _elu(x: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """PyTorch's one ELU kernel: scale·x for x > 0, else scale·α·(exp(input_scale·x) − 1).
    At 0 the slope is the negative branch's, scale·α·input_scale (as PyTorch)."""
    pos = x.data > 0
    neg = where(pos, 0.0, x)  # x ≤ 0 kept with slope 1 (a relu would give slope 0 at 0)
    if input_scale != 1:
        neg = neg * input_scale
    low = _expm1_neg(neg) * (alpha * scale)
    return where(pos, x if scale == 1 else x * scale, low)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """y = x for x > 0, else α(eˣ − 1); dy/dx = αeˣ for x ≤ 0 (α at 0, as PyTorch)."""
    return _elu(_check_tensor(input, "elu"), alpha, 1.0, 1.0)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor) -> Tensor:
    """y = λ·elu(x, α) with PyTorch's λ = 1.0507009873554805, α = 1.6732632423543772."""
    return _elu(_check_tensor(input, "selu"), SELU_ALPHA, SELU_SCALE, 1.0)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """y = max(0, x) + min(0, α(e^{x/α} − 1)); dy/dx = e^{x/α} for x ≤ 0 (1 at 0)."""
    x = _check_tensor(input, "celu")
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (the negative branch divides x by alpha)")
    return _elu(x, alpha, 1.0, 1.0 / alpha)


_SQRT_2_OVER_PI = 0.7978845608028654  # √(2/π)
_SQRT1_2 = 0.7071067811865476  # 1/√2


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """y = x·Φ(x) = ½x(1 + erf(x/√2)) ("none"), or ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    ("tanh"). The exact form needs the primitive Tensor.erf."""
    x = _check_tensor(input, "gelu")
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * 0.5 * (1 + inner.tanh())
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    erf = getattr(Tensor, "erf", None)
    if erf is None:
        raise NotImplementedError("gelu: approximate='none' needs the primitive Tensor.erf, "
                                  "which this version lacks; use approximate='tanh'")
    return x * 0.5 * (1 + erf(x * _SQRT1_2))


def silu(input: Tensor) -> Tensor:
    """y = x·σ(x); dy/dx = σ(x)(1 + x(1 − σ(x)))."""
    x = _check_tensor(input, "silu")
    return x * x.sigmoid()


def mish(input: Tensor) -> Tensor:
    """y = x·tanh(softplus(x)) (softplus without a threshold, as PyTorch's kernel)."""
    x = _check_tensor(input, "mish")
    return x * _softplus(x).tanh()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """y = clamp(x, min_val, max_val); dy/dx = 1 strictly inside, 0 at and beyond the bounds
    (PyTorch's: NaN is inside, so it keeps its value and gets slope 1)."""
    x = _check_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    data = x.data
    inside = ~((data <= min_val) | (data >= max_val))
    return where(inside, x, np.clip(data, min_val, max_val))


def relu6(input: Tensor) -> Tensor:
    """y = min(max(x, 0), 6) = hardtanh(x, 0, 6): slope 0 at 0 and at 6, as PyTorch."""
    return hardtanh(_check_tensor(input, "relu6"), 0.0, 6.0)


def softsign(input: Tensor) -> Tensor:
    """y = x / (1 + |x|); dy/dx = 1 / (1 + |x|)²."""
    x = _check_tensor(input, "softsign")
    return x / (1 + x.abs())


__all__ = [
    "softmax", "log_softmax", "logsumexp", "tanh", "sigmoid", "relu", "identity", "softplus",
    "logsigmoid", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "hardtanh",
    "relu6", "softsign",
]
