"""Learning-rate schedules (PyTorch's names and its chainable, step-by-step formulas).

A scheduler changes `group["lr"]` of its optimizer's groups each time `step()` is called,
once per epoch after `optimizer.step()`. Creating one records each group's starting lr as
`group["initial_lr"]` (`base_lrs`) and applies step 0. `get_last_lr()` is the lr of each
group after the latest step; `state_dict()` holds plain values only (checkpoint-ready).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, SupportsFloat, cast

from .optimizer import Optimizer, check_nonnegative

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "ExponentialLR", "CosineAnnealingLR",
           "ReduceLROnPlateau"]


class LRScheduler:
    """Base class: `base_lrs`, `last_epoch` (−1 before the first step), step(), get_last_lr()."""

    hyperparameters: tuple[str, ...] = ()  # saved in state_dict besides the counters

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: {type(optimizer).__name__} is not an Optimizer")
        _check_int(name, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{name}: param_groups[{i}] has no 'initial_lr'; resuming with "
                               "last_epoch >= 0 needs the optimizer's state loaded first")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates of step `last_epoch`, from the current ones (chainable form)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """Each group's lr after the latest step."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch: last_epoch += 1 and set each group's lr."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    # ------------------------------------------------------------------------------ state
    def _state_keys(self) -> tuple[str, ...]:
        return ("last_epoch", "base_lrs", "_last_lr", "_step_count") + self.hyperparameters

    def state_dict(self) -> dict[str, Any]:
        """{"last_epoch", "base_lrs", "_last_lr", "_step_count", hyperparameters...}."""
        return {k: _copy(getattr(self, k)) for k in self._state_keys()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore counters and hyperparameters; checked first, so a misfit changes nothing."""
        name = f"{type(self).__name__}.load_state_dict"
        unexpected = sorted(set(map(str, state_dict)) - set(self._state_keys()))
        if unexpected:
            raise ValueError(f"{name}: unexpected keys {unexpected}")
        groups = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr", "min_lrs", "lr_lambdas"):
            value = state_dict.get(key)
            if value is not None and (not isinstance(value, (list, tuple)) or
                                      len(value) != groups):
                raise ValueError(f"{name}: {key} must hold one value per parameter group "
                                 f"({groups}), got {value!r}")
        self._load(state_dict)

    def _load(self, state_dict: Mapping[str, Any]) -> None:
        for key, value in state_dict.items():
            setattr(self, key, _copy(value))


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def _check_int(name: str, key: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: {key} must be an integer >= {low}, got {value!r}")


class LambdaLR(LRScheduler):
    """lr = base_lr · lr_lambda(last_epoch); one function, or one per parameter group."""

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"LambdaLR: expected {groups} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {fn!r}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def _state_keys(self) -> tuple[str, ...]:
        return super()._state_keys() + ("lr_lambdas",)

    def state_dict(self) -> dict[str, Any]:
        """As PyTorch: functions and lambdas are not saved (None); callable objects' __dict__ is."""
        out = super().state_dict()
        out["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                             for fn in self.lr_lambdas]
        return out

    def _load(self, state_dict: Mapping[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", None) or [None] * len(self.lr_lambdas)
        super()._load(state)
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                vars(fn).update(attributes)


class StepLR(LRScheduler):
    """lr ← lr·γ every step_size epochs (lr = base_lr·γ^⌊epoch/step_size⌋)."""

    hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        _check_int("StepLR", "step_size", step_size, 1)
        check_nonnegative("StepLR", "gamma", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class ExponentialLR(LRScheduler):
    """lr ← lr·γ every epoch (lr = base_lr·γ^epoch)."""

    hyperparameters = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_nonnegative("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class CosineAnnealingLR(LRScheduler):
    """lr → η_min + (base_lr − η_min)(1 + cos(π·epoch/T_max))/2, by PyTorch's recursion:
    lr ← η_min + (lr − η_min)(1 + cos(π·t/T_max)) / (1 + cos(π·(t−1)/T_max))."""

    hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        _check_int("CosineAnnealingLR", "T_max", T_max, 1)
        check_nonnegative("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._lrs()
        if self._step_count == 1 and t > 0:  # created with last_epoch > 0: the closed form
            return [low + (base - low) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # the restart after the minimum
            return [lr + (base - low) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - low) + low for lr in self._lrs()]


class ReduceLROnPlateau(LRScheduler):
    """lr ← max(lr·factor, min_lr) once the metric has not improved for more than `patience`
    steps (then `cooldown` steps pass before bad steps count again). step(metric) each epoch.

    Improvement (mode "min"): metric < best·(1 − threshold) ("rel") or < best − threshold
    ("abs"); mode "max" mirrors it. A reduction smaller than eps is skipped.
    """

    hyperparameters = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                       "min_lrs", "default_min_lr", "eps", "best", "mode_worse",
                       "num_bad_epochs", "cooldown_counter")

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0.0,
                 eps: float = 1e-8) -> None:
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: {type(optimizer).__name__} is not an Optimizer")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: mode must be 'min' or 'max' and threshold_mode 'rel' or "
                             f"'abs', got {mode!r} and {threshold_mode!r}")
        check_nonnegative(name, "factor", factor)
        if factor >= 1:
            raise ValueError(f"{name}: factor must be < 1, got {factor!r}")
        for key, value in (("threshold", threshold), ("eps", eps)):
            check_nonnegative(name, key, value)
        _check_int(name, "patience", patience, 0)
        _check_int(name, "cooldown", cooldown, 0)
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"{name}: expected {groups} min_lrs (one per parameter group)"
                                 f", got {len(min_lr)}")
            self.default_min_lr: float | None = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = cast(float, min_lr)
            self.min_lrs = [self.default_min_lr] * groups
        for value in self.min_lrs:
            check_nonnegative(name, "min_lr", value)
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = (
            threshold, threshold_mode, cooldown, eps)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best, self.num_bad_epochs, self.cooldown_counter = self.mode_worse, 0, 0
        self.last_epoch, self._step_count, self.base_lrs = 0, 0, self._lrs()
        self._last_lr = self._lrs()

    def step(self, metrics: SupportsFloat) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce each group's lr if it has stalled."""
        current = float(metrics)
        self.last_epoch += 1
        self._step_count += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} "
                                   f"parameter groups, but min_lr gave {len(self.min_lrs)}")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def _is_better(self, a: float) -> bool:
        if self.mode == "min":
            bound = self.best * (1 - self.threshold) if self.threshold_mode == "rel" \
                else self.best - self.threshold
            return a < bound
        bound = self.best * (1 + self.threshold) if self.threshold_mode == "rel" \
            else self.best + self.threshold
        return a > bound
