"""Opt-in: keep freed heap memory in the process, so backward does not page-fault it back in.

glibc returns memory to the OS as soon as 128 KiB are free at the top of the heap, and serves
every block over 128 KiB with a fresh mmap. Backward frees and reallocates arrays of the same
sizes at every time step, so with those defaults each training step page-faults its working set
back in: an ElmanRNN step (B=32, H=128, T=50) runs about 1.3–2x slower. `keep_freed_memory()`
raises both thresholds once, so freed blocks are reused. The price is that the process keeps
its peak heap instead of returning it to the OS. It changes a process-wide setting, so the
library never calls it on import; the command line and the benchmarks do.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(trim_bytes: int = 1 << 30, mmap_bytes: int = 32 << 20) -> bool:
    """Raise glibc's trim and mmap thresholds (Linux/glibc only). True if both were set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, trim_bytes)) and bool(
        mallopt(_M_MMAP_THRESHOLD, mmap_bytes))
