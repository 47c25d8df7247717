"""`Module` and `Parameter`: parameter discovery, state dicts and dtype conversion (PyTorch-like).

A module keeps its parameters and submodules as ordinary attributes, so reading `self.W` in a
forward pass costs nothing extra; assigning a `Parameter` or a `Module` attribute also records
its name, in order, which is how `named_parameters()` finds them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..tensor import Tensor

_FLOAT_DTYPES = (np.float16, np.float32, np.float64)


class Parameter(Tensor):
    """A leaf tensor that requires a gradient and that a `Module` registers as its parameter."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        if self.data.dtype.kind != "f":
            self.data = self.data.astype(np.float64)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class StateDictError(ValueError, KeyError):
    """A state dict does not fit the module: a missing or unexpected key, or a wrong shape."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def float_dtype(dtype: Any, where: str) -> np.dtype:
    """`dtype` as a numpy floating dtype, or a clear TypeError."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {dtype!r} is not a dtype") from None
    if resolved.type not in _FLOAT_DTYPES:
        raise TypeError(f"{where}: parameters must be floating point (float16/32/64), got "
                        f"{resolved}")
    return resolved


class Module:
    """Base class of layers: subclass it, assign `Parameter`s and submodules, write `forward`."""

    _param_names: list[str]  # in assignment order (set in __init__, past __setattr__)
    _module_names: list[str]
    training: bool  # True after construction; `train()`/`eval()` set it on every submodule

    def __init__(self) -> None:
        object.__setattr__(self, "_param_names", [])
        object.__setattr__(self, "_module_names", [])
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_param_names" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                               f"assigning attributes (while setting {name!r})")
        if isinstance(value, Parameter):
            _append_once(self._param_names, name)
        elif isinstance(value, Module):
            _append_once(self._module_names, name)
        elif name in self._param_names and value is not None:
            raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to "
                            f"parameter {name!r} (a Parameter or None expected)")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for names in (self._param_names, self._module_names):
            if name in names:
                names.remove(name)
        object.__delattr__(self, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # ------------------------------------------------------------------------------ discovery
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name in self._module_names:
            yield name, getattr(self, name)

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every submodule, depth first, with dotted names ("" for self)."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = list(module.named_children())
            for child_name, child in reversed(children):
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, own parameters first; shared ones are listed once."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name in module._param_names:
                param = getattr(module, name)
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self) -> Iterator[Parameter]:
        for _, param in self.named_parameters():
            yield param

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget all accumulated gradients: `.grad = None` (PyTorch's default), or, with
        set_to_none=False, gradients of zeros (fresh arrays: a gradient array handed out
        earlier is never changed)."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = np.zeros_like(param.grad)

    # ------------------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Set `training = mode` on this module and every submodule; returns self.

        Only layers whose forward differs (Dropout, the dropout between stacked RNN layers)
        read it.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"{type(self).__name__}.train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """`train(False)`: dropout becomes the identity."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set `requires_grad` on every parameter (False freezes them); returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    # ----------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: a copy of the parameter's array}."""
        return {name: param.data.copy() for name, param in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters (cast to each parameter's dtype).

        Raises StateDictError naming every missing key, unexpected key and wrong shape.
        With strict=False, missing and unexpected keys are ignored (shapes still must match).
        """
        params = dict(self.named_parameters())
        problems = []
        if strict:
            problems += [f"missing key {k!r}" for k in params if k not in state]
            problems += [f"unexpected key {k!r}" for k in state if k not in params]
        arrays = {}
        for key, param in params.items():
            if key not in state:
                continue
            array = np.asarray(state[key].data if isinstance(state[key], Tensor) else state[key])
            if array.shape != param.data.shape:
                problems.append(f"wrong shape for key {key!r}: expected {param.data.shape}, "
                                f"got {array.shape}")
            arrays[key] = array
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: "
                                 + "; ".join(problems))
        for key, array in arrays.items():
            params[key].data = array.astype(params[key].data.dtype, copy=True)

    # ----------------------------------------------------------------------------- dtype
    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first parameter (float64 for a module without parameters)."""
        first = next(self.parameters(), None)
        return first.data.dtype if first is not None else np.dtype(np.float64)

    def to(self, dtype: Any) -> Module:
        """Convert every parameter (and its gradient) to `dtype` in place; returns self."""
        dtype = float_dtype(dtype, f"{type(self).__name__}.to")
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            if param.grad is not None:
                param.grad = param.grad.astype(dtype)
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # ---------------------------------------------------------------------------- display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self.named_children():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"


def _append_once(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


@contextlib.contextmanager
def _swapped(module: Module, params: Mapping[str, Tensor]) -> Iterator[None]:
    owners = dict(module.named_modules())
    known = dict(module.named_parameters())
    previous = []
    try:
        for name, value in params.items():
            if name not in known:
                raise StateDictError(f"functional_call: {type(module).__name__} has no "
                                     f"parameter {name!r} (it has {sorted(known)})")
            owner_name, _, attr = name.rpartition(".")
            owner = owners[owner_name]
            previous.append((owner, attr, getattr(owner, attr)))
            object.__setattr__(owner, attr, value)
        yield
    finally:
        for owner, attr, old in reversed(previous):
            object.__setattr__(owner, attr, old)


def functional_call(module: Module, params: Mapping[str, Tensor], *args: Any,
                    **kwargs: Any) -> Any:
    """Run `module(*args, **kwargs)` with some parameters temporarily replaced by `params`.

    `params` maps dotted names (as in `named_parameters()`) to tensors; the module is restored
    afterwards. Handy for gradcheck, which passes fresh float64 copies of every input.
    """
    with _swapped(module, params):
        return module(*args, **kwargs)
