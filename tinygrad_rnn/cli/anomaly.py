"""`--detect-anomaly` for the command line: the engine's `detect_anomaly()`, or nothing.

The engine names the op, its scope (time step) and where it was created. Under the command line
that is the CLI line plus the layer line inside the library (e.g. `nn/rnn.py ... rnn_unroll`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .. import autograd


@contextlib.contextmanager
def cli_detect_anomaly(enabled: bool = True) -> Iterator[None]:
    """`detect_anomaly()` when enabled, else a no-op block."""
    if not enabled:
        yield
        return
    with autograd.detect_anomaly():
        yield
