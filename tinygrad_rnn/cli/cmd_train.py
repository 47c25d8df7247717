"""`train`: fit rnn/lstm/gru on a series, a CSV column or text, with checkpoints and --resume."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from .. import data
from ..data.tasks import generate
from ..io import identity, lock
from .anomaly import cli_detect_anomaly
from .errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    CLIError,
    fraction,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    writable,
)
from .models import MODELS, NONLINEARITIES, OPTIMIZERS, check_sizes
from .progress import plural
from .runs import (
    load_model,
    make_config,
    merge_resume_args,
    model_from_config,
    open_checkpoint,
    optimizer_for,
    resolve_args,
)
from .tasks import csv_task, series_task, task_from_config, text_task
from .trainer import Settings, Trainer

DEFAULT_CHECKPOINT = os.path.join("out", "checkpoint.npz")


def add_task_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("task (default: --series elnino)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--series", choices=data.series_names(), help="a built-in real series")
    src.add_argument("--csv", metavar="FILE", help="your CSV file (with a header row)")
    src.add_argument("--text", nargs="?", const="alice", choices=data.text_names(),
                     help="a built-in text (default alice) for a character model")
    src.add_argument("--text-file", metavar="FILE", help="your UTF-8 text file")
    g.add_argument("--column", help="the CSV column to forecast: a header name, or a 0-based "
                                    "index when it is a whole number (0, 2, -1)")
    g.add_argument("--test-fraction", type=fraction, help="held-out final part (0.2; text 0.1)")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and optimization (defaults differ for text)")
    g.add_argument("--model", choices=MODELS, help="rnn = the notes' model (default), lstm, gru")
    g.add_argument("--hidden", type=positive_int, help="hidden size H (32; text 64)")
    g.add_argument("--nonlinearity", choices=NONLINEARITIES, help="σ of the rnn (tanh)")
    g.add_argument("--chunk", type=positive_int, help="truncated-BPTT chunk length T (24; text 32)")
    g.add_argument("--batch", type=positive_int, help="parallel streams B (4; text 16)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help="adam (default), sgd, adagrad")
    g.add_argument("--lr", type=positive_float, help="learning rate (adam/sgd 0.01, adagrad 0.1)")
    g.add_argument("--momentum", type=nonnegative_float, help="SGD momentum (0)")
    g.add_argument("--clip", type=nonnegative_float, help="clip the gradient norm (1.0; 0 = off)")
    g.add_argument("--epochs", type=positive_int,
                   help="passes over the training data in total, counted from step 0 (20; text "
                        "1)")
    g.add_argument("--steps", type=positive_int,
                   help="the run's total steps, counted from step 0 (default: epochs × chunks "
                        "per epoch; with --resume: the checkpoint's target)")
    g.add_argument("--seed", type=nonnegative_int, help="random seed (0)")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train rnn/lstm/gru on a series or text, with checkpoints",
                       description="Train the notes' RNN (or an LSTM/GRU) with truncated BPTT.")
    add_task_arguments(p)
    add_model_arguments(p)
    g = p.add_argument_group("checkpoints and output")
    g.add_argument("--checkpoint", metavar="FILE",
                   help=f"where to save (default {DEFAULT_CHECKPOINT}; with --resume: that file)")
    g.add_argument("--checkpoint-every", type=nonnegative_int, default=100, metavar="N",
                   help="also save every N steps (default 100; 0 = only at the end)")
    g.add_argument("--resume", metavar="FILE",
                   help="continue from a checkpoint, exactly, to its target (a run on your own "
                        "file also needs --csv FILE or --text-file FILE again)")
    g.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")
    g.add_argument("--detect-anomaly", action="store_true",
                   help="name the first op whose forward/backward makes NaN or Inf (slow)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _task_from_args(a: argparse.Namespace, test_fraction: float) -> Any:
    if a.column is not None and a.csv is None:
        raise CLIError("--column only applies to --csv FILE")
    if a.csv is not None:
        if a.column is None:
            raise CLIError("--csv needs --column NAME (the column to forecast)")
        return csv_task(a.csv, a.column, test_fraction)
    if a.text is not None or a.text_file is not None:
        return text_task(a.text, a.text_file, test_fraction)
    return series_task(a.series or "elnino", test_fraction)


def _setup_new(a: argparse.Namespace) -> tuple[Any, dict, Path]:
    text = a.text is not None or a.text_file is not None
    args = resolve_args(vars(a), text)
    if args["model"] != "rnn" and a.nonlinearity is not None:
        raise CLIError("--nonlinearity only applies to --model rnn")
    if args["optimizer"] != "sgd" and a.momentum is not None:
        raise CLIError(f"--momentum only applies to --optimizer sgd (not {args['optimizer']})")
    path = writable(DEFAULT_CHECKPOINT if a.checkpoint is None else a.checkpoint, a.force,
                    "--checkpoint")
    task = _task_from_args(a, args["test_fraction"])
    return task, args, path


def _setup_resume(a: argparse.Namespace) -> tuple[Any, dict, Path, Any]:
    if a.series is not None or a.text is not None:
        raise CLIError("--resume continues the checkpoint's own task; drop --series/--text")
    ckpt = open_checkpoint(a.resume)
    args = merge_resume_args(vars(a), ckpt.config["args"])
    path = Path(a.checkpoint) if a.checkpoint is not None else Path(a.resume)
    if path.resolve() != Path(a.resume).resolve():
        path = writable(path, a.force, "--checkpoint")
    task = task_from_config(ckpt.config["task"], a.csv, a.column, a.text_file)
    return task, args, path, ckpt


def _target(a: argparse.Namespace, ckpt: Any) -> int | None:
    """--steps, else the total that --epochs gives, else (resuming) the checkpoint's target."""
    stored = ckpt.train.get("total") if ckpt else None
    if a.steps is None and a.epochs is None and isinstance(stored, int) and stored > 0:
        return stored
    return a.steps


