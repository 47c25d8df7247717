"""Dropout, Embedding and LayerNorm, as PyTorch's, built from engine primitives only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, where
from . import init as _init
from .checks import as_input, check_size
from .module import Module, Parameter, float_dtype


def check_probability(p: Any, name: str, layer: str, closed: bool = True) -> float:
    """p must be a number in [0, 1] ([0, 1) with closed=False)."""
    ok = isinstance(p, (int, float, np.floating)) and not isinstance(p, bool)
    if not ok or not (0.0 <= p <= 1.0) or (not closed and p == 1.0):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{layer}: {name} must be a probability in {interval}, got {p!r}")
    return float(p)


def dropout(x: Tensor, p: float, rng: np.random.Generator) -> Tensor:
    """x ⊙ m / (1 − p), m ~ Bernoulli(1 − p) drawn from `rng` (p = 1: zeros), as training-mode
    torch.nn.functional.dropout. The mask is a constant, so the gradient is g ⊙ m / (1 − p)."""
    if p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = rng.random(x.shape) >= p
    return x * (keep / (1.0 - p)).astype(x.dtype)


class Dropout(Module):
    """Training: y = x ⊙ m / (1 − p) with m ~ Bernoulli(1 − p); eval (or p = 0): y = x.

    `generator` makes the masks reproducible: an int seed, a `np.random.Generator`, or None
    for the module-wide generator that `nn.init.manual_seed` resets.  x (any) → y (same).
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, generator: Any = None) -> None:
        super().__init__()
        self.p = check_probability(p, "p", "Dropout")
        if inplace:
            raise ValueError("Dropout: inplace=True is not supported (the engine never "
                             "overwrites a tensor that backward may need)")
        self.generator = _init.get_rng(generator)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Dropout: expected a Tensor, got {type(x).__name__}")
        if not self.training:
            return x
        return dropout(x, self.p, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Embedding(Module):
    """y = weight[indices]: a lookup table, weight (num_embeddings, embedding_dim) ~ N(0, 1).

    indices (any shape, integers in [0, num_embeddings)) → y (*indices.shape, embedding_dim).
    A repeated index accumulates its rows' gradients. The row `padding_idx` starts at zeros
    and gets no gradient (as PyTorch).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 seed: Any = None, dtype: Any = np.float64) -> None:
        super().__init__()
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        self.padding_idx = self._check_padding(padding_idx)
        rng = _init.get_rng(seed)
        weight = rng.standard_normal((self.num_embeddings, self.embedding_dim))
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0.0
        self.weight = Parameter(weight, dtype=float_dtype(dtype, "Embedding"))

    def _check_padding(self, padding_idx: Any) -> int | None:
        if padding_idx is None:
            return None
        n = self.num_embeddings
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) \
                or not -n <= padding_idx < n:
            raise ValueError(f"Embedding: padding_idx must be an int in [-{n}, {n}), got "
                             f"{padding_idx!r}")
        return int(padding_idx) % n

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        """An Embedding whose weight is a copy of `embeddings` (2-D); frozen unless freeze=False."""
        array = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if array.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{array.shape}")
        module = cls(array.shape[0], array.shape[1], padding_idx=padding_idx,
                     dtype=array.dtype if array.dtype.kind == "f" else np.float64)
        module.weight.data = array.astype(module.weight.dtype)
        module.weight.requires_grad_(not freeze)
        return module

    def forward(self, indices: Any) -> Tensor:
        idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            raise ValueError(f"Embedding: indices must lie in [0, {self.num_embeddings}), got "
                             f"values from {idx.min()} to {idx.max()}")
        rows = self.weight[idx]
        if self.padding_idx is None or not self.weight.requires_grad:
            return rows
        # the padding rows' values as constants: the same output, no gradient to that row
        padding = (idx == self.padding_idx)[..., None]
        return where(padding, rows.data, rows)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class LayerNorm(Module):
    """y = (x − E[x]) / √(Var[x] + eps) ⊙ weight + bias over the last len(normalized_shape)
    axes, Var biased (the mean of squared deviations), as PyTorch.

    weight (normalized_shape) = 1, bias (normalized_shape) = 0 when elementwise_affine
    (bias=False drops the bias).  x (..., *normalized_shape) → y (same shape).
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        self.normalized_shape = tuple(check_size(s, "normalized_shape", "LayerNorm")
                                      for s in shape)
        if not self.normalized_shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one axis")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"LayerNorm: eps must be a positive number, got {eps!r}")
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dtype = float_dtype(dtype, "LayerNorm")
        self.weight: Parameter | None = None
        self.bias: Parameter | None = None
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape), dtype=dtype)
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape), dtype=dtype)

    def forward(self, x: Any) -> Tensor:
        if self.weight is not None:
            dtype = self.weight.dtype
        else:  # no parameters: any floating tensor keeps its dtype
            dtype = x.dtype if isinstance(x, Tensor) and x.dtype.kind == "f" else np.dtype("f8")
        x = as_input(x, dtype, "LayerNorm", "input x")
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(f"LayerNorm: expected input of shape (..., "
                             f"{', '.join(map(str, self.normalized_shape))}), got shape "
                             f"{x.shape}")
        axes = tuple(range(x.ndim - k, x.ndim))
        centered = x - x.mean(axis=axes, keepdims=True)
        var = (centered * centered).mean(axis=axes, keepdims=True)
        y = centered * (var + self.eps) ** -0.5
        if self.weight is not None:
            y = y * self.weight
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
