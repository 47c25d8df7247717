"""Atomic, pickle-free .npz files: named arrays plus JSON metadata.

`save_npz` writes to a temporary file in the target's directory, fsyncs it and renames it over
the target with `os.replace`, so a crash leaves either the old file or the new one, never half
of one. `load_npz` reads with `allow_pickle=False`: a file can hold numbers, never code.
Metadata is stored as UTF-8 JSON bytes in a uint8 array under the key `__metadata__`.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import numpy as np

METADATA_KEY = "__metadata__"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"save_npz: metadata value {value!r} of type {type(value).__name__} is not "
                    "JSON-serialisable (use numbers, strings, lists, dicts, None)")


def _check_arrays(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    checked = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"save_npz: array names must be non-empty strings, got {key!r}")
        if key == METADATA_KEY:
            raise ValueError(f"save_npz: the name {METADATA_KEY!r} is reserved for metadata")
        array = np.asarray(value)
        if array.dtype.kind not in "biufcSU":
            raise TypeError(f"save_npz: array {key!r} has dtype {array.dtype}, which would need "
                            "a pickle; only numeric, bool and string arrays can be saved")
        checked[key] = array
    return checked


def save_npz(path: str | os.PathLike, arrays: Mapping[str, Any],
             metadata: Mapping[str, Any] | None = None) -> None:
    """Write `arrays` (name → array) and JSON `metadata` to `path`, atomically."""
    payload = _check_arrays(arrays)
    if metadata is not None:
        text = json.dumps(dict(metadata), default=_json_default, sort_keys=True)
        payload[METADATA_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save_npz: directory {directory!r} does not exist")
    atomic_write(path, lambda f: np.savez(f, **payload))


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any],
                 make_dirs: bool = False) -> None:
    """Call `write(file)` on a temporary file next to `path`, fsync it, then rename it over
    `path`: readers see the old file or the new one, never half of one. The file gets the
    mode of the file it replaces, or the usual umask-based mode for a new file."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if make_dirs:
        os.makedirs(directory, exist_ok=True)
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp makes the file private (0600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _mode_for(path: str) -> int:
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def load_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by `save_npz` → (arrays, metadata). Never unpickles."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_npz: no such file {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load_npz: {path!r} is not an .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ValueError(f"load_npz: {path!r} is corrupt or not a valid .npz file ({e})") from None
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # np.load returns raw bytes for non-.npy members
            raise ValueError(f"load_npz: {path!r} is corrupt or not a valid .npz file (member "
                             f"{key!r} is not a .npy array)")
    raw = arrays.pop(METADATA_KEY, None)
    if raw is None:
        return arrays, {}
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"load_npz: the metadata in {path!r} is not valid JSON ({e})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"load_npz: the metadata in {path!r} is not a JSON object")
    return arrays, metadata
