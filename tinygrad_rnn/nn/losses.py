"""Loss modules: thin wrappers that hold PyTorch's keyword arguments and pass every one of
them to `tinygrad_rnn.functional` (`mse_loss`, `nll_loss`, `cross_entropy`), where the math
and the argument checks live. Classes are on dim 1 there, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..tensor import Tensor
from .module import Module


class SquaredError(Module):
    """The notes' error E = ½ Σ_t Σ_i ||y_t − g_t||² (a sum). Any matching shapes → scalar."""

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.squared_error(prediction, target)


class MSELoss(Module):
    """(input − target)², reduced by `reduction` ("mean" | "sum" | "none"), as PyTorch."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class NLLLoss(Module):
    """−w[y]·input[n, y] for log-probabilities `input` (N, C, …) and classes y, with class
    `weight`, `ignore_index` and `reduction` as torch.nn.NLLLoss (functional.nll_loss)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class CrossEntropyLoss(Module):
    """−w[y]·log softmax(input)[y] over classes on dim 1, with class `weight`, `ignore_index`,
    `reduction` and `label_smoothing` as torch.nn.CrossEntropyLoss (functional.cross_entropy)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")
