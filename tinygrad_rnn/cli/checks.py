"""A checkpoint is untrusted input: what it must look like before anything in it is used.

`check_checkpoint(metadata, members)` runs after the metadata and the members' declared dtypes
and shapes are read, and before any array is decompressed: the settings must pass the command
line's own checks, the model must fit in memory, and every array must be one the run expects,
with the shape and the float dtype it expects. `check_restored` checks the counters and the
optimizer's hyperparameters once they are read.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..checkpoint import CheckpointError
from .errors import (
    CLIError,
    fraction,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from .models import (
    ADDED_PARAMETERS,
    MODELS,
    NONLINEARITIES,
    OPTIMIZERS,
    check_sizes,
    parameter_shapes,
)

CHOICES = {"model": MODELS, "nonlinearity": NONLINEARITIES, "optimizer": OPTIMIZERS}
INTS = {"hidden": positive_int, "chunk": positive_int, "batch": positive_int,
        "epochs": positive_int, "seed": nonnegative_int}
FLOATS = {"lr": positive_float, "momentum": nonnegative_float, "clip": nonnegative_float,
          "test_fraction": fraction}
# Hyperparameters the command line does not set, whose library default changed: a run started
# before keeps its own value when resumed. {(optimizer class, hyperparameter): former defaults}
FORMER_DEFAULTS: dict[tuple[str, str], tuple[Any, ...]] = {
    ("Adagrad", "eps"): (1e-8,),  # PyTorch's 1e-10 since the optim package
}


def check_settings(args: Any) -> None:
    """The stored training settings, checked as the command line checks typed ones."""
    if not isinstance(args, dict):
        raise CheckpointError("its training settings are not a mapping")
    for key, choices in CHOICES.items():
        if args.get(key) not in choices:
            raise CheckpointError(f"its setting --{key} {args.get(key)!r} is not one of "
                                  f"{', '.join(choices)}")
    for key, check in {**INTS, **FLOATS}.items():
        value = args.get(key)
        numeric = int if key in INTS else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric):
            raise CheckpointError(f"its setting --{key.replace('_', '-')} is {value!r}, not a "
                                  f"{'whole ' if key in INTS else ''}number")
        try:
            check(str(value))
        except argparse.ArgumentTypeError as e:
            raise CheckpointError(f"its setting --{key.replace('_', '-')} {e}") from None


def _model_sizes(config: dict[str, Any]) -> tuple[str, int, int, int]:
    m, args = config.get("model"), config["args"]
    if not isinstance(m, dict):
        raise CheckpointError("it has no model description")
    kind = m.get("kind")
    sizes: list[Any] = [m.get(k) for k in ("input_size", "hidden_size", "output_size")]
    if any(isinstance(n, bool) or not isinstance(n, int) for n in sizes):
        raise CheckpointError(f"its model sizes {sizes} are not whole numbers")
    if kind != args["model"] or sizes[1] != args["hidden"] or \
            m.get("nonlinearity") != args["nonlinearity"]:
        raise CheckpointError("its model description disagrees with its settings")
    return kind, sizes[0], sizes[1], sizes[2]


def _expected_arrays(meta: dict[str, Any], shapes: list[tuple[int, ...]],
                     carry: tuple[int, int]) -> dict[str, tuple[int, ...]]:
    """{member: shape} for the optimizer buffers and the carried state the skeleton names."""
    expected = _optimizer_arrays(meta.get("optimizer"), shapes)
    for key, value in _entries(meta.get("train")):
        if key == "carry":
            parts = value.get("__tuple__", [value]) if isinstance(value, dict) else []
            expected.update({member: carry for p in parts if (member := _array_name(p))})
    return expected


def _optimizer_arrays(skeleton: Any, shapes: list[tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The optimizer's buffers, each shaped like its parameter: PyTorch's layout {"state":
    {index: {buffer: array}}, "param_groups": [...]}, or the older flat {"state.i.buf": array}."""
    found: list[tuple[Any, Any, str]] = []  # (parameter index, array skeleton, label)
    for key, value in _entries(skeleton):
        if key == "state":
            found += [(index, array, f"state[{index!r}][{buffer!r}]")
                      for index, buffers in _entries(value) for buffer, array in _entries(buffers)]
        else:
            parts = str(key).split(".")
            index = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
            found.append((index, value, str(key)))
    expected: dict[str, tuple[int, ...]] = {}
    for index, array, label in found:
        name = _array_name(array)
        if name is None:
            continue
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(shapes):
            raise CheckpointError(f"its optimizer state has an unexpected array {label!r}")
        expected[name] = shapes[index]
    return expected


def _entries(skeleton: Any) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of a dict in the checkpoint's JSON skeleton ({"__dict__": [...]})."""
    entries = skeleton.get("__dict__") if isinstance(skeleton, dict) else None
    return [(e[0], e[1]) for e in entries if isinstance(e, list) and len(e) == 2] \
        if isinstance(entries, list) else []


def _array_name(value: Any) -> str | None:
    name = value.get("__array__") if isinstance(value, dict) else None
    return name if isinstance(name, str) else None


