"""Shared argument checks and bundled-file access for ``tinygrad_rnn.data``.

Internal module: the helpers raise ``TypeError`` / ``ValueError`` whose
messages start with the public function's name and show the bad value.
"""

from __future__ import annotations

import numbers
import os
import stat
from importlib import resources
from pathlib import Path

import numpy as np

_FILES_DIR = "files"


def check_int(func: str, name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        bound = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{func}: {name} must be {bound}, got {int(value)}")
    return int(value)


def check_float(
    func: str,
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as ``float`` if it is a finite real number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a number, got {value!r} ({type(value).__name__})")
    result = float(value)
    if not np.isfinite(result):
        raise ValueError(f"{func}: {name} must be finite, got {result}")
    too_low = low is not None and (result < low if low_inclusive else result <= low)
    too_high = high is not None and (result > high if high_inclusive else result >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise ValueError(
            f"{func}: {name} must be in {left}{low_text}, {high_text}{right}, got {value}"
        )
    return result


def check_seed(func: str, seed: object) -> np.random.Generator:
    """Build a numpy ``Generator`` from an int seed (``>= 0``) or ``None``."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(check_int(func, "seed", seed, minimum=0))


def as_series(func: str, series: object, name: str = "series") -> np.ndarray:
    """Convert ``series`` to a finite, non-empty 1-D float64 array."""
    try:
        array = np.asarray(series, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{func}: {name} must be a 1-D array of numbers ({exc})") from None
    if array.ndim != 1:
        raise ValueError(f"{func}: {name} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{func}: {name} is empty")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(
            f"{func}: {name} contains a non-finite value {float(array[bad])} at index {bad}"
        )
    return array


def read_bundled_text(name: str) -> str:
    """Read a file shipped in ``tinygrad_rnn/data/files/`` as UTF-8 text.

    Uses ``importlib.resources`` so it also works from an installed wheel.
    """
    resource = resources.files(__package__).joinpath(_FILES_DIR).joinpath(name)
    return resource.read_text(encoding="utf-8")


def decode_utf8(func: str, data: bytes, label: str) -> str:
    """Decode ``data`` as UTF-8 (an optional BOM is dropped).

    Raises ``ValueError`` naming ``label`` and the byte offset of the first
    invalid byte.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1]
        raise ValueError(
            f"{func}: {label} is not valid UTF-8: invalid byte 0x{bad.hex()} at byte offset "
            f"{exc.start} ({exc.reason}); re-save the file as UTF-8"
        ) from None


def read_user_file(func: str, path: object) -> tuple[bytes, str]:
    """Read a user file's bytes; return ``(data, label)`` with ``label`` naming it.

    Raises ``TypeError`` for a non-path argument, ``FileNotFoundError`` for a
    missing file, ``IsADirectoryError`` for a directory, ``ValueError`` for a FIFO or a
    device (which could be read without end).
    """
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{func}: path must be a str or os.PathLike, got {path!r} ({type(path).__name__})"
        )
    file_path = Path(path)
    label = f"file '{file_path}'"
    if not file_path.exists():
        raise FileNotFoundError(f"{func}: {label} does not exist")
    if file_path.is_dir():
        raise IsADirectoryError(f"{func}: {label} is a directory, not a file")
    # O_NONBLOCK: opening a FIFO must not wait for a writer. Check the file that was opened,
    # not the name, so nothing can be swapped in between (regular files ignore O_NONBLOCK).
    with open(os.open(file_path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError(f"{func}: {label} is not a regular file (a FIFO, socket or "
                             "device); refusing to read it")
        return f.read(), label
