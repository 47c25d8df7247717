"""A cache of the engine's own output arrays, reused across training steps.

Why: a training step allocates the same activations every time (two (B, H) arrays per time
step, the stacked states, ...) and frees them when the graph is dropped. glibc hands that
memory back to the OS at once, so the next step page-faults it all in again: at B=32, H=128,
T=50 that was 3,300 page faults and about 2x the time of hand-written numpy. This cache keeps
those arrays instead, the way PyTorch's CUDA caching allocator keeps device memory. It changes
no process-wide setting and touches no array it did not allocate.

When is a cached array free? When the cache holds the only reference to it. Every tensor that
uses it, every view of it (a view keeps its base alive) and every saved value counts, so an
array that anyone can still read is never handed out again. The check is CPython's reference
count, the same test numpy uses to reuse temporaries; on interpreters where that count may
mean something else (not CPython, or 3.14 and newer) the cache is off (`ENABLED`).

Arrays of one (shape, dtype) wait in a queue in the order they were handed out. `empty`
looks at the two oldest only, and sends them to the back either way: after a graph is dropped
its arrays come back in the order the next pass asks for them, so the check costs O(1) per
op, and an array someone keeps for long never blocks the queue. `empty_cache()` drops
everything; at most `limit()` bytes are kept (least recently used shapes go first).

`empty(..., transient=True)` is for an array its caller expects to be dropped within a few
ops (backward's gradient on its way down a recurrence: h's gradient and its sum). Those wait in
a queue of their own, so the few in flight are handed out again while they are still in the
CPU's cache, instead of after every array of that shape that lives until the pass ends (in
the shared queue, each one was last touched a whole step earlier). The free test is the same.
"""

from __future__ import annotations

import sys
from collections import OrderedDict, deque
from typing import Any

import numpy as np

_QUEUES: OrderedDict[tuple, deque] = OrderedDict()  # (shape, dtype) -> arrays, oldest first
_STATE = {"bytes": 0, "limit": 1 << 30}
_FREE_REFS = 3  # the queue, the local name, and getrefcount's own argument
MIN_BYTES = 4096  # smaller arrays come from numpy's and pymalloc's caches anyway


# The free test relies on CPython's reference counts as 3.10-3.13 keep them; a newer or other
# interpreter may count references differently, so there the cache hands out new arrays only.
ENABLED = sys.implementation.name == "cpython" and sys.version_info < (3, 14)


def empty(shape: tuple[int, ...], dtype: Any, transient: bool = False) -> np.ndarray:
    """An uninitialised C-contiguous array: a free cached one if there is one, else a new one.
    transient: the caller expects it to be dropped soon (its own queue; see above)."""
    if not isinstance(dtype, np.dtype):
        dtype = np.dtype(dtype)
    if not ENABLED:
        return np.empty(shape, dtype)
    key = (shape, dtype, True) if transient else (shape, dtype)
    queue = _QUEUES.get(key)
    if queue:  # the two oldest go to the back, free or not: a long-lived one never blocks
        oldest = queue[0]
        queue.rotate(-1)
        if _refs(oldest) == _FREE_REFS:
            return oldest
        if len(queue) > 1:
            oldest = queue[0]
            queue.rotate(-1)
            if _refs(oldest) == _FREE_REFS:
                return oldest
        del oldest
    return _allocate(shape, dtype, key, queue)


def _allocate(shape: tuple[int, ...], dtype: np.dtype, key: tuple, queue: Any) -> np.ndarray:
    array = np.empty(shape, dtype)
    if array.nbytes < MIN_BYTES:
        return array
    if queue is None:
        queue = _QUEUES[key] = deque()
    else:
        _QUEUES.move_to_end(key)
    queue.append(array)
    _STATE["bytes"] += array.nbytes
    if _STATE["bytes"] > _STATE["limit"]:
        _evict(key)
    return array


_refs = sys.getrefcount


def _evict(keep: tuple) -> None:
    """Forget whole shapes, least recently used first, until the cache fits its limit."""
    for key in list(_QUEUES):
        if _STATE["bytes"] <= _STATE["limit"] or key == keep:
            continue
        for array in _QUEUES.pop(key):
            _STATE["bytes"] -= array.nbytes


def empty_cache() -> None:
    """Drop every cached array (arrays still in use stay alive with their users)."""
    _QUEUES.clear()
    _STATE["bytes"] = 0


def cached_bytes() -> int:
    """Bytes of the arrays the cache refers to (in use or free)."""
    return _STATE["bytes"]


def limit(max_bytes: int | None = None) -> int:
    """Get, or set, how many bytes the cache may refer to (default 1 GiB)."""
    if max_bytes is not None:
        if max_bytes < 0:
            raise ValueError(f"buffers.limit: max_bytes must be >= 0, got {max_bytes}")
        _STATE["limit"] = int(max_bytes)
        if _STATE["bytes"] > _STATE["limit"]:
            _evict(())
    return _STATE["limit"]
