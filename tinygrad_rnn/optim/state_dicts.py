"""An optimizer's state_dict in PyTorch's layout, and loading it back with every misfit named.

    {"state": {0: {"step": 3, "exp_avg": array, ...}, ...},
     "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1, 2]}, ...]}

Parameters are numbered across the groups in order. Loading maps the saved numbers of group k
onto this optimizer's group k position by position, as PyTorch does, and also checks what
PyTorch does not: each buffer's shape against its parameter, the buffer names, the step counts
and the groups' hyperparameters. The library's older flat format ({"optimizer": "Adam", "lr":
..., "state.0.exp_avg": array}, as old checkpoints hold it) is converted and then loaded alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..tensor import Tensor
    from .optimizer import Optimizer, ParamGroup


def pack(opt: Optimizer) -> dict[str, Any]:
    """`opt.state_dict()`: copies of the buffers, the groups with parameter indices."""
    groups: list[dict[str, Any]] = []
    state: dict[int, dict[str, Any]] = {}
    index = 0
    for group in opt.param_groups:
        packed = {k: _copy(v) for k, v in group.items() if k != "params"}
        packed["params"] = list(range(index, index + len(group["params"])))
        for p in group["params"]:
            entry = opt.state.get(p)
            if entry:
                state[index] = {k: _copy(v) for k, v in entry.items()}
            index += 1
        groups.append(packed)
    return {"state": state, "param_groups": groups}


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    return list(value) if isinstance(value, list) else value


def unpack(opt: Optimizer, state_dict: Mapping[str, Any]
           ) -> tuple[list[ParamGroup], dict[Tensor, dict[str, Any]]]:
    """The groups and the state that `state_dict` gives `opt`; ValueError if it does not fit."""
    name = f"{type(opt).__name__}.load_state_dict"
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{name}: expected a dict, got a {type(state_dict).__name__}")
    if "param_groups" not in state_dict and "state" not in state_dict:
        state_dict = from_flat(opt, state_dict, name)
    saved_groups, saved_state = state_dict.get("param_groups"), state_dict.get("state")
    if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, Mapping):
        raise ValueError(f"{name}: expected {{'state': dict, 'param_groups': list}}, got "
                         f"'state' {type(saved_state).__name__} and 'param_groups' "
                         f"{type(saved_groups).__name__}")
    if len(saved_groups) != len(opt.param_groups):
        raise ValueError(f"{name}: the state_dict has {len(saved_groups)} parameter groups, "
                         f"this optimizer has {len(opt.param_groups)}")
    problems: list[str] = []
    by_index: dict[int, Tensor] = {}
    groups = [_group(opt, k, saved, current, by_index, problems)
              for k, (saved, current) in enumerate(zip(saved_groups, opt.param_groups))]
    state: dict[Tensor, dict[str, Any]] = {}
    for key, entry in saved_state.items():
        index = _index(key)
        if index not in by_index:
            problems.append(f"'state' has an entry for parameter {key!r}, which no parameter "
                            "group lists")
            continue
        p = by_index[index]
        state[p] = _entry(opt, index, entry, p, problems)
    if problems:
        raise ValueError(f"{name}: " + "; ".join(problems))
    return groups, state


def _group(opt: Optimizer, k: int, saved: Any, current: ParamGroup,
           by_index: dict[int, Tensor], problems: list[str]) -> ParamGroup:
    """Group k as loaded: the saved hyperparameters over the current ones, the current params."""
    params = saved.get("params") if isinstance(saved, Mapping) else None
    if not isinstance(params, (list, tuple)):
        raise ValueError(f"{type(opt).__name__}.load_state_dict: parameter group {k} is not a "
                         "dict with a 'params' list")
    if len(params) != len(current["params"]):
        raise ValueError(f"{type(opt).__name__}.load_state_dict: parameter group {k} has "
                         f"{len(params)} parameters in the state_dict, but "
                         f"{len(current['params'])} in this optimizer")
    for index, p in zip(params, current["params"]):
        if _index(index) in by_index:
            problems.append(f"parameter {index!r} is listed twice in 'param_groups'")
        by_index[_index(index)] = p
    group = dict(current)
    group.update({key: _plain(value, current.get(key)) for key, value in saved.items()
                  if key != "params"})
    group["params"] = current["params"]
    try:
        opt._check_group(group, f" (parameter group {k} of the state_dict)")
    except (TypeError, ValueError) as e:
        problems.append(str(e))
    return group


def _entry(opt: Optimizer, index: int, entry: Any, p: Tensor, problems: list[str]
           ) -> dict[str, Any]:
    """One parameter's state: buffers copied in the parameter's dtype, the step an int."""
    where = f"state[{index}]"
    if not isinstance(entry, Mapping):
        problems.append(f"{where} is a {type(entry).__name__}, not a dict")
        return {}
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "step":
            step = _plain(value, 0)
            if isinstance(step, float) and step.is_integer():
                step = int(step)  # PyTorch keeps steps as float tensors
            if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < 2**62:
                problems.append(f"{where}['step'] is {value!r}, not a count >= 0")
            out["step"] = step
        elif key in opt.buffers:
            if value is None:  # PyTorch's SGD may store momentum_buffer=None
                continue
            array = np.asarray(value)
            if array.shape != p.shape or array.dtype.kind not in "biuf":
                problems.append(f"{where}[{key!r}] is {array.dtype} {array.shape}, but "
                                f"parameter {index} is {p.dtype} {p.shape}")
            out[key] = array.astype(p.dtype, copy=True)
        else:
            problems.append(f"{where} has an unexpected entry {key!r} (a "
                            f"{type(opt).__name__} keeps {', '.join(opt.buffers + ('step',))})")
    missing = [key for key in opt.required if key not in out]
    if out and missing:
        problems.append(f"{where} lacks {', '.join(map(repr, missing))}")
    return out


def _index(key: Any) -> int:
    """A parameter index, maybe stored as a numpy int or a string of digits."""
    value = _plain(key, 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _plain(value: Any, current: Any) -> Any:
    """A stored value as a Python value (an .npz gives 0-d and 1-d arrays); tuple if current is."""
    if isinstance(value, np.ndarray):
        value = value.item() if value.ndim == 0 else value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    return value


# ------------------------------------------------------------------- the older flat format
def from_flat(opt: Optimizer, flat: Mapping[str, Any], name: str) -> dict[str, Any]:
    """{"optimizer": class, hyperparameter: value, "state.{i}.{buffer}": value} in PyTorch's
    layout: the flat hyperparameters apply to every group (the flat format had one)."""
    kind = flat.get("optimizer")
    if kind is not None and str(np.asarray(kind)) != type(opt).__name__:
        raise ValueError(f"{name}: the state belongs to a {kind} optimizer")
    if not opt.legacy_keys:
        raise ValueError(f"{name}: expected {{'state': ..., 'param_groups': ...}}, got keys "
                         f"{sorted(map(str, flat))[:6]}")
    problems = [f"missing key {k!r}" for k in opt.legacy_keys if k not in flat]
    state: dict[int, dict[str, Any]] = {}
    for key, value in flat.items():
        if key == "optimizer" or key in opt.legacy_keys:
            continue
        parts = str(key).split(".")
        if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit():
            problems.append(f"unexpected key {key!r}")
            continue
        state.setdefault(int(parts[1]), {})[parts[2]] = value
    if problems:
        raise ValueError(f"{name}: " + "; ".join(problems))
    if "step" in opt.required:  # the flat Adagrad counted no steps (it had no lr_decay)
        for entry in state.values():
            entry.setdefault("step", 0)
    hyper = {k: flat[k] for k in opt.legacy_keys}
    groups, start = [], 0
    for group in opt.param_groups:
        stop = start + len(group["params"])
        groups.append({**hyper, "params": list(range(start, stop))})
        start = stop
    return {"state": state, "param_groups": groups}
