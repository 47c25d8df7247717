"""What a run is made of, and how it is rebuilt from a checkpoint.

A run's config (stored in every checkpoint as JSON) has three parts: "model" (type and sizes),
"args" (the training settings) and "task" (where the data came from, its vocabulary for text,
and a fingerprint of the data so a resume on changed data is refused).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..checkpoint import Checkpoint, CheckpointError, load_checkpoint
from ..nn.module import StateDictError
from .checks import check_checkpoint
from .errors import CLIError
from .models import ADDED_PARAMETERS, build_model, build_optimizer, parameter_shapes

# Training settings stored in "args"; None in argparse means "not given" (use the default).
DEFAULTS: dict[str, Any] = {
    "model": "rnn", "hidden": 32, "nonlinearity": "tanh", "chunk": 24, "batch": 4,
    "optimizer": "adam", "lr": None, "momentum": 0.0, "clip": 1.0, "epochs": 20, "seed": 0,
    "test_fraction": 0.2,
}
TEXT_DEFAULTS = {"hidden": 64, "chunk": 32, "batch": 16, "test_fraction": 0.1, "epochs": 1}
DEFAULT_LR = {"adam": 1e-2, "sgd": 1e-2, "adagrad": 1e-1}
# Settings a resumed run may change without breaking exactness of what was already done.
CHANGEABLE_ON_RESUME = ("epochs",)


def resolve_args(given: dict[str, Any], text: bool) -> dict[str, Any]:
    """Fill in defaults for settings the user did not give (text tasks have their own)."""
    args = {}
    for key, default in DEFAULTS.items():
        value = given.get(key)
        if value is None:
            value = TEXT_DEFAULTS.get(key, default) if text else default
        args[key] = value
    if args["lr"] is None:
        args["lr"] = DEFAULT_LR[args["optimizer"]]
    return args


def merge_resume_args(given: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's settings; a differing explicit setting is refused (except --epochs)."""
    missing = [key for key in DEFAULTS if key not in stored]
    if missing:
        raise CLIError(f"the checkpoint's training settings are incomplete (no {missing})")
    args = dict(stored)
    for key, value in given.items():
        if value is None or key not in DEFAULTS:
            continue
        if key in CHANGEABLE_ON_RESUME:
            args[key] = value
        elif value != stored.get(key):
            flag = "--" + key.replace("_", "-")
            raise CLIError(f"{flag} {value} differs from the checkpoint's {stored.get(key)}; "
                           f"leave it out when resuming (only --epochs/--steps may change)")
    return args


def make_config(args: dict[str, Any], task: Any) -> dict[str, Any]:
    return {"tool": "tinygrad-rnn", "version": __version__, "args": args,
            "model": {"kind": args["model"], "input_size": task.input_size,
                      "hidden_size": args["hidden"], "output_size": task.output_size,
                      "nonlinearity": args["nonlinearity"]},
            "task": task.config()}


def model_from_config(config: dict[str, Any], seed: int = 0) -> Any:
    """A fresh model as the config describes it; its initial parameters depend on `seed`."""
    try:
        m = config["model"]
        return build_model(str(m["kind"]), int(m["input_size"]), int(m["hidden_size"]),
                           int(m["output_size"]), seed=seed, nonlinearity=str(m["nonlinearity"]))
    except (KeyError, TypeError, ValueError) as e:
        raise CLIError(f"the checkpoint's model description is incomplete or invalid ({e})"
                       ) from None


def optimizer_for(args: dict[str, Any], model: Any) -> Any:
    return build_optimizer(args["optimizer"], model.parameters(), args["lr"], args["momentum"])


def open_checkpoint(path: str | Path) -> Checkpoint:
    """Load a checkpoint, checked as untrusted input (see checks.py), or fail with one line;
    one written before its model gained a parameter is upgraded (see `upgrade`), with a note."""
    try:
        ckpt = load_checkpoint(path, check=check_checkpoint)
    except CheckpointError as e:
        raise CLIError(str(e)) from None
    try:
        added = upgrade(ckpt)
    except CheckpointError as e:
        raise CLIError(f"{path} is refused: {e}") from None
    if added:
        print(f"tinygrad-rnn: note: {path} predates the GRU's hidden bias {', '.join(added)}; "
              "it is set to 0, which gives exactly the saved model (training goes on to learn "
              "it)", file=sys.stderr)
    return ckpt


def upgrade(ckpt: Checkpoint) -> list[str]:
    """Add the parameters the checkpoint's model gained since it was written (models.py's
    ADDED_PARAMETERS: zero in the old model) as zeros; returns their names.

    They come last in the model's order, so the optimizer's stored parameter numbers still hold:
    PyTorch's layout gets the new numbers in its last group, with no state (fresh buffers);
    the old flat layout needs nothing (it numbers the parameters of the optimizer it loads into).
    A checkpoint that passed `check_checkpoint` lacks all of them or none, and has no optimizer
    buffers for them; CheckpointError if its optimizer lists them anyway.
    """
    m = ckpt.config["model"]
    kind = m["kind"]
    missing = [n for n in ADDED_PARAMETERS.get(kind, ()) if n not in ckpt.model]
    if not missing:
        return []
    shapes = parameter_shapes(kind, m["input_size"], m["hidden_size"], m["output_size"])
    dtype = np.result_type(*ckpt.model.values())
    ckpt.model.update({n: np.zeros(shapes[n], dtype) for n in missing})
    groups = ckpt.optimizer.get("param_groups") if isinstance(ckpt.optimizer, dict) else None
    if isinstance(groups, list) and groups and isinstance(groups[-1], dict) and \
            isinstance(groups[-1].get("params"), list):
        numbers = [list(shapes).index(n) for n in missing]
        listed = [i for g in groups if isinstance(g, dict) and isinstance(g.get("params"), list)
                  for i in g["params"] if i in numbers]
        if listed:
            raise CheckpointError(f"it has no {', '.join(missing)}, but its optimizer lists "
                                  f"parameter {listed[0]!r}, its number")
        groups[-1]["params"] = groups[-1]["params"] + numbers
    return missing


def load_model(ckpt: Checkpoint, path: str | Path) -> Any:
    """The checkpoint's model with its parameters; shape mismatches are one clear line."""
    model = model_from_config(ckpt.config)
    try:
        model.load_state_dict(ckpt.model)
    except StateDictError as e:
        raise CLIError(f"checkpoint {path} does not match the model it describes: {e}") from None
    return model