def run(a: argparse.Namespace) -> int:
    if a.resume:
        task, args, path, ckpt = _setup_resume(a)
    else:
        (task, args, path), ckpt = _setup_new(a), None
    check_sizes(args["model"], task.input_size, args["hidden"], task.output_size,
                args["batch"], args["chunk"])
    try:
        with lock(path):
            return _train(a, task, args, path, ckpt)
    except FileExistsError:
        raise CLIError(f"another run is writing {path} right now; wait for it to finish or "
                       "choose another --checkpoint") from None


def _train(a: argparse.Namespace, task: Any, args: dict, path: Path, ckpt: Any) -> int:
    config = make_config(args, task)
    model = load_model(ckpt, a.resume) if ckpt else model_from_config(config, args["seed"])
    optimizer = optimizer_for(args, model)
    settings = Settings(args["epochs"], args["batch"], args["chunk"], args["clip"],
                        a.checkpoint_every, _target(a, ckpt))
    trainer = Trainer(task, model, optimizer, settings, config, path, args["seed"])
    trainer.force = a.force
    if ckpt:
        trainer.restore(ckpt)
        if path.resolve() == Path(a.resume).resolve():
            trainer.written = identity(path)  # the file we resumed from may be replaced
    _announce(trainer, task, args, resumed=bool(ckpt))
    with cli_detect_anomaly(a.detect_anomaly):
        outcome = trainer.run(progress=not a.quiet)
    return _report(trainer, outcome, task, path)


def _announce(trainer: Trainer, task: Any, args: dict, resumed: bool) -> None:
    what = (f"{args['model']} (H={args['hidden']}) on {task.kind} {task.label}: "
            f"{plural(trainer.n_chunks, 'chunk')} of T={args['chunk']} x B={args['batch']} per "
            f"epoch, "
            f"{args['optimizer']} lr={args['lr']:g}, clip={args['clip']:g}")
    start = f"resuming at step {trainer.step}/{trainer.total}" if resumed else \
        plural(trainer.total, "step")
    print(f"training {what}; {start}", file=sys.stderr)


def _report(trainer: Trainer, outcome: Any, task: Any, path: Path) -> int:
    if outcome.interrupted:
        print(f"interrupted at step {outcome.steps}/{outcome.total}; checkpoint saved to {path}")
        print(f"resume with: tinygrad-rnn train --resume {shlex.quote(str(path))}")
        return EXIT_INTERRUPTED
    rate = (len(outcome.history) / outcome.seconds) if outcome.seconds > 0 else 0.0
    print(f"trained {plural(outcome.steps, 'step')} ({len(outcome.history)} in this run, "
          f"{outcome.seconds:.1f} s, {rate:.0f} steps/s)")
    if outcome.history:
        print(f"final training loss {outcome.history[-1][1]:.4g}, "
              f"gradient norm {outcome.history[-1][2]:.3g}")
    for line in task.describe(task.evaluate(trainer.model)):
        print(line)
    if task.kind == "text":
        print("sample: " + repr(generate(trainer.model, task.vocab, None, 120, 0.8, 0)))
    print(f"checkpoint: {path}")
    return EXIT_OK
