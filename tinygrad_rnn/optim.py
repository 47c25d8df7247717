"""Optimizers (PyTorch's update rules): SGD with momentum and weight decay, Adam, Adagrad.

Each updates `param.data` in place from `param.grad` and skips parameters without a gradient.
`state_dict()` is flat, {name: scalar or array}: the hyperparameters, "optimizer" (the class
name) and per-parameter buffers "state.{i}.{buffer}", so it can be stored in an .npz as is
(e.g. prefixed with "optim.") and read back with `load_state_dict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .autograd import mark_modified
from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "Adagrad"]


def _check_params(params: Iterable[Tensor], name: str) -> list[Tensor]:
    if isinstance(params, Tensor):
        raise TypeError(f"{name}: params must be an iterable of tensors (e.g. "
                        "model.parameters()), got a single Tensor; wrap it in a list")
    params = list(params)
    if not params:
        raise ValueError(f"{name}: got an empty parameter list")
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


def _check_nonneg(name: str, **values: float) -> None:
    for key, value in values.items():
        if not (isinstance(value, (int, float, np.floating)) and 0 <= value < np.inf):
            raise ValueError(f"{name}: {key} must be a finite number >= 0, got {value!r}")


class Optimizer:
    """Base class: holds the parameters, per-parameter state, zero_grad/step/state_dict."""

    hyperparameters: tuple[str, ...] = ("lr",)
    buffers: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor]) -> None:
        self.params = _check_params(params, type(self).__name__)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget the parameters' gradients (sets `.grad` to None)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place.

        Like every in-place change, a step bumps each updated parameter's version, so a graph
        that saved the old values (a retained graph) refuses to backward through them again.
        """
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p._data, p.grad, state)
                mark_modified(p)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """{"optimizer": class name, hyperparameters..., "state.{i}.{buffer}": copies}."""
        out: dict[str, Any] = {"optimizer": type(self).__name__}
        for key in self.hyperparameters:
            value = getattr(self, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        for i, state in enumerate(self.state):
            for key, value in state.items():
                out[f"state.{i}.{key}"] = value.copy() if isinstance(value, np.ndarray) else value
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and buffers; every problem is reported with its key."""
        name = type(self).__name__
        kind = state_dict.get("optimizer")
        if kind is not None and str(np.asarray(kind)) != name:
            raise ValueError(f"{name}.load_state_dict: the state belongs to a {kind} optimizer")
        problems = [f"missing key {k!r}" for k in self.hyperparameters if k not in state_dict]
        new_state: list[dict[str, Any]] = [{} for _ in self.params]
        for key, value in state_dict.items():
            if key == "optimizer" or key in self.hyperparameters:
                continue
            problem = self._load_buffer(key, value, new_state)
            if problem:
                problems.append(problem)
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems))
        for key in self.hyperparameters:
            setattr(self, key, _like(getattr(self, key), state_dict[key]))
        self.state = new_state

    def _load_buffer(self, key: str, value: Any, new_state: list[dict[str, Any]]) -> str | None:
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit():
            return f"unexpected key {key!r}"
        index, buffer = int(parts[1]), parts[2]
        if index >= len(self.params) or buffer not in self.buffers + ("step",):
            return f"unexpected key {key!r}"
        if buffer == "step":
            new_state[index]["step"] = int(np.asarray(value))
            return None
        param = self.params[index]
        array = np.asarray(value)
        if array.shape != param.shape:
            return f"wrong shape for key {key!r}: expected {param.shape}, got {array.shape}"
        new_state[index][buffer] = array.astype(param.dtype, copy=True)
        return None

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


def _like(current: Any, value: Any) -> Any:
    """A stored value (maybe a 0-d or 1-d array from an .npz) in the type of `current`."""
    if isinstance(current, tuple):
        return tuple(float(v) for v in np.asarray(value).ravel())
    if isinstance(current, bool):
        return bool(np.asarray(value))
    if isinstance(current, int):
        return int(np.asarray(value))
    return float(np.asarray(value))


class SGD(Optimizer):
    """buf = μ·buf + (g + λp);  p −= lr·buf  (or lr·(g + λp + μ·buf) with nesterov=True)."""

    hyperparameters = ("lr", "momentum", "weight_decay", "nesterov")
    buffers = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params)
        _check_nonneg("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.nesterov = bool(nesterov)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class Adam(Optimizer):
    """m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  p −= lr·m̂ / (√v̂ + ε), hats = bias-corrected."""

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        _check_nonneg("Adam", lr=lr, eps=eps, weight_decay=weight_decay)
        if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        beta1, beta2 = self.betas
        if "exp_avg" not in state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        state["step"] = step = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        denom = np.sqrt(v) / np.sqrt(1 - beta2 ** step) + self.eps
        p -= (self.lr / (1 - beta1 ** step)) * m / denom


class Adagrad(Optimizer):
    """s += g²;  p −= lr·g / (√s + ε)  (the min-char-rnn update)."""

    hyperparameters = ("lr", "eps", "weight_decay", "initial_accumulator_value")
    buffers = ("sum",)

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, eps: float = 1e-8,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0) -> None:
        super().__init__(params)
        _check_nonneg("Adagrad", lr=lr, eps=eps, weight_decay=weight_decay,
                      initial_accumulator_value=initial_accumulator_value)
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.initial_accumulator_value = float(initial_accumulator_value)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if "sum" not in state:
            state["sum"] = np.full_like(p, self.initial_accumulator_value)
        s = state["sum"]
        s += g * g
        p -= self.lr * g / (np.sqrt(s) + self.eps)
