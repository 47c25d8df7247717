"""Files survive anything: kill -9 during saves, files that appear while a run works, two runs
on one path, FIFOs and devices, and hostile .npz files that declare more than they hold.

Each test is small and fast: the fault-injection loop kills a child process that saves a few
megabytes over and over.
"""

from __future__ import annotations

import io as stdio
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn.io as tio
from tinygrad_rnn.checkpoint import CheckpointError, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------- never overwrite blindly
def test_exclusive_write_refuses_a_file_that_exists_at_rename_time(tmp_path):
    path = tmp_path / "x.npz"

    def write(f):  # the file appears while this "run" is still writing
        path.write_text("theirs")
        f.write(b"ours")

    with pytest.raises(FileExistsError, match="already exists"):
        tio.atomic_write(path, write, exclusive=True)
    assert path.read_text() == "theirs" and _temporaries(tmp_path) == []


def test_replaces_refuses_a_file_someone_else_wrote_meanwhile(tmp_path):
    path = tmp_path / "x.bin"
    mine = tio.atomic_write(path, lambda f: f.write(b"1"), exclusive=True)
    mine = tio.atomic_write(path, lambda f: f.write(b"2"), replaces=mine)
    time.sleep(0.01)
    path.write_bytes(b"someone else")
    with pytest.raises(FileExistsError, match="changed by someone else"):
        tio.atomic_write(path, lambda f: f.write(b"3"), replaces=mine)
    assert path.read_bytes() == b"someone else" and _temporaries(tmp_path) == []


def test_a_fifo_or_a_folder_is_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        tio.atomic_write(fifo, lambda f: f.write(b"x"))
    assert fifo.is_fifo() and _temporaries(tmp_path) == []
    (tmp_path / "dir").mkdir()
    with pytest.raises(IsADirectoryError):
        tio.atomic_write(tmp_path / "dir", lambda f: f.write(b"x"))


def test_special_files_are_refused_as_inputs(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(ValueError, match="not a regular file"):
            tio.load_npz(path)


# ------------------------------------------------------------------------------- two runs
def test_a_second_run_on_the_same_path_fails_at_once_and_the_lock_is_released(tmp_path):
    path = tmp_path / "c.npz"
    with tio.lock(path):
        with pytest.raises(FileExistsError, match="another run"):
            with tio.lock(path):
                pass
    with tio.lock(path):  # free again, and no lock file is left behind
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_lock_left_by_a_killed_process_does_not_block_the_next_run(tmp_path):
    path = tmp_path / "c.npz"
    code = ("import sys, time; from tinygrad_rnn import io\n"
            f"with io.lock({str(path)!r}):\n    print('locked', flush=True); time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(FileExistsError):
            with tio.lock(path):
                pass
    finally:
        child.kill()
        child.wait()
    with tio.lock(path):
        pass


# ------------------------------------------------------------------------------- no debris
_SAVER = """
import sys
import numpy as np
from tinygrad_rnn import io
path, seed = sys.argv[1], 0
while True:
    seed += 1
    big = np.full(600_000, float(seed))
    io.save_npz(path, {"a": big, "b": big[:10]}, {"seed": seed})
    print(seed, flush=True)
"""


def test_kill_9_during_saves_keeps_the_previous_file_and_the_next_save_removes_debris(tmp_path):
    path = tmp_path / "c.npz"
    tio.save_npz(path, {"a": np.zeros(3), "b": np.zeros(3)}, {"seed": 0})
    rng = np.random.default_rng(0)
    for _ in range(8):
        child = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], cwd=ROOT,
                                 stdout=subprocess.PIPE, text=True)
        child.stdout.readline()  # at least one save done; kill in the middle of a later one
        time.sleep(float(rng.uniform(0.0, 0.05)))
        child.send_signal(signal.SIGKILL)
        child.wait()
        arrays, meta = tio.load_npz(path)  # intact: one whole save, never half of one
        assert np.all(arrays["a"] == arrays["a"][0]) and arrays["b"][0] == meta["seed"]
    tio.save_npz(path, {"a": np.ones(2), "b": np.ones(2)}, {"seed": -1})
    assert _temporaries(tmp_path) == [], "a killed save's temporary file survived the next save"


def test_only_the_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".x.npz.{dead}.abc.tmp"
    live = tmp_path / f".x.npz.{os.getppid()}.abc.tmp"
    other = tmp_path / f".y.npz.{dead}.abc.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    tio.save_npz(tmp_path / "x.npz", {"a": np.zeros(1)})
    assert not stale.exists() and live.exists() and other.exists()


