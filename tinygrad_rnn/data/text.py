"""Text for character-level language modelling.

Bundled texts (public domain, shipped in ``tinygrad_rnn/data/files/``;
provenance in ``files/SOURCES.md``):

- ``"alice"`` — Lewis Carroll, *Alice's Adventures in Wonderland* (1865),
  title page and chapters I-IV, about 46 KB of ASCII. Project Gutenberg
  eBook #11 (Millennium Fulcrum Edition 3.0) with the Gutenberg header and
  licence footer removed; copied from the ``wordcloud`` package's source
  distribution (``examples/alice.txt``). Public domain.
- ``"constitution"`` — the Constitution of the United States (1787),
  preamble and Articles I-VII, about 26 KB of ASCII; copied unchanged from
  the ``wordcloud`` package's source distribution
  (``examples/constitution.txt``). Public domain.

Typical use::

    text = load_text("alice")            # or load_text_file("my.txt")
    vocab = CharVocab(text)
    ids = vocab.encode(text)             # (N,) int64
    for x_ids, y_ids in bptt_batches(ids, batch_size=32, chunk_len=64):
        x = vocab.one_hot(x_ids)         # (T, B, vocab.size) float64
        ...                              # y_ids: (T, B) int64 next characters
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ._common import check_int, decode_utf8, read_bundled_text, read_user_file


@dataclass(frozen=True)
class TextInfo:
    """Description of a bundled text (see :func:`text_info`)."""

    name: str
    filename: str
    description: str
    source: str
    licence: str


_TEXTS: dict[str, TextInfo] = {
    "alice": TextInfo(
        name="alice",
        filename="alice_ch1-4.txt",
        description=(
            "Lewis Carroll, Alice's Adventures in Wonderland (1865), title page and chapters I-IV"
        ),
        source=(
            "Project Gutenberg eBook #11 (Gutenberg header and licence footer removed), "
            "via the wordcloud 1.9.6 sdist (examples/alice.txt)"
        ),
        licence="public domain",
    ),
    "constitution": TextInfo(
        name="constitution",
        filename="us_constitution.txt",
        description="Constitution of the United States (1787), preamble and Articles I-VII",
        source="wordcloud 1.9.6 sdist (examples/constitution.txt)",
        licence="public domain",
    ),
}


def text_names() -> list[str]:
    """Names accepted by :func:`load_text`."""
    return sorted(_TEXTS)


def text_info(name: str = "alice") -> TextInfo:
    """Metadata (description, source, licence) of a bundled text."""
    return _lookup("text_info", name)


def load_text(name: str = "alice") -> str:
    """Return a bundled public-domain text as a ``str`` (``\\n`` line endings)."""
    return read_bundled_text(_lookup("load_text", name).filename)


def load_text_file(path: str | os.PathLike[str]) -> str:
    """Read the user's own UTF-8 text file.

    A leading byte-order mark is dropped and ``\\r\\n`` / ``\\r`` line endings
    become ``\\n``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, or is not valid UTF-8 (the message
            gives the byte offset of the first invalid byte).
    """
    func = "load_text_file"
    data, label = read_user_file(func, path)
    text = decode_utf8(func, data, label)
    if not text:
        raise ValueError(
            f"{func}: {label} is empty (0 characters); character modelling needs some text"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


class CharVocab:
    """Character vocabulary: maps each distinct character to an index.

    Built from a text; indices follow sorted character order, so the same
    set of characters always gives the same mapping.

    Attributes:
        chars: tuple of the characters, ``chars[i]`` has index ``i``.
        size: number of characters ``V``.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"CharVocab: text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharVocab: cannot build a vocabulary from an empty text")
        self.chars: tuple[str, ...] = tuple(sorted(set(text)))
        self._index: dict[str, int] = {char: i for i, char in enumerate(self.chars)}

    @property
    def size(self) -> int:
        """Number of distinct characters ``V``."""
        return len(self.chars)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"

    def encode(self, text: str) -> np.ndarray:
        """Map ``text`` to an int64 array of shape ``(len(text),)``."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: text must be a str, got {type(text).__name__}")
        ids = np.empty(len(text), dtype=np.int64)
        for position, char in enumerate(text):
            index = self._index.get(char)
            if index is None:
                raise ValueError(
                    f"CharVocab.encode: character {char!r} (U+{ord(char):04X}) at position "
                    f"{position} is not in the vocabulary of {self.size} characters"
                )
            ids[position] = index
        return ids

    def decode(self, ids: np.ndarray | list[int]) -> str:
        """Map a 1-D sequence of indices back to a string."""
        array = self._check_ids("decode", ids)
        if array.ndim != 1:
            raise ValueError(f"CharVocab.decode: ids must be 1-D, got shape {array.shape}")
        return "".join(self.chars[i] for i in array.tolist())

    def one_hot(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """One-hot encode indices of any shape ``S`` into float64 ``S + (V,)``."""
        array = self._check_ids("one_hot", ids)
        return np.eye(self.size, dtype=np.float64)[array]

    def _check_ids(self, method: str, ids: object) -> np.ndarray:
        array = np.asarray(ids)
        if array.size == 0:
            return array.astype(np.int64)
        if array.dtype.kind not in "iu":
            raise TypeError(f"CharVocab.{method}: ids must be integers, got dtype {array.dtype}")
        bad = (array < 0) | (array >= self.size)
        if np.any(bad):
            value = array[bad].flat[0]
            raise ValueError(f"CharVocab.{method}: index {value} is out of range [0, {self.size})")
        return array.astype(np.int64)


def bptt_batches(
    ids: np.ndarray,
    batch_size: int,
    chunk_len: int,
    drop_last: bool = False,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut encoded text into time-major chunks for truncated BPTT.

    The text is split into ``batch_size`` contiguous streams of
    ``S = (len(ids) - 1) // batch_size`` characters each (column ``b`` reads
    ``ids[b * S : (b + 1) * S]``), then cut along time into chunks of
    ``chunk_len`` steps. Chunk ``k + 1`` continues every column of chunk
    ``k``, so the hidden state can be carried over (detached) between
    chunks. Targets are the inputs shifted by one character:
    ``y[t, b] == ids[b * S + start + t + 1]``.

    Args:
        ids: 1-D integer array, e.g. ``CharVocab.encode(text)``.
        batch_size: number of parallel streams ``B``.
        chunk_len: time steps ``T`` per chunk (the truncation length).
        drop_last: drop a final chunk shorter than ``chunk_len``.

    Returns:
        list of ``(x, y)`` pairs of int64 arrays of shape ``(T, B)`` (the last
        one may be shorter in time unless ``drop_last``).

    Raises:
        ValueError: the text is shorter than ``batch_size * chunk_len + 1``
            characters (``chunk_len + 1`` for a single stream).
    """
    func = "bptt_batches"
    if isinstance(ids, str):
        raise TypeError(
            f"{func}: ids must be an integer array; encode the text first with CharVocab.encode"
        )
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"{func}: ids must be 1-D, got shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"{func}: ids must be integers, got dtype {array.dtype}")
    batch_size = check_int(func, "batch_size", batch_size)
    chunk_len = check_int(func, "chunk_len", chunk_len)
    if not isinstance(drop_last, bool):
        raise TypeError(f"{func}: drop_last must be a bool, got {drop_last!r}")
    needed = batch_size * chunk_len + 1
    if len(array) < needed:
        raise ValueError(
            f"{func}: text of {len(array)} characters is too short for chunk_len={chunk_len} "
            f"with batch_size={batch_size}; need at least {needed} characters "
            f"(batch_size * chunk_len + 1)"
        )
    array = array.astype(np.int64)
    stream = (len(array) - 1) // batch_size
    inputs = array[: batch_size * stream].reshape(batch_size, stream).T
    targets = array[1 : batch_size * stream + 1].reshape(batch_size, stream).T
    batches = []
    for start in range(0, stream, chunk_len):
        x = inputs[start : start + chunk_len]
        if drop_last and len(x) < chunk_len:
            break
        batches.append(
            (np.ascontiguousarray(x), np.ascontiguousarray(targets[start : start + chunk_len]))
        )
    return batches


def _lookup(func: str, name: object) -> TextInfo:
    if not isinstance(name, str):
        raise TypeError(f"{func}: name must be a str, got {name!r} ({type(name).__name__})")
    if name not in _TEXTS:
        raise ValueError(f"{func}: unknown text {name!r}; available: {', '.join(text_names())}")
    return _TEXTS[name]
