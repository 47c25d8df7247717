"""Atomic, pickle-free .npz files: named arrays plus JSON metadata.

`save_npz` writes to a temporary file in the target's directory, fsyncs it and renames it over
the target with `os.replace`, so a crash leaves either the old file or the new one, never half
of one. A temporary file names the process that writes it (`.NAME.<pid>.XXXX.tmp`), so the next
write of NAME removes the ones left by a killed process. `exclusive=True` never replaces an
existing file (the check happens at the rename, not before), `replaces=` only the very file a
run wrote last, and nothing ever replaces a FIFO, a device or a folder. `lock` keeps two runs
from writing one path at the same time.

`load_npz` never unpickles, and reads a file as untrusted (npz_reader.py): `NpzFile` first reads
the metadata and every member's declared dtype and shape (a few bytes each), so the caller can
check them before any array is decompressed, and the declared sizes are bounded (`max_bytes`).
Metadata is stored as UTF-8 JSON bytes in a uint8 array under the key `__metadata__`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

import numpy as np

from .npz_reader import MAX_BYTES, METADATA_KEY, NpzFile, check_regular_file, load_npz

__all__ = ["save_npz", "load_npz", "atomic_write", "identity", "lock", "NpzFile",
           "check_regular_file", "remove_stale_temporaries", "MAX_BYTES", "METADATA_KEY"]

FileIdentity = tuple  # (device, inode, size, mtime_ns) of a file this process wrote


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
             metadata: Mapping[str, Any] | None = None, exclusive: bool = False,
             replaces: FileIdentity | None = None) -> FileIdentity:
    """Write `arrays` (name → array) and JSON `metadata` to `path`, atomically (see
    `atomic_write` for `exclusive` and `replaces`)."""
    payload = _check_arrays(arrays)
    if metadata is not None:
        text = json.dumps(dict(metadata), default=_json_default, sort_keys=True)
        payload[METADATA_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save_npz: directory {directory!r} does not exist")
    # (numpy's stub lets **kwds reach savez's allow_pickle: bool, so it rejects a dict of arrays)
    return atomic_write(path, lambda f: np.savez(f, **payload),  # type: ignore[arg-type]
                        exclusive=exclusive, replaces=replaces)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any],
                 make_dirs: bool = False, exclusive: bool = False,
                 replaces: FileIdentity | None = None) -> FileIdentity:
    """Call `write(file)` on a temporary file next to `path`, fsync it, then rename it over
    `path`: readers see the old file or the new one, never half of one. The file gets the
    mode of the file it replaces, or the usual umask-based mode for a new file.

    exclusive: fail with FileExistsError if `path` exists when the file is put in place.
    replaces: the identity returned by an earlier call; fail with FileExistsError if the file
    at `path` is no longer that one (someone else wrote it meanwhile). Something that is not a
    regular file (a FIFO, a device, a folder) is never replaced. Returns the new identity.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if make_dirs:
        os.makedirs(directory, exist_ok=True)
    name = os.path.basename(path)
    _check_replaceable(path, exclusive, replaces)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp makes the file private (0600)
        _put_in_place(tmp, path, exclusive, replaces)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)
    return identity(path)


def identity(path: str | os.PathLike) -> FileIdentity:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _check_replaceable(path: str, exclusive: bool, replaces: FileIdentity | None) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder; refusing to replace it", path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "is not a regular file (a FIFO, socket or device); "
                      "refusing to replace it", path)
    if exclusive:
        raise FileExistsError(errno.EEXIST, "already exists", path)
    if replaces is not None and identity(path) != replaces:
        raise FileExistsError(errno.EEXIST, "was changed by someone else since this run wrote "
                              "it", path)


def _put_in_place(tmp: str, path: str, exclusive: bool, replaces: FileIdentity | None) -> None:
    if not exclusive:
        _check_replaceable(path, False, replaces)  # again, as late as possible
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # atomic: fails if `path` exists, even if it appeared just now
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "already exists", path) from None
    except OSError:  # a file system without hard links: check, then rename
        _check_replaceable(path, True, None)
        os.replace(tmp, path)
        return
    os.remove(tmp)


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove `.NAME.<pid>.*.tmp` files next to `path` whose writing process is gone."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    removed: list[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for entry in names:
        pid = entry[len(prefix):].split(".", 1)[0]
        if not (entry.startswith(prefix) and entry.endswith(".tmp") and pid.isdigit()):
            continue
        if _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.remove(os.path.join(directory, entry))
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold `.NAME.lock` next to `path` while writing it: a second run that wants the same path
    gets FileExistsError at once. The kernel drops the lock when a process dies, so a lock file
    left by a killed run never blocks the next one (which removes it when done)."""
    lock_path = os.path.join(os.path.dirname(os.path.abspath(os.fspath(path))),
                             f".{os.path.basename(os.fspath(path))}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino != os.stat(lock_path).st_ino:  # removed by a run that just ended
            raise BlockingIOError
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        raise FileExistsError(errno.EEXIST, "another run is writing this file right now",
                              os.fspath(path)) from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(lock_path)
        os.close(fd)


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
