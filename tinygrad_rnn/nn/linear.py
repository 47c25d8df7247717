"""Feed-forward building blocks: Linear, activation modules and the notes' MLP (the loss
modules live in losses.py and are re-exported here).

All are composites of engine primitives (see `functional.py`); none defines a backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from . import init as _init
from .checks import as_input, check_size
from .containers import Sequential
from .losses import CrossEntropyLoss, MSELoss, NLLLoss, SquaredError
from .module import Module, Parameter, float_dtype


class Linear(Module):
    """y = x Wᵀ + b.  weight (out, in), bias (out,);  x (..., in) → y (..., out).

    Initialised from U(−1/√in, 1/√in), as PyTorch.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 seed: Any = None, dtype: Any = np.float64) -> None:
        super().__init__()
        self.in_features = check_size(in_features, "in_features", "Linear")
        self.out_features = check_size(out_features, "out_features", "Linear")
        dtype, rng = float_dtype(dtype, "Linear"), _init.get_rng(seed)
        weight = _init.default_(np.empty((out_features, in_features)), in_features, rng)
        self.weight = Parameter(weight, dtype=dtype)
        self.bias = (Parameter(_init.default_(np.empty(out_features), in_features, rng),
                               dtype=dtype) if bias else None)

    def forward(self, x: Any) -> Tensor:
        x = as_input(x, self.weight.dtype, "Linear", "input x")
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input of shape (..., {self.in_features}), got "
                             f"shape {x.shape}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class _Activation(Module):
    fn = staticmethod(F.identity)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor, got {type(x).__name__}")
        return type(self).fn(x)


class Tanh(_Activation):
    """y = tanh(x)"""
    fn = staticmethod(F.tanh)


class Sigmoid(_Activation):
    """y = 1 / (1 + exp(−x))"""
    fn = staticmethod(F.sigmoid)


class ReLU(_Activation):
    """y = max(x, 0)"""
    fn = staticmethod(F.relu)


class Identity(_Activation):
    """y = x"""


class Softmax(Module):
    """y_i = exp(x_i) / Σ_j exp(x_j) along `axis`."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, axis=self.axis)


ACTIVATIONS: dict[str, type[Module]] = {
    "tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU, "identity": Identity, "softmax": Softmax,
}


def get_activation(name: str, layer: str = "activation") -> Module:
    """A fresh activation module by name ("tanh", "sigmoid", "relu", "identity", "softmax")."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{layer}: unknown activation {name!r}; expected one of "
                         f"{sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(Sequential):
    """The notes' feed-forward network: input → hidden layers → output.

    sizes = [in, h₁, …, out]: Linear layers with `activation` between them and
    `output_activation` (default "identity") after the last. x (..., in) → (..., out).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh",
                 output_activation: str = "identity", bias: bool = True, seed: Any = None,
                 dtype: Any = np.float64) -> None:
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError(f"MLP: sizes must be a list of at least two layer sizes "
                             f"[in, ..., out], got {sizes!r}")
        rng = _init.get_rng(seed)
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, bias=bias, seed=rng, dtype=dtype))
            last = i == len(sizes) - 2
            name = output_activation if last else activation
            if not (last and name == "identity"):
                layers.append(get_activation(name, "MLP"))
        super().__init__(*layers)
        self.sizes = sizes


__all__ = ["Linear", "MLP", "Tanh", "Sigmoid", "ReLU", "Identity", "Softmax",
           "get_activation", "SquaredError", "MSELoss", "CrossEntropyLoss", "NLLLoss"]
