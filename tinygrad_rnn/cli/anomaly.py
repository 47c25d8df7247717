"""`--detect-anomaly` for the command line.

The engine's `detect_anomaly()` names the op, its scope (time step) and "where in the user's
code the op was created": the innermost frame outside the tinygrad_rnn package. Under the
command line every frame up to `runpy` is inside the package, so that frame says nothing. While
the CLI trains, the layer code *is* the user's code, so here the innermost frame outside the
engine core (autograd, tensor, ops, functional) is named instead, e.g.
`tinygrad_rnn/nn/rnn.py:214 in rnn_unroll: h = act(xp_t + h @ WT)`.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator

from .. import autograd

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CORE = {os.path.join(_PACKAGE, name) for name in
         ("autograd.py", "tensor.py", "ops.py", "functional.py")}


def _cli_frame() -> str:
    """The innermost frame outside the engine core, with a package-relative path."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = os.path.abspath(frame.filename)
        if path in _CORE or frame.filename == __file__:
            continue
        shown = os.path.relpath(path, os.path.dirname(_PACKAGE)) \
            if path.startswith(_PACKAGE + os.sep) else frame.filename
        return f"{shown}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown>"


@contextlib.contextmanager
def cli_detect_anomaly(enabled: bool = True) -> Iterator[None]:
    """`detect_anomaly()` that reports the layer line (see the module docstring)."""
    if not enabled:
        yield
        return
    previous = getattr(autograd, "_user_frame", None)
    if previous is not None:
        autograd._user_frame = _cli_frame
    try:
        with autograd.detect_anomaly():
            yield
    finally:
        if previous is not None:
            autograd._user_frame = previous
