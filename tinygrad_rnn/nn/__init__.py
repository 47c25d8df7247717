"""Layers as in PyTorch's `torch.nn`, built only from engine primitives (no backward anywhere).

`Module`/`Parameter` (train/eval, requires_grad_, state dicts), the containers `Sequential`,
`ModuleList`, `ModuleDict`, `Linear`, `MLP`, activations, `Dropout`, `Embedding`, `LayerNorm`,
losses, the seed's `RNNCell`/`RNN` and the notes' full model `ElmanRNN`, `LSTM`/`GRU` and
their cells (stacked, bidirectional, batch-first; PyTorch weights load with
`load_torch_state_dict`), `init`, `utils` (gradient clipping), and `save`/`load` to .npz.
`nn.functional` is `tinygrad_rnn.functional`. See docs/nn.md.
"""

from .. import functional
from . import init, utils
from .checks import NONLINEARITIES
from .containers import ModuleDict, ModuleList, Sequential
from .gated import GRU, LSTM, GatedModel, GRUCell, LSTMCell
from .layers import Dropout, Embedding, LayerNorm
from .linear import MLP, Identity, Linear, ReLU, Sigmoid, Softmax, Tanh, get_activation
from .losses import CrossEntropyLoss, MSELoss, NLLLoss, SquaredError
from .module import Module, Parameter, StateDictError, functional_call
from .rnn import RNN, ElmanRNN, RNNCell
from .utils import clip_grad_norm_, clip_grad_value_, load, save

__all__ = [
    "Module", "Parameter", "StateDictError", "functional_call",
    "Sequential", "ModuleList", "ModuleDict",
    "Linear", "MLP", "Tanh", "Sigmoid", "ReLU", "Identity", "Softmax", "get_activation",
    "Dropout", "Embedding", "LayerNorm",
    "SquaredError", "MSELoss", "CrossEntropyLoss", "NLLLoss",
    "RNNCell", "RNN", "ElmanRNN", "LSTMCell", "LSTM", "GRUCell", "GRU", "GatedModel",
    "NONLINEARITIES",
    "init", "utils", "functional", "clip_grad_norm_", "clip_grad_value_", "save", "load",
]
