"""Training checkpoints: model, optimizer state, counters, RNG state and config in one .npz.

Everything is stored as plain arrays plus JSON metadata through `io.save_npz`, which writes a
temporary file and renames it over the target, so an interruption leaves the old checkpoint or
the new one, never half of one. Loading never unpickles, and refuses files that are not
checkpoints of this format with one clear `CheckpointError` line.

Nested state (an optimizer's `state_dict()`, the RNG state, a carried LSTM state) is split into
a JSON skeleton, where each array is replaced by {"__array__": name}, and the arrays themselves.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .io import MAX_BYTES, FileIdentity, NpzFile, save_npz

FORMAT = "tinygrad_rnn.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """The file is missing, corrupt, foreign (not a checkpoint) or from a newer version."""


@dataclass
class Checkpoint:
    """What a checkpoint holds: `model` arrays by parameter name, nested `optimizer` and `train`
    state (arrays inside), and the run's `config` (model type, sizes, task, vocabulary)."""

    config: dict[str, Any]
    model: dict[str, np.ndarray]
    optimizer: Any = None
    train: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------- nested state <-> arrays
def flatten_state(value: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON skeleton of `value`; its arrays go to `arrays` under names starting with prefix."""
    if isinstance(value, np.ndarray):
        name = f"{prefix}/{len(arrays)}"
        arrays[name] = value
        return {"__array__": name}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):  # keys may be ints (parameter indices): keep their type
        return {"__dict__": [[k if isinstance(k, (int, str)) else str(k),
                              flatten_state(v, prefix, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [flatten_state(v, prefix, arrays) for v in value]}
    if isinstance(value, list):
        return [flatten_state(v, prefix, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"checkpoint: cannot store a {type(value).__name__} ({value!r})")


def unflatten_state(skeleton: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of `flatten_state`. Raises CheckpointError if an array is missing."""
    if isinstance(skeleton, list):
        return [unflatten_state(v, arrays) for v in skeleton]
    if not isinstance(skeleton, dict):
        return skeleton
    if "__array__" in skeleton:
        name = skeleton["__array__"]
        if name not in arrays:
            raise CheckpointError(f"the array {name!r} is missing")
        return arrays[name]
    if "__tuple__" in skeleton:
        return tuple(unflatten_state(v, arrays) for v in skeleton["__tuple__"])
    if "__dict__" in skeleton:
        return {k: unflatten_state(v, arrays) for k, v in skeleton["__dict__"]}
    raise CheckpointError(f"unexpected entry {sorted(skeleton)} in the checkpoint metadata")


# ------------------------------------------------------------------------------ save / load
def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint, exclusive: bool = False,
                    replaces: FileIdentity | None = None) -> FileIdentity:
    """Write `ckpt` to `path` atomically (temp file + rename); see `io.atomic_write` for
    `exclusive` and `replaces`. Returns the identity of the file written."""
    arrays: dict[str, np.ndarray] = {f"model/{k}": np.asarray(v) for k, v in ckpt.model.items()}
    metadata = {
        "format": FORMAT, "version": VERSION, "config": ckpt.config,
        "model": sorted(ckpt.model),
        "optimizer": flatten_state(ckpt.optimizer, "optim", arrays),
        "train": flatten_state(ckpt.train, "train", arrays),
    }
    return save_npz(path, arrays, metadata, exclusive=exclusive, replaces=replaces)


Members = dict  # {array name: (dtype, shape)}, declared by the file before any data is read


def load_checkpoint(path: str | os.PathLike,
                    check: Callable[[dict[str, Any], Members], None] | None = None,
                    max_bytes: int = MAX_BYTES) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; never unpickles.

    The file is untrusted: its metadata and every member's declared dtype and shape are read
    first (a few bytes each) and handed to `check(metadata, members)`, which raises
    CheckpointError for anything it does not expect; only then are the arrays decompressed.
    Raises CheckpointError (one line) for a missing, corrupt, foreign or too-new file.
    """
    label = os.fspath(path)
    if not os.path.exists(label):
        raise CheckpointError(f"checkpoint {label} does not exist")
    if os.path.isdir(label):
        raise CheckpointError(f"checkpoint {label} is a directory, not a file")
    try:
        with NpzFile(label, max_bytes) as npz:
            meta = npz.metadata
            _check_format(label, meta)
            if check is not None:
                try:
                    check(meta, dict(npz.members))
                except CheckpointError as e:
                    raise CheckpointError(f"{label} is refused: {e}") from None
            arrays = {key: npz.read(key) for key in npz.members}
    except CheckpointError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise CheckpointError(f"{label} is not a readable checkpoint (corrupt, or not an .npz "
                              f"file): {_first_line(e)}") from None
    try:
        return _assemble(arrays, meta)
    except CheckpointError as e:
        raise CheckpointError(f"{label} is a corrupt checkpoint: {e}") from None
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as e:
        raise CheckpointError(f"{label} is a corrupt checkpoint ({_first_line(e)})") from None


def _check_format(label: str, meta: dict[str, Any]) -> None:
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{label} is not a tinygrad-rnn checkpoint (no checkpoint metadata;"
                              " a foreign .npz file?)")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
        raise CheckpointError(f"{label} has checkpoint version {version!r}; this tinygrad-rnn "
                              f"reads version {VERSION} and older")


def _assemble(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Checkpoint:
    names = meta.get("model")
    config = meta.get("config")
    if not isinstance(names, list) or not isinstance(config, dict):
        raise CheckpointError("its metadata lacks the model's parameter list or the config")
    missing = [n for n in names if f"model/{n}" not in arrays]
    if missing:
        raise CheckpointError(f"parameter arrays {missing} are missing")
    model = {n: arrays[f"model/{n}"] for n in names}
    train = unflatten_state(meta.get("train", {}), arrays)
    if not isinstance(train, dict):
        raise CheckpointError("its training state is not a mapping")
    return Checkpoint(config=config, model=model,
                      optimizer=unflatten_state(meta.get("optimizer"), arrays), train=train)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
