"""Composites: functions built only from primitives, with PyTorch's torch.nn.functional names.
None of them defines a backward.

The activations (softmax, log_softmax, logsumexp, softplus, gelu, ...) live in activations.py,
the losses (mse_loss, nll_loss, cross_entropy, binary_cross_entropy, ...) in losses.py; this
module is the one place users import them from. docs/functional.md gives each one's math.
"""

from __future__ import annotations

from .activations import (
    celu,
    elu,
    gelu,
    hardtanh,
    identity,
    leaky_relu,
    log_softmax,
    logsigmoid,
    logsumexp,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
)
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
    squared_error,
)
from .ops import Addmm
from .tensor import Tensor, one_hot, pad  # (one_hot, pad: Tensor-level ops, under F. names)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """PyTorch's F.linear: input (..., in) Wᵀ + b, with weight (out, in) or (in,), and bias
    (out,), 0-d or None.

    With a bias and an input of 2 or more dimensions, one `Addmm` node over the rows (the
    leading dimensions folded into one): the product and the bias in one output buffer, not a
    product and then a second array for the sum.
    """
    if weight.ndim not in (1, 2) or (bias is not None and bias.ndim > 1):
        raise ValueError(f"linear: weight must be (out, in) or (in,) and bias (out,) or 0-d, "
                         f"got shapes {weight.shape} and {None if bias is None else bias.shape}")
    if bias is None or input.ndim < 2 or weight.ndim == 1:  # (a 1-D weight: input @ weight)
        out = input @ weight.T
        return out if bias is None else out + bias
    if input.ndim == 2:
        return Addmm.apply(bias, input, weight.T)
    rows = input.reshape(-1, input.shape[-1])
    return Addmm.apply(bias, rows, weight.T).reshape(*input.shape[:-1], weight.shape[0])

__all__ = [
    "softmax", "log_softmax", "logsumexp", "tanh", "sigmoid", "relu", "identity", "softplus",
    "logsigmoid", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "hardtanh",
    "relu6", "softsign",
    "squared_error", "mse_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "pad", "one_hot", "linear",
]