# ----------------------------------------------------------------------- hostile .npz files
def _npy_header(shape: tuple, descr: str = "<f8") -> bytes:
    buf = stdio.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()  # the magic string, then the header


def test_a_header_that_declares_1e12_elements_is_refused_without_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.npy", _npy_header((10**12,)) + b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="declares shape"):
            tio.load_npz(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"peak {peak} bytes"


def test_declared_sizes_above_the_bound_are_refused_before_decompressing(tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, a=np.zeros(4_000_000))  # 32 MB of zeros in a small file
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="declares 32,000,128 bytes"):
            tio.load_npz(path, max_bytes=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"peak {peak} bytes"


def test_deeply_nested_metadata_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.npz"
    text = ("[" * 100_000 + "]" * 100_000).encode()
    np.savez(path, __metadata__=np.frombuffer(text, dtype=np.uint8))
    with pytest.raises(ValueError, match="not valid JSON"):
        tio.load_npz(path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


# ------------------------------------------------------------ hostile checkpoints, end to end
SMALL = ["--hidden", "4", "--chunk", "8", "--batch", "2", "--quiet", "--checkpoint-every", "0"]


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> Path:
    from tinygrad_rnn.cli import main

    path = tmp_path_factory.mktemp("good") / "c.npz"
    assert main(["train", *SMALL, "--model", "lstm", "--steps", "2", "--checkpoint",
                 str(path)]) == 0
    return path


def _args(meta, **values):
    meta["config"]["args"].update(values)


def _array(arrays, name, value):
    arrays[name] = value


def _entry(skeleton, key):
    """The value under `key` of a dict in the checkpoint's JSON skeleton ({"__dict__": [...]})."""
    return next(v for k, v in skeleton["__dict__"] if k == key)


def _set(skeleton, key, value):
    pairs = skeleton["__dict__"]
    assert any(k == key for k, _ in pairs), (key, pairs)
    skeleton["__dict__"] = [[k, value if k == key else v] for k, v in pairs]


def _optim_lr(meta, value):  # PyTorch's layout: {"state": {...}, "param_groups": [{"lr": ...}]}
    _set(_entry(meta["optimizer"], "param_groups")[0], "lr", value)


def _optim_step(meta, value):  # the step counter of parameter 0's state
    _set(_entry(_entry(meta["optimizer"], "state"), 0), "step", value)


def _carry(arrays, meta, value):
    name = next(v["__tuple__"][0]["__array__"] for k, v in meta["train"]["__dict__"]
                if k == "carry")
    arrays[name] = value


HOSTILE = {
    "batch 0": (lambda a, m: _args(m, batch=0), "--batch must be a positive integer"),
    "negative lr": (lambda a, m: _args(m, lr=-1.0), "--lr must be a positive finite"),
    "non-numeric clip": (lambda a, m: _args(m, clip="big"), "--clip is 'big', not a number"),
    "huge hidden": (lambda a, m: (_args(m, hidden=10**9),
                                  m["config"]["model"].update(hidden_size=10**9)),
                    "needs about"),
    "string array": (lambda a, m: _array(a, "model/V", np.array([["x"] * 4])), "<U1"),
    "complex array": (lambda a, m: _array(a, "model/V", np.ones((1, 4), complex)),
                      "complex128"),
    "wrong shape": (lambda a, m: _array(a, "model/c", np.ones(3)), "needs float (1,)"),
    "carried state": (lambda a, m: _carry(a, m, np.ones((5, 4))), "needs float (2, 4)"),
    "optimizer lr": (lambda a, m: _optim_lr(m, -5.0), "optimizer's lr is -5.0"),
    "optimizer step": (lambda a, m: _optim_step(m, "x"),
                       "optimizer's step counter 'state[0].step' is 'x'"),
    "unknown array": (lambda a, m: _array(a, "train/99", np.ones(2)), "unexpected array"),
    "carried state form": (lambda a, m: _carry_form(m), "not an (h, c) pair"),
    "non-finite parameter": (lambda a, m: a["model/V"].__setitem__((0, 0), np.nan),
                             "parameters are not finite"),
    "non-finite carried state": (lambda a, m: _carry(a, m, np.full((2, 4), np.inf)),
                                 "carried state is not finite"),
}


def _carry_form(meta):  # an LSTM's (h, c) pair stored as a triple
    meta["train"]["__dict__"] = [[k, {"__tuple__": v["__tuple__"] * 2} if k == "carry" else v]
                                 for k, v in meta["train"]["__dict__"]]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_values_in_a_checkpoint_give_one_clear_line_and_exit_2(good_checkpoint, tmp_path,
                                                                       capsys, name):
    from tinygrad_rnn.cli import main

    arrays, meta = tio.load_npz(good_checkpoint)
    edit, message = HOSTILE[name]
    edit(arrays, meta)
    path = tmp_path / "hostile.npz"
    tio.save_npz(path, arrays, meta)
    capsys.readouterr()
    code = main(["train", "--resume", str(path), "--quiet", "--steps", "3"])
    err = capsys.readouterr().err
    assert code == 2 and "this is a bug" not in err and err.count("\n") == 1, err
    assert message in err, err


def test_a_checkpoint_with_a_huge_member_is_refused_before_it_is_decompressed(good_checkpoint,
                                                                              tmp_path, capsys):
    from tinygrad_rnn.cli import main

    arrays, meta = tio.load_npz(good_checkpoint)
    arrays["model/V"] = np.zeros((2000, 4000))  # 64 MB of zeros: a small file
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for key, value in {**arrays, tio.METADATA_KEY: np.frombuffer(
                __import__("json").dumps(meta).encode(), dtype=np.uint8)}.items():
            buf = stdio.BytesIO()
            np.save(buf, value)
            z.writestr(key + ".npy", buf.getvalue())
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        code = main(["sample", str(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2 and "(2000, 4000)" in capsys.readouterr().err
    assert peak < 20_000_000, f"peak {peak} bytes"


# ------------------------------------------------------------- the command line, end to end
def _cli(capsys, *argv: str) -> tuple[int, str]:
    from tinygrad_rnn.cli import main

    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_a_file_that_appears_while_training_is_not_overwritten(tmp_path, monkeypatch, capsys):
    from tinygrad_rnn.cli.trainer import Trainer

    path = tmp_path / "c.npz"
    original = Trainer.train_step

    def train_step(self):
        if self.step == 2:
            path.write_text("someone else's file")
        return original(self)

    monkeypatch.setattr(Trainer, "train_step", train_step)
    code, err = _cli(capsys, "train", *SMALL, "--steps", "4", "--checkpoint", str(path))
    assert code == 1 and "created or changed by someone else" in err, err
    assert path.read_text() == "someone else's file" and _temporaries(tmp_path) == []


def test_a_second_run_on_the_same_checkpoint_fails_clearly(tmp_path, capsys):
    path = tmp_path / "c.npz"
    with tio.lock(path):  # what a first run holds while it trains
        code, err = _cli(capsys, "train", *SMALL, "--steps", "2", "--checkpoint", str(path))
    assert code == 2 and "another run is writing" in err, err
    assert not path.exists()


def test_concurrent_runs_on_one_path_leave_one_whole_checkpoint(tmp_path):
    path = tmp_path / "c.npz"
    argv = [sys.executable, "-m", "tinygrad_rnn", "train", *SMALL, "--steps", "60",
            "--checkpoint", str(path)]
    runs = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [(r.wait(timeout=120), r.stderr.read()) for r in runs]
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    failed = next(err for code, err in results if code != 0)
    assert "another run is writing" in failed or "created or changed by someone else" in failed \
        or "already exists" in failed, failed
    assert load_checkpoint(path).train["step"] == 60


@pytest.mark.parametrize("argv, message", [
    (["--checkpoint", ""], "--checkpoint is empty"),
    (["--checkpoint", "/proc/x.npz"], "cannot write in the folder /proc"),
    (["--checkpoint", "/dev/null", "--force"], "only replaces regular files"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum only applies to --optimizer sgd"),
    (["--hidden", "99999999999999999999"], "needs about"),
    (["--resume", "/dev/zero"], "not a regular file"),
    (["--text-file", "/dev/zero"], "not a regular file"),
    (["--csv", "/dev/zero", "--column", "0"], "not a regular file"),
])
def test_unusable_outputs_and_inputs_are_refused_before_training(capsys, argv, message):
    code, err = _cli(capsys, "train", *SMALL, "--steps", "1", *argv)
    assert code == 2 and message in err and err.count("\n") == 1, err
    if "--hidden" in argv:  # a new run: no checkpoint to blame
        assert "checkpoint" not in err, err


# ---------------------------------------------------------------------------------- demo
def test_ctrl_c_in_demo_leaves_no_partial_output(tmp_path, monkeypatch, capsys):
    from tinygrad_rnn.cli import cmd_demo
    from tinygrad_rnn.cli.trainer import Trainer

    mine = tmp_path / "notes.txt"
    mine.write_text("not the demo's")

    def ctrl_c(*args, **kwargs):  # Ctrl-C after the checkpoint and the graphs were written
        raise KeyboardInterrupt

    monkeypatch.setattr(cmd_demo, "_flow", ctrl_c)
    code, err = _cli(capsys, "demo", "--quick", "--quiet", "--out", str(tmp_path))
    assert code == 130 and "removed the" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    monkeypatch.undo()

    original = Trainer.train_step

    def train_step(self):  # Ctrl-C during training: the flag, then the loop stops and saves
        result = original(self)
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(Trainer, "train_step", train_step)
    code, err = _cli(capsys, "demo", "--quick", "--quiet", "--out", str(tmp_path))
    assert code == 130 and "removed the 1 file" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_demo_never_overwrites_a_dot_file_without_force(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    dot = tmp_path / "unrolled_op.dot"
    dot.write_text("mine")
    code, err = _cli(capsys, "demo", "--quick", "--quiet", "--out", str(tmp_path))
    assert code == 2 and "unrolled_op.dot" in err and dot.read_text() == "mine", err
    assert not (tmp_path / "demo_model.npz").exists()


def test_demo_checks_again_at_write_time(tmp_path, monkeypatch, capsys):
    from tinygrad_rnn.cli import cmd_demo

    original = cmd_demo._gradcheck

    def gradcheck_then_someone_writes(model, task):
        (tmp_path / "unrolled_cell.svg").write_text("appeared meanwhile")
        return original(model, task)

    monkeypatch.setattr(cmd_demo, "_gradcheck", gradcheck_then_someone_writes)
    code, err = _cli(capsys, "demo", "--quick", "--quiet", "--out", str(tmp_path))
    assert code == 2 and "appeared while this command ran" in err, err
    assert (tmp_path / "unrolled_cell.svg").read_text() == "appeared meanwhile"


def test_an_unwritable_or_empty_output_folder_is_refused_before_the_demo_trains(capsys):
    code, err = _cli(capsys, "demo", "--quick", "--quiet", "--out", "/proc/demo-out")
    assert code == 2 and "cannot write in the folder /proc/demo-out" in err, err
    code, err = _cli(capsys, "demo", "--quick", "--quiet", "--out", "")
    assert code == 2 and "--out is empty" in err, err


def test_counts_are_printed_with_the_right_plural(tmp_path, capsys):
    from tinygrad_rnn.cli import main

    assert main(["train", *SMALL, "--steps", "1", "--checkpoint", str(tmp_path / "c.npz")]) == 0
    out, err = capsys.readouterr()
    assert "trained 1 step (" in out and "; 1 step" in err and "36 chunks of" in err


def test_a_second_demo_into_the_same_folder_fails_at_once(tmp_path, capsys):
    with tio.lock(tmp_path / "demo_model.npz"):  # what a first demo holds while it runs
        code, err = _cli(capsys, "demo", "--quick", "--quiet", "--out", str(tmp_path))
    assert code == 2 and "another demo is writing into" in err, err
    assert list(tmp_path.iterdir()) == []


def test_kill_9_during_training_saves_then_resume_leaves_a_whole_checkpoint_and_no_debris(
        tmp_path):
    path = tmp_path / "c.npz"
    argv = [sys.executable, "-m", "tinygrad_rnn", "train", "--hidden", "200", "--chunk", "8",
            "--batch", "2", "--steps", "100000", "--checkpoint-every", "1", "--checkpoint",
            str(path)]
    rng = np.random.default_rng(1)
    for attempt in range(3):
        extra = ["--resume", str(path)] if attempt else []
        child = subprocess.Popen(argv + extra, cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(float(rng.uniform(0.3, 0.8)))  # saving every step: likely mid-save
        child.send_signal(signal.SIGKILL)
        child.wait()
        step = load_checkpoint(path).train["step"]  # whole, and readable
        assert step >= 1
    from tinygrad_rnn.cli import main

    assert main(["train", "--resume", str(path), "--quiet", "--steps", str(step + 1)]) == 0
    assert load_checkpoint(path).train["step"] == step + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"], "debris survived"


def test_a_fifo_as_input_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    for flags in (["--text-file", str(fifo)], ["--csv", str(fifo), "--column", "0"]):
        done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "train", *flags, "--quiet",
                               "--checkpoint", str(tmp_path / "c.npz")], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "not a regular file" in done.stderr, done.stderr
