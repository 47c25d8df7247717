"""dtype promotion for ops with several operands: PyTorch's table, in one place.

Operands fall into three groups, from strongest to weakest: tensors with at least one axis,
0-d tensors, and Python scalars (bool, int, float and numpy scalars). Within a group dtypes
combine by `promote_pair`; a weaker group only matters when its category (bool < integer <
float) is higher than every stronger group's, so a Python scalar or a 0-d tensor never upcasts
a tensor of its own category:

    float32 tensor * int64 tensor -> float32      float32 tensor * 2.5 -> float32
    float16 tensor * float32 tensor -> float32     int32 tensor + 2 -> int32
    int32 tensor * float32 0-d tensor -> float32   int32 tensor * 0.5 -> float64
    bool tensor + 1 -> int64                       float32 tensor * float64 0-d tensor -> float32

Python floats count as float64 (our default float, PyTorch's is float32). Lists and ndarrays
count as tensors of their own dtype. True division of integers gives float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_BOOL, _INT, _FLOAT = 0, 1, 2
_CATEGORY = {"b": _BOOL, "i": _INT, "u": _INT, "f": _FLOAT}
SCALAR_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: np.dtype(np.float64)}


def category(dtype: np.dtype) -> int:
    return _CATEGORY[dtype.kind]


def promote_pair(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    """Two dtypes of the same group: a float beats any int/bool (float32 + int64 -> float32),
    two floats give the wider, ints and bools follow numpy (int32 + int64 -> int64)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if a.kind == "f" and b.kind != "f":
        return a
    if b.kind == "f" and a.kind != "f":
        return b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """A stronger group's dtype with a weaker group's (PyTorch's combine_categories)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or category(lower) > category(higher):
        return promote_pair(higher, lower)
    return higher


def scalar_dtype(x: Any) -> np.dtype | None:
    """The dtype a Python or numpy scalar stands for (bool, int64, float64); None otherwise."""
    kind = type(x)
    if kind in SCALAR_DTYPES:
        return SCALAR_DTYPES[kind]
    if isinstance(x, np.generic):
        return SCALAR_DTYPES.get(type(x.item()))
    return None


def result_dtype(arrays: Sequence[np.ndarray], scalars: Sequence[np.dtype | None] = ()
                 ) -> np.dtype:
    """The dtype of an op over `arrays` (tensors' data) and Python scalars of `scalars` dtypes."""
    if len(arrays) == 1 and arrays[0].dtype.kind == "f":  # `x * 2.0`: scalars never upcast x
        return arrays[0].dtype
    dim = zero = wrapped = None
    for a in arrays:
        if a.ndim:
            dim = promote_pair(dim, a.dtype)
        else:
            zero = promote_pair(zero, a.dtype)
    for d in scalars:
        wrapped = promote_pair(wrapped, d)
    result = _combine(dim, _combine(zero, wrapped))
    assert result is not None, "result_dtype: an op with no operands"
    return result


def promote_arrays(arrays: list[np.ndarray], first: int) -> list[np.ndarray]:
    """`arrays[first:]` cast to their result dtype (the ones before `first` are left alone)."""
    dtype = result_dtype(arrays[first:])
    return arrays[:first] + [a if a.dtype == dtype else a.astype(dtype) for a in arrays[first:]]
