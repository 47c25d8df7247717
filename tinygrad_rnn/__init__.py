"""tinygrad_rnn: a small, exact reverse-mode autodiff engine on numpy, and RNNs built on it."""

from . import buffers, dual, func, functional, nn, ops, optim
from .autograd import (
    AnomalyError,
    Function,
    detect_anomaly,
    enable_grad,
    grad,
    no_grad,
    scope,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import REGISTRY
from .tensor import (
    Tensor,
    arange,
    cat,
    concatenate,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "stack", "cat", "concatenate", "where", "zeros", "ones", "randn",
    "rand", "full", "zeros_like", "ones_like", "full_like", "arange", "linspace", "eye",
    "Function", "REGISTRY", "grad", "no_grad", "enable_grad", "scope", "detect_anomaly",
    "AnomalyError", "gradcheck", "gradgradcheck", "GradcheckError", "func", "dual",
    "functional", "ops", "nn", "optim", "buffers",
]
