"""Optimizers and learning-rate schedules with PyTorch's names, signatures and update rules.

Each optimizer takes tensors or parameter groups (`[{"params": [...], "lr": ...}, ...]`, one
set of hyperparameters per group), updates `param.data` in place from `param.grad` (an array,
or a Tensor after backward(create_graph=True)), skips parameters without a gradient, and
saves and loads its state in PyTorch's state_dict layout. `lr_scheduler` changes the groups'
learning rates epoch by epoch. docs/optim.md has every update rule.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer, ParamGroup, Params
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "ParamGroup", "Params", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop",
           "lr_scheduler"]
