"""In-place updates with PyTorch's rules: `+= -= *= /=`, `add_`, `mul_`, `copy_`, `fill_`, ...

The update writes into the tensor's own buffer, so its identity, its aliases and its place in
`model.parameters()` are kept, and it is logged (`autograd.mark_modified`) so that a backward
that saved the old values raises instead of computing a wrong gradient.

While gradients are recorded, an update that the graph would have to differentiate is refused
with a clear error instead of being recorded:
- on a leaf that requires grad (PyTorch's rule: do it under `no_grad()`, as optimizers do);
- on the output of a recorded op (a non-leaf): its producer and its consumers may have used
  the old value; write `x = x + y` instead;
- with an operand that requires grad: this tensor would have to join the graph.
Under `no_grad()`, or when nothing involved requires grad, the update is recorded nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .autograd import STATE, mark_modified

if TYPE_CHECKING:
    from .tensor import Tensor


def update(tensor: Tensor, ufunc: Callable | None, other: Any, op: str,
           alpha: float = 1) -> Tensor:
    """tensor ← ufunc(tensor, alpha·other) in place (ufunc None: tensor ← other)."""
    operand = getattr(other, "_data", None)
    if STATE.grad_enabled:
        _check_allowed(tensor, other, op)
    value = other if operand is None else operand
    if alpha != 1:
        value = np.multiply(value, alpha)
    data = tensor._data
    try:
        if ufunc is None:
            np.copyto(data, value, casting="same_kind")
        else:
            ufunc(data, value, out=data, casting="same_kind")
    except TypeError as e:  # numpy's UFuncTypeError: the result's dtype cannot be stored
        raise RuntimeError(f"{op}: the result of dtype {np.result_type(data, value)} cannot be "
                           f"stored in place in a tensor of dtype {data.dtype} ({e})") from None
    except ValueError:
        raise ValueError(f"{op}: an operand of shape {np.shape(value)} cannot be broadcast to "
                         f"the shape {data.shape} of the tensor updated in place") from None
    mark_modified(tensor)
    return tensor


def _check_allowed(tensor: Tensor, other: Any, op: str) -> None:
    if tensor._ctx is None and tensor.requires_grad:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad is used in an in-place operation (shape "
            f"{tensor.shape}). Update parameters inside `with no_grad():`, as optimizers do.")
    if tensor._ctx is not None:
        raise RuntimeError(
            f"{op}: in-place update of the output of {tensor._ctx.name} (shape {tensor.shape}) "
            "while gradients are recorded: the graph already used its old value. Write "
            "`x = x + y` (out of place) instead, or update it under no_grad().")
    if getattr(other, "requires_grad", False):
        raise RuntimeError(
            f"{op}: the operand requires grad, so the updated tensor (shape {tensor.shape}) "
            "would have to join the graph; write `x = x + y` (out of place) instead.")
