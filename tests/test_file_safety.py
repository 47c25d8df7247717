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
