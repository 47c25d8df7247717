"""The training loop behind `train` and `demo`: truncated BPTT, progress, checkpoints, resume.

The whole run is a pure function of (seed, settings, data), and a checkpoint holds everything
that changes along the way: parameters, optimizer buffers, the step counter, the epoch's chunk
offset, the RNG state and the hidden state carried between chunks. So a run that is stopped
and resumed from its checkpoint ends with bit-for-bit the same parameters as one that never
stopped. Ctrl-C sets a flag; the loop finishes the current step, saves and returns, so an
interruption never catches the parameters half-updated.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import AnomalyError
from ..checkpoint import Checkpoint, CheckpointError, save_checkpoint
from ..data.tasks import chunk_plan, index_batches
from ..io import FileIdentity
from ..train import TrainingDiverged, tbptt_step
from .checks import check_restored
from .errors import EXIT_FAILURE, CLIError
from .models import state_from_arrays, state_to_arrays
from .progress import ProgressBar


@dataclass
class Settings:
    epochs: int
    batch: int
    chunk: int
    clip: float  # 0: no clipping (the norm is still measured and shown)
    checkpoint_every: int  # 0: only at the end and on Ctrl-C
    max_steps: int | None = None  # the target in steps; None: epochs × chunks per epoch


@dataclass
class Outcome:
    steps: int
    total: int
    interrupted: bool
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)  # step, loss, |grad|


@contextlib.contextmanager
def ctrl_c_flag() -> Iterator[dict[str, bool]]:
    """While active, the first Ctrl-C sets flag["stop"]; a second one interrupts at once."""
    flag = {"stop": False}

    def handler(signum: int, frame: Any) -> None:
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: KeyboardInterrupt is handled by the caller
        previous = None
    try:
        yield flag
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


class Trainer:
    """Trains `model` on `task` with `optimizer`; `config` is stored in every checkpoint."""

    def __init__(self, task: Any, model: Any, optimizer: Any, settings: Settings,
                 config: dict[str, Any], checkpoint: Path | None, seed: int) -> None:
        self.task, self.model, self.optimizer, self.s = task, model, optimizer, settings
        self.config, self.path = config, checkpoint
        self.params = list(model.parameters())
        try:
            self.n_chunks = chunk_plan(task.n_items, settings.batch, settings.chunk, task.label,
                                       "characters" if task.kind == "text" else "values")
        except ValueError as e:
            raise CLIError(f"{e} (--chunk {settings.chunk}, --batch {settings.batch})") from None
        self.total = settings.max_steps or settings.epochs * self.n_chunks
        self.step, self.offset, self.offset_epoch = 0, 0, -1
        self.rng = np.random.default_rng(seed)
        self.carry: Any = None
        self._batches: dict[int, list] = {}
        # What may be replaced at `path`: the file this run wrote (or resumed from) last, or
        # anything with force; with neither, the first save must create the file.
        self.written: FileIdentity | None = None
        self.force = False

    # --------------------------------------------------------------------------- state
    def train_state(self) -> dict[str, Any]:
        return {"step": self.step, "offset": self.offset, "offset_epoch": self.offset_epoch,
                "rng": self.rng.bit_generator.state, "carry": state_to_arrays(self.carry),
                "n_chunks": self.n_chunks, "total": self.total}

    def restore(self, ckpt: Checkpoint) -> None:
        """Continue from a checkpoint: parameters, optimizer, counters, RNG, carried state."""
        t = ckpt.train
        try:
            check_restored(t, self.s.chunk, ckpt.optimizer, self.optimizer.state_dict(),
                           self.config["model"]["kind"] == "lstm",
                           (self.s.batch, self.config["model"]["hidden_size"]),
                           type(self.optimizer).__name__)
            if not all(np.all(np.isfinite(v)) for v in ckpt.model.values()):
                raise CheckpointError("its parameters are not finite (NaN or Inf), so training "
                                      "cannot continue from them")
        except CheckpointError as e:
            raise CLIError(f"the checkpoint is refused: {e}") from None
        try:
            self.model.load_state_dict(ckpt.model)
            self.optimizer.load_state_dict(ckpt.optimizer)
            self.step, self.offset = int(t["step"]), int(t["offset"])
            self.offset_epoch = int(t["offset_epoch"])
            self.rng.bit_generator.state = t["rng"]
            self.carry = state_from_arrays(t["carry"])
        except (KeyError, TypeError, ValueError) as e:
            raise CLIError(f"the checkpoint does not fit this model or run: {e}") from None
        if t.get("n_chunks", self.n_chunks) != self.n_chunks:
            raise CLIError("the checkpoint was written with a different --batch/--chunk layout")
        if self.step > self.total:
            raise CLIError(f"the checkpoint is already at step {self.step}, past the target of "
                           f"{self.total} steps; ask for more with --steps N or --epochs E "
                           "(both count from the start of the run)")

    def save(self, path: Path | None = None) -> Path | None:
        target = path or self.path
        if target is None:
            return None
        ckpt = Checkpoint(self.config, self.model.state_dict(), self.optimizer.state_dict(),
                          self.train_state())
        try:
            first = self.written is None
            self.written = save_checkpoint(target, ckpt, exclusive=first and not self.force,
                                           replaces=None if self.force else self.written)
        except FileExistsError:
            raise CLIError(f"{target} was created or changed by someone else while this run "
                           f"trained; it is left as it is and step {self.step} is not saved "
                           "(pass --force to overwrite it)", EXIT_FAILURE) from None
        except OSError as e:
            raise CLIError(f"could not write the checkpoint {target} at step {self.step}: "
                           f"{e.strerror or e} (an earlier checkpoint there is left intact)",
                           EXIT_FAILURE) from None
        return target

    # ---------------------------------------------------------------------------- loop
    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) chunk for `self.step`; a new epoch draws its offset and resets the state."""
        epoch, index = divmod(self.step, self.n_chunks)
        if epoch != self.offset_epoch:
            self.offset, self.offset_epoch = int(self.rng.integers(self.s.chunk)), epoch
            self.carry = None
        if self.offset not in self._batches:
            self._batches[self.offset] = index_batches(self.task.n_items, self.offset,
                                                       self.s.batch, self.s.chunk)
        ix, iy = self._batches[self.offset][index]
        return self.task.tensors(ix, iy)

    def train_step(self) -> tuple[float, float]:
        """One chunk: the library's truncated-BPTT step (E or cross-entropy, BPTT, clip, update)."""
        x, y = self.batch()
        clip = self.s.clip if self.s.clip > 0 else float("inf")  # inf: measure, don't clip
        try:
            done = tbptt_step(self.model, x, y, self.task.loss, self.optimizer, self.carry, clip,
                              check_finite=True)
        except TrainingDiverged as e:
            raise self._diverged(str(e)) from None
        self.carry = done.state
        self.step += 1
        assert done.grad_norm is not None  # a clip was given (inf: measure only)
        return done.loss, float(done.grad_norm)

    def _diverged(self, what: str) -> CLIError:
        return CLIError(f"{what} at step {self.step + 1}: training diverged. Lower --lr, set "
                        "--clip, or rerun with --detect-anomaly to name the op", EXIT_FAILURE)

    def run(self, progress: bool = True) -> Outcome:
        """Train until `total` steps or Ctrl-C; checkpoint every N steps and at the end."""
        start, began = self.step, time.perf_counter()
        bar = ProgressBar(self.total, desc="train", start=start) if progress else None
        history: list[tuple[int, float, float]] = []
        with ctrl_c_flag() as flag:
            while self.step < self.total and not flag["stop"]:
                try:
                    loss, norm = self.train_step()
                except AnomalyError as e:
                    raise CLIError(f"anomaly at training step {self.step + 1}: {e}",
                                   EXIT_FAILURE) from None
                history.append((self.step, loss, norm))
                if bar:
                    bar.update(self.step, loss, norm)
                every = self.s.checkpoint_every
                if every and self.step % every == 0 and self.step < self.total:
                    self.save()
        if bar:
            bar.close()
        self.save()
        return Outcome(self.step, self.total, flag["stop"] and self.step < self.total,
                       time.perf_counter() - began, history)
