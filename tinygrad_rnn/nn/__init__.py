"""Layers as in PyTorch's `torch.nn`, built only from engine primitives (no backward anywhere).

`Module`/`Parameter`, `Linear`, `MLP`, activations, losses, the seed's `RNNCell`/`RNN` and the
notes' full model `ElmanRNN`, `LSTM`/`GRU` and their cells, `init`, `utils` (gradient
clipping), and `save`/`load` to .npz. `nn.functional` is `tinygrad_rnn.functional`.
"""

from .. import functional
from . import init, utils
from .checks import NONLINEARITIES
from .gated import GRU, LSTM, GatedModel, GRUCell, LSTMCell
from .linear import (
    MLP,
    CrossEntropyLoss,
    Identity,
    Linear,
    MSELoss,
    ReLU,
    Sigmoid,
    Softmax,
    SquaredError,
    Tanh,
    get_activation,
)
from .module import Module, Parameter, Sequential, StateDictError, functional_call
from .rnn import RNN, ElmanRNN, RNNCell
from .utils import clip_grad_norm_, clip_grad_value_, load, save

__all__ = [
    "Module", "Parameter", "Sequential", "StateDictError", "functional_call",
    "Linear", "MLP", "Tanh", "Sigmoid", "ReLU", "Identity", "Softmax", "get_activation",
    "SquaredError", "MSELoss", "CrossEntropyLoss",
    "RNNCell", "RNN", "ElmanRNN", "LSTMCell", "LSTM", "GRUCell", "GRU", "GatedModel",
    "NONLINEARITIES",
    "init", "utils", "functional", "clip_grad_norm_", "clip_grad_value_", "save", "load",
]
