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
from .tensor import one_hot, pad  # Tensor-level ops of issue 10, under their F. names

__all__ = [
    "softmax", "log_softmax", "logsumexp", "tanh", "sigmoid", "relu", "identity", "softplus",
    "logsigmoid", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "hardtanh",
    "relu6", "softsign",
    "squared_error", "mse_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "pad", "one_hot",
]
