"""`Optimizer`: parameter groups with their own hyperparameters, per-parameter state, zero_grad,
step and a PyTorch-layout state_dict. Each subclass writes only its update rule (`_update`).

A step changes each parameter's buffer in place and bumps its version (`mark_modified`), like
every in-place change, so a retained graph that saved the old values refuses to backward again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .. import buffers
from ..autograd import enable_grad, mark_modified
from ..tensor import Tensor
from . import state_dicts

__all__ = ["Optimizer", "ParamGroup", "Params"]

ParamGroup = dict[str, Any]
"""{"params": [Tensor, ...], "lr": ..., other hyperparameters}."""

Params = Iterable[Tensor] | Iterable[Mapping[str, Any]]
"""What an optimizer takes: tensors (one group), or group dicts {"params": [...], "lr": ...}."""


class Optimizer:
    """Base class: `param_groups`, `defaults`, `state` (by parameter), zero_grad/step/state_dict.

    Subclasses declare their hyperparameters' checks (`nonnegative`, `flags`, `_check_extra`)
    and their per-parameter `buffers`, and implement `_update(p, g, state, group)` on arrays.
    """

    buffers: tuple[str, ...] = ()  # per-parameter arrays in `state`, shaped like the parameter
    required: tuple[str, ...] = ()  # entries every non-empty state has (checked when loading)
    nonnegative: tuple[str, ...] = ("lr",)  # hyperparameters that are finite numbers >= 0
    flags: tuple[str, ...] = ()  # hyperparameters that are bools
    legacy_keys: tuple[str, ...] = ()  # the hyperparameters of the library's old flat format

    def __init__(self, params: Params, defaults: Mapping[str, Any]) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self._check_group(self.defaults, "")
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[ParamGroup] = []
        for group in _as_groups(params, type(self).__name__):
            self.add_param_group(group)

    # ----------------------------------------------------------------------------- groups
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group {"params": tensors, hyperparameter: value, ...}; missing hyperparameters
        come from `defaults`. A parameter may belong to one group only."""
        name = type(self).__name__
        where = f" (parameter group {len(self.param_groups)})"
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{name}: a parameter group is a dict {{'params': [...], ...}}, got "
                            f"a {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}{where}: a parameter group needs a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        group["params"] = _check_params([params] if isinstance(params, Tensor) else params,
                                        f"{name}{where}" if self.param_groups else name)
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group, where)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(group["params"]):
            if id(p) in taken:
                raise ValueError(f"{name}{where}: some parameters appear in more than one "
                                 f"parameter group (parameter {i}, shape {p.shape})")
        self.param_groups.append(group)

    def _check_group(self, group: Mapping[str, Any], where: str) -> None:
        """Raise ValueError/TypeError naming the optimizer and the bad hyperparameter."""
        name = type(self).__name__ + where
        for key in self.nonnegative:
            check_nonnegative(name, key, group[key])
        for key in self.flags:
            if not isinstance(group[key], (bool, np.bool_)):
                raise TypeError(f"{name}: {key} must be True or False, got {group[key]!r}")
        self._check_extra(group, name)

    def _check_extra(self, group: Mapping[str, Any], name: str) -> None:
        """Checks that involve more than one number (betas, nesterov); `name` says where."""

    # ------------------------------------------------------------------------------- step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: `.grad = None` (the default, as PyTorch), or with
        set_to_none=False zero the gradient arrays in place (a Tensor gradient, from
        create_graph=True, is replaced by a zero tensor without a graph, as PyTorch detaches)."""
        for group in self.param_groups:
            for p in group["params"]:
                grad: Any = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif isinstance(grad, Tensor):
                    p.grad = Tensor(np.zeros(grad.shape, grad.dtype))
                elif grad.flags.writeable:
                    grad[...] = 0
                else:
                    p.grad = np.zeros_like(grad)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; returns closure() if given
        (it is called first, with gradients enabled, to recompute the loss and gradients)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                # np.asarray reads an array gradient as is and a Tensor gradient's data.
                self._update(p._data, np.asarray(p.grad), state, group)
                mark_modified(p)
        return loss

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: ParamGroup) -> None:
        """Change `p` in place from the gradient `g` (never change `g`: it may be the user's)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout, with copies of the buffers: {"state": {index: {buffer: value}},
        "param_groups": [{hyperparameters..., "params": [index, ...]}]}; parameters are
        numbered in group order, and only those with state appear in "state"."""
        return state_dicts.pack(self)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore groups' hyperparameters and the state from `state_dict()`'s layout (or the
        library's older flat one). Everything is checked first: a problem raises one
        ValueError that names each misfit and leaves the optimizer unchanged."""
        groups, state = state_dicts.unpack(self, state_dict)
        for group, new in zip(self.param_groups, groups):
            group.clear()
            group.update(new)
        self.state = state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i} ({len(group['params'])} parameters)")
            lines += [f"    {k}: {v!r}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


def check_nonnegative(name: str, key: str, value: Any) -> None:
    """A hyperparameter that must be a finite real number >= 0 (bools are not numbers here)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name}: {key} must be a finite number >= 0, got {value!r}")
    if not 0 <= value < np.inf:
        raise ValueError(f"{name}: {key} must be a finite number >= 0, got {value!r}")


def _as_groups(params: Any, name: str) -> list[Mapping[str, Any]]:
    if isinstance(params, Tensor):
        raise TypeError(f"{name}: params must be an iterable of tensors (e.g. "
                        "model.parameters()) or of group dicts, got a single Tensor; wrap it "
                        "in a list")
    if isinstance(params, Mapping):
        raise TypeError(f"{name}: params must be an iterable of group dicts; wrap the dict in "
                        "a list")
    _check_ordered(params, name)
    items = list(params)
    if not items:
        raise ValueError(f"{name}: got an empty parameter list")
    dicts = [isinstance(item, Mapping) for item in items]
    if all(dicts):
        return items
    if any(dicts):
        raise TypeError(f"{name}: params mixes tensors and parameter-group dicts; give one kind")
    return [{"params": items}]


def _check_ordered(params: Any, name: str) -> None:
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{name}: parameters must be in an ordered collection (a set's order "
                        "changes between runs, and so would the state_dict's indices)")


def _check_params(params: Iterable[Any], name: str) -> list[Tensor]:
    _check_ordered(params, name)
    params = list(params)
    seen: set[int] = set()
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
        if not p.requires_grad or p._ctx is not None:
            raise ValueError(f"{name}: parameter {i} (shape {p.shape}) must be a leaf tensor "
                             "with requires_grad=True")
        if id(p) in seen:
            raise ValueError(f"{name}: parameter {i} (shape {p.shape}) appears twice")
        seen.add(id(p))
    return params


def scratch_like(p: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """A reused buffer of p's shape and dtype for an update's temporaries (from the engine's
    buffer cache), or None (numpy allocates) when g does not match p."""
    if g.shape != p.shape or g.dtype != p.dtype:
        return None
    return buffers.empty(p.shape, p.dtype)
