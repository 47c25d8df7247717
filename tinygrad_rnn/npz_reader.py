"""Reading an .npz file as untrusted input: nothing is decompressed before it is checked.

`NpzFile` reads the zip directory and, from each member, only its .npy header (a few bytes):
the declared dtype, shape and size. A dtype that would need a pickle, a member whose header
does not match its size, or declared sizes above `max_bytes` are refused here; the caller sees
`metadata` and `members` and may refuse more before any array is read with `read(name)`.
Special files (a FIFO, /dev/zero) are refused before they are opened.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import zipfile
import zlib
from typing import Any

import numpy as np

METADATA_KEY = "__metadata__"

MAX_BYTES = 2 ** 31  # default bound on the declared size of everything in a file read


def check_regular_file(path: str | os.PathLike, func: str) -> str:
    """`path` as a str if it is an existing regular file (not a FIFO, device or folder)."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{func}: no such file", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{func}: is a folder, not a file", path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{func}: {path!r} is not a regular file (a FIFO, socket or device); "
                         "refusing to read it")
    return path


class NpzFile:
    """An .npz opened as untrusted: `metadata` and `members` ({name: (dtype, shape)}) are known
    before any array is decompressed; `read(name)` then reads one array of exactly that size."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> None:
        self.path = check_regular_file(path, "load_npz")
        self._zip = _open_zip(self.path)
        try:
            self._infos = _member_infos(self._zip, self.path, max_bytes)
            self._headers = {key: _read_header(self._zip, info, self.path)
                             for key, info in self._infos.items()}
            self.metadata = self._read_metadata()
        except BaseException:
            self._zip.close()
            raise
        self.members = {k: v[:2] for k, v in self._headers.items() if k != METADATA_KEY}

    def read(self, key: str) -> np.ndarray:
        dtype, shape, fortran, offset = self._headers[key]
        count = int(np.prod(shape, dtype=object))
        nbytes = count * dtype.itemsize
        try:
            with self._zip.open(self._infos[key]) as f:
                f.read(offset)
                raw = np.empty(nbytes, dtype=np.uint8)
                view, done = raw.data, 0  # (raw's buffer as a memoryview)
                while done < nbytes:
                    n = f.readinto(view[done:])  # type: ignore[attr-defined]  # a ZipExtFile
                    if not n:
                        raise ValueError("the data ends early")
                    done += n
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as e:
            raise ValueError(f"load_npz: {self.path!r} is corrupt (member {key!r}: {e})") from None
        if nbytes == 0:
            return np.empty(shape, dtype=dtype)
        return raw.view(dtype).reshape(shape, order="F" if fortran else "C")

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> NpzFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _read_metadata(self) -> dict[str, Any]:
        if METADATA_KEY not in self._headers:
            return {}
        dtype, shape = self._headers[METADATA_KEY][:2]
        if dtype != np.uint8 or len(shape) != 1:
            raise ValueError(f"load_npz: the metadata in {self.path!r} is not a byte string")
        try:
            metadata = json.loads(self.read(METADATA_KEY).tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise ValueError(f"load_npz: the metadata in {self.path!r} is not valid JSON "
                             f"({type(e).__name__})") from None
        if not isinstance(metadata, dict):
            raise ValueError(f"load_npz: the metadata in {self.path!r} is not a JSON object")
        return metadata


def _open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ValueError(f"load_npz: {path!r} is not an .npz file (not a zip archive: {e})"
                         ) from None


def _member_infos(zf: zipfile.ZipFile, path: str, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"load_npz: {path!r} is corrupt or not a valid .npz file (member "
                             f"{info.filename!r} is not a .npy array)")
        key = info.filename[:-4]
        if key in infos:
            raise ValueError(f"load_npz: {path!r} holds the member {key!r} twice")
        infos[key] = info
    total = sum(info.file_size for info in infos.values())
    if total > max_bytes:
        raise ValueError(f"load_npz: {path!r} declares {total:,} bytes of arrays, more than the "
                         f"{max_bytes:,} allowed; refusing to read it")
    return infos


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> tuple:
    """(dtype, shape, fortran, header length) of one member, from its first bytes only."""
    fmt = np.lib.format
    key = info.filename[:-4]
    try:
        with zf.open(info) as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error,
            NotImplementedError) as e:
        raise ValueError(f"load_npz: {path!r} is corrupt or not a valid .npz file (member "
                         f"{key!r}: {_first_line(e)})") from None
    if dtype.hasobject or dtype.kind not in "biufcSU":
        raise ValueError(f"load_npz: {path!r} is corrupt or not a valid .npz file (member "
                         f"{key!r} has dtype {dtype}, which would need a pickle)")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if offset + nbytes != info.file_size:
        raise ValueError(f"load_npz: {path!r} is corrupt: member {key!r} declares shape {shape} "
                         f"of {dtype} ({nbytes:,} bytes) but holds {info.file_size - offset:,}")
    return dtype, tuple(int(n) for n in shape), fortran, offset


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def load_npz(path: str | os.PathLike, max_bytes: int = MAX_BYTES
             ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by `save_npz` → (arrays, metadata). Never unpickles; a file that
    declares more than `max_bytes` of arrays is refused before anything is decompressed."""
    with NpzFile(path, max_bytes) as npz:
        return {key: npz.read(key) for key in npz.members}, npz.metadata
