"""The models and optimizers the command line can build, by name.

"rnn" is the notes' model itself, `nn.ElmanRNN`: h_t = σ(U x_t + W h_{t−1} + b),
y_t = V h_t + c. "lstm" and "gru" put the same linear read-out y_t = V h_t + c on an
`nn.LSTM`/`nn.GRU`. All three answer `model(x, state) -> (ys (T, B, O), state)`,
`model.unroll(x, state) -> [h_1 … h_T]` and `model.readout(hs) -> ys`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import nn, optim
from ..tensor import Tensor
from .errors import CLIError

MODELS = ("rnn", "lstm", "gru")
OPTIMIZERS = ("adam", "sgd", "adagrad")
NONLINEARITIES = tuple(nn.NONLINEARITIES)  # the layers' own list, in their order


GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # row blocks of U, W and b
# Parameters a model gained after checkpoints of it were written, each last in the model's
# order and zero in the old model: the GRU's hidden bias b_hn (the GRU computed
# n = tanh(x U_nᵀ + b_n + r ⊙ (h W_nᵀ)) before it, which is b_hn = 0). Such checkpoints load
# with these set to zero (`runs.upgrade`), which gives exactly the model they saved.
ADDED_PARAMETERS: dict[str, tuple[str, ...]] = {"gru": ("core.b_hn",)}


def parameter_shapes(kind: str, input_size: int, hidden_size: int,
                     output_size: int) -> dict[str, tuple[int, ...]]:
    """The parameters `build_model` makes, by name and in its order, allocating none."""
    rows = GATES[kind] * hidden_size
    core = {"U": (rows, input_size), "W": (rows, hidden_size), "b": (rows,)}
    if kind == "gru":  # PyTorch's hidden bias of the candidate: r * (W_hn h + b_hn)
        core["b_hn"] = (hidden_size,)
    readout = {"V": (output_size, hidden_size), "c": (output_size,)}
    if kind == "rnn":
        return {**core, **readout}
    return {**readout, **{f"core.{name}": shape for name, shape in core.items()}}


def memory_estimate(kind: str, input_size: int, hidden_size: int, output_size: int,
                    batch: int = 1, chunk: int = 1) -> int:
    """Bytes a training run needs, roughly: the parameters with their gradients and two
    optimizer buffers, and the graph of one chunk (about 8 saved values per gate and step)."""
    params = sum(int(np.prod(s, dtype=object))
                 for s in parameter_shapes(kind, input_size, hidden_size, output_size).values())
    graph = chunk * batch * (8 * GATES[kind] * hidden_size + input_size + 3 * output_size)
    return 8 * (5 * params + graph)


def physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def check_sizes(kind: str, input_size: int, hidden_size: int, output_size: int,
                batch: int = 1, chunk: int = 1, flag: str = "--hidden") -> None:
    """Refuse an unknown model, a size below 1, or one that cannot fit in memory, before
    anything is allocated (the message gives the estimate)."""
    if kind not in MODELS:
        raise CLIError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    sizes = (input_size, hidden_size, output_size, batch, chunk)
    if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) for n in sizes):
        raise CLIError(f"model sizes must be integers, got {sizes}")
    if min(sizes) < 1:
        raise CLIError(f"model sizes must be positive, got input {input_size}, hidden "
                       f"{hidden_size}, output {output_size}")
    need, have = memory_estimate(kind, *sizes[:3], batch, chunk), physical_memory()
    if need > have:
        article = "a" if kind == "gru" else "an"
        raise CLIError(f"{article} {kind} with hidden size {hidden_size} (input {input_size}, "
                       f"output {output_size}) needs about {_gib(need)} of memory to train, "
                       f"and this machine has {_gib(have)}; choose a smaller {flag}")


def _gib(n: int) -> str:
    return f"{n / 2**30:.3g} GiB" if n < 2**30 * 10**6 else f"{n / 2**30:.2e} GiB"


def build_model(kind: str, input_size: int, hidden_size: int, output_size: int,
                seed: int | None = 0, nonlinearity: str = "tanh") -> nn.Module:
    """`rnn` → nn.ElmanRNN (identity output), `lstm`/`gru` → nn.GatedModel."""
    check_sizes(kind, input_size, hidden_size, output_size)
    if kind == "rnn":
        if nonlinearity not in NONLINEARITIES:
            raise CLIError(f"unknown nonlinearity {nonlinearity!r}; choose one of "
                           f"{', '.join(NONLINEARITIES)}")
        return nn.ElmanRNN(input_size, hidden_size, output_size, nonlinearity=nonlinearity,
                           seed=np.random.default_rng(seed))
    return nn.GatedModel(kind, input_size, hidden_size, output_size, seed=seed)


def build_optimizer(name: str, params: Any, lr: float, momentum: float = 0.0) -> optim.Optimizer:
    """adam | sgd (with optional momentum) | adagrad."""
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr)
    raise CLIError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def state_to_arrays(state: Any) -> Any:
    """A hidden state (Tensor, (h, c) tuple or None) as plain arrays, for a checkpoint."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.data.copy()
    return tuple(state_to_arrays(s) for s in state)


def state_from_arrays(arrays: Any) -> Any:
    """Inverse of `state_to_arrays`."""
    if arrays is None:
        return None
    if isinstance(arrays, np.ndarray):
        return Tensor(arrays)
    return tuple(state_from_arrays(a) for a in arrays)