def check_checkpoint(meta: dict[str, Any], members: dict[str, tuple[Any, tuple]]) -> None:
    """Raise CheckpointError unless the file is a run this tool can resume, at a size that fits."""
    config = meta.get("config")
    if not isinstance(config, dict) or not all(isinstance(config.get(p), dict)
                                               for p in ("model", "args", "task")):
        raise CheckpointError("it is not a tinygrad-rnn training checkpoint (no model, args "
                              "and task in its config)")
    check_settings(config["args"])
    kind, n_in, hidden, n_out = _model_sizes(config)
    args = config["args"]
    try:
        check_sizes(kind, n_in, hidden, n_out, args["batch"], args["chunk"])
    except CLIError as e:  # the sizes come from the file here
        raise CheckpointError(f"its model is too large or invalid: {e}") from None
    params = parameter_shapes(kind, n_in, hidden, n_out)
    added = ADDED_PARAMETERS.get(kind, ())
    older = sorted(set(params) - set(added))  # as written before those were added
    if meta.get("model") not in (sorted(params), older):
        raise CheckpointError(f"its parameters {meta.get('model')!r} are not those of {kind} "
                              f"({', '.join(sorted(params))})")
    if meta.get("model") != sorted(params):  # an older model: no optimizer state for those
        params = {name: shape for name, shape in params.items() if name not in added}
    expected = {f"model/{name}": shape for name, shape in params.items()}
    expected.update(_expected_arrays(meta, list(params.values()), (args["batch"], hidden)))
    for name, (dtype, shape) in members.items():
        if name not in expected:
            raise CheckpointError(f"it holds an unexpected array {name!r}")
        if tuple(shape) != expected[name] or np.dtype(dtype).kind != "f":
            raise CheckpointError(f"its array {name!r} is {np.dtype(dtype)} {tuple(shape)}, but "
                                  f"the model it describes needs float {expected[name]}")


def check_restored(train: dict[str, Any], chunk: int, optimizer_state: Any,
                   fresh_state: dict[str, Any], lstm: bool = False,
                   carry_shape: tuple[int, int] | None = None, optimizer: str = "") -> None:
    """Counters in range, the optimizer's stored hyperparameters equal to the settings' (or a
    former default of the `optimizer` class, see FORMER_DEFAULTS), and a carried state of the
    model's form: None, an (h, c) pair for the LSTM, else one array."""
    _check_carry(train.get("carry"), lstm, carry_shape)
    for key, low in (("step", 0), ("offset", 0), ("offset_epoch", -1)):
        value = train.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2**62:
            raise CheckpointError(f"its training counter {key!r} is {value!r}")
    if train["offset"] >= chunk:
        raise CheckpointError(f"its chunk offset {train['offset']} is not below --chunk {chunk}")
    _check_optimizer(optimizer_state, fresh_state, optimizer)


def _check_optimizer(stored: Any, fresh: dict[str, Any], optimizer: str = "") -> None:
    """The stored hyperparameters equal the fresh optimizer's (its groups', in PyTorch's layout;
    the flat format's top-level ones) or one of their former defaults, and every step counter
    is a count."""
    if not isinstance(stored, dict):
        raise CheckpointError("its optimizer state is not a mapping")
    groups = stored.get("param_groups")
    if "param_groups" in stored:
        fresh_groups = fresh["param_groups"]
        if not isinstance(groups, list) or len(groups) != len(fresh_groups) or \
                not all(isinstance(g, dict) for g in groups):
            raise CheckpointError(f"its optimizer has {groups!r} as parameter groups")
        pairs = [(k, g.get(k), v) for g, fresh_g in zip(groups, fresh_groups)
                 for k, v in fresh_g.items() if k != "params"]
        state = stored.get("state")
        steps = [(f"state[{i!r}].step", e.get("step")) for i, e in state.items()
                 if isinstance(e, dict) and "step" in e] if isinstance(state, dict) else []
    else:  # the flat format: its hyperparameters against those of the fresh first group
        group = fresh["param_groups"][0]
        pairs = [(k, tuple(v) if isinstance(v, list) else v, group[k])
                 for k, v in stored.items() if k in group and k != "params"]
        steps = [(k, v) for k, v in stored.items() if str(k).endswith(".step")]
    for key, value, want in pairs:
        if value != want and not _former_default(optimizer, key, value):
            raise CheckpointError(f"its optimizer's {key} is {value!r}, but its settings give "
                                  f"{want!r}")
    for key, value in steps:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            raise CheckpointError(f"its optimizer's step counter {key!r} is {value!r}, not a "
                                  "whole number >= 0")


def _former_default(optimizer: str, key: str, value: Any) -> bool:
    former = FORMER_DEFAULTS.get((optimizer, key), ())
    return any(type(value) is type(v) and value == v for v in former)


def _check_carry(carry: Any, lstm: bool, shape: tuple[int, int] | None) -> None:
    if carry is None:
        return
    parts = carry if lstm and isinstance(carry, tuple) and len(carry) == 2 else (carry,)
    form_ok = isinstance(carry, tuple) == lstm
    if not form_ok or not all(isinstance(p, np.ndarray) and (shape is None or p.shape == shape)
                              for p in parts):
        want = "an (h, c) pair" if lstm else "one array"
        raise CheckpointError(f"its carried state is not {want} of shape {shape}")
    if not all(np.all(np.isfinite(p)) for p in parts):
        raise CheckpointError("its carried state is not finite (NaN or Inf)")
