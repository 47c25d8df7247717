"""Containers, as PyTorch's: `Sequential`, `ModuleList` and `ModuleDict`.

Each keeps its children as ordinary submodules named "0", "1", … (or by their keys), so
`named_parameters()`, `state_dict()` and `load_state_dict()` see them as PyTorch does:
`Sequential(Linear(2, 3), Tanh())` has parameters "0.weight" and "0.bias".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from .module import Module


def _check_module(module: Any, where: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where} is a {type(module).__name__}, not a Module")
    return module


class _IndexedModules(Module):
    """Children named "0" … "n−1" in order; the shared part of Sequential and ModuleList."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def _name(self) -> str:
        return type(self).__name__

    def _index(self, index: Any) -> int:
        n = len(self)
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise TypeError(f"{self._name()}: indices must be integers or slices, got "
                            f"{type(index).__name__}")
        i = index.__index__()
        if not -n <= i < n:
            raise IndexError(f"{self._name()}: index {i} is out of range for {n} modules")
        return i % n

    def _renumber(self, modules: list[Module]) -> None:
        for name in list(self._module_names):
            delattr(self, name)
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> _IndexedModules: ...

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return type(self)._from_list(list(self.children())[index])
        return getattr(self, str(self._index(index)))

    @classmethod
    def _from_list(cls, modules: list[Module]) -> _IndexedModules:
        raise NotImplementedError  # each container says what its slices are

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(self._index(index)), _check_module(module, f"{self._name()}: item"))

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self.children())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._index(index)]
        self._renumber(modules)

    def append(self, module: Module) -> _IndexedModules:
        """Add `module` at the end; returns self."""
        setattr(self, str(len(self)), _check_module(module, f"{self._name()}.append: argument"))
        return self

    def extend(self, modules: Iterable[Module]) -> _IndexedModules:
        """Append every module of `modules` in order; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, _IndexedModules):
            raise TypeError(f"{self._name()}.extend: expected an iterable of Modules, got a "
                            f"{type(modules).__name__}")
        for i, module in enumerate(list(modules)):
            self.append(_check_module(module, f"{self._name()}: argument {i}"))
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert `module` before position `index` (as list.insert); later ones move up."""
        modules = list(self.children())
        modules.insert(index, _check_module(module, f"{self._name()}.insert: argument"))
        self._renumber(modules)


class Sequential(_IndexedModules):
    """Apply modules in order: y = fₙ(…f₂(f₁(x))). Children are named "0", "1", …"""

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    @classmethod
    def _from_list(cls, modules: list[Module]) -> _IndexedModules:
        return Sequential(*modules)  # a slice of a subclass (MLP) is a plain Sequential

    def forward(self, x: Any) -> Any:
        for module in self.children():
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list of submodules whose parameters the owner registers ("0.weight", "1.weight", …).

    Indexing, slicing (a new ModuleList sharing the modules), len, iteration, append, extend,
    insert and del work as on a list. It has no forward: the owner decides how to call them.
    """

    @classmethod
    def _from_list(cls, modules: list[Module]) -> _IndexedModules:
        return ModuleList(modules)


class ModuleDict(Module):
    """An ordered dict of submodules keyed by strings; parameters are named "key.weight", …

    d[key], d[key] = m, del d[key], `in`, len, iteration over keys, keys/values/items,
    update, pop and clear work as on a dict. It has no forward.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _check_key(self, key: Any) -> str:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without '.', got {key!r}")
        if key in self.__dict__ and key not in self._module_names or hasattr(type(self), key):
            raise KeyError(f"ModuleDict: key {key!r} would hide an attribute of ModuleDict")
        return key

    def __getitem__(self, key: str) -> Module:
        if key not in self._module_names:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, module: Module) -> None:
        setattr(self, self._check_key(key), _check_module(module, f"ModuleDict[{key!r}]"))

    def __delitem__(self, key: str) -> None:
        if key not in self._module_names:
            raise KeyError(key)
        delattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._module_names

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._module_names))

    def keys(self) -> list[str]:
        return list(self._module_names)

    def values(self) -> list[Module]:
        return list(self.children())

    def items(self) -> list[tuple[str, Module]]:
        return list(self.named_children())

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for pair in pairs:
            key, module = pair
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in self.keys():
            del self[key]
