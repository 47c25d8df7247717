"""Checkpoints: atomic writes, pickle-free loading, clear refusals, and exact resume.

The resume tests run the real `train` subcommand in-process (cli.main) on small settings: a
run that is stopped (by --steps or by Ctrl-C) and resumed from its checkpoint must end with
bit-for-bit the same parameters and optimizer state as a run that never stopped.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import io
from tinygrad_rnn.checkpoint import (
    Checkpoint,
    CheckpointError,
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from tinygrad_rnn.cli import main
from tinygrad_rnn.cli.trainer import Trainer

SMALL = ["--hidden", "4", "--chunk", "8", "--batch", "2", "--quiet", "--checkpoint-every", "3"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("tinygrad-rnn: error: ")]
    assert code == expected_code and "Traceback" not in err, err
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"


def _ckpt(seed: int = 0) -> Checkpoint:
    rng = np.random.default_rng(seed)
    return Checkpoint(config={"model": {"kind": "rnn"}, "args": {}, "task": {}},
                      model={"W": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)},
                      optimizer={"optimizer": "Adam", "lr": 0.01, "betas": [0.9, 0.999],
                                 "state.0.step": 4, "state.0.exp_avg": rng.standard_normal(3)},
                      train={"step": 7, "rng": np.random.default_rng(1).bit_generator.state,
                             "carry": (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))})


def _same_arrays(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), f"{key} differs"


# ------------------------------------------------------------------------- format and refusal
def test_checkpoint_round_trip_keeps_arrays_ints_tuples_and_big_rng_ints(tmp_path):
    path = tmp_path / "c.npz"
    original = _ckpt()
    save_checkpoint(path, original)
    loaded = load_checkpoint(path)
    _same_arrays(loaded.model, original.model)
    assert loaded.optimizer["state.0.step"] == 4 and loaded.optimizer["betas"] == [0.9, 0.999]
    key = "state.0.exp_avg"
    assert np.array_equal(loaded.optimizer[key], original.optimizer[key])
    assert loaded.train["rng"] == original.train["rng"], "the 128-bit PCG64 state must survive"
    assert isinstance(loaded.train["carry"], tuple) and len(loaded.train["carry"]) == 2


def test_flatten_state_keeps_integer_dict_keys_and_nesting():
    arrays: dict = {}
    state = {0: {"m": np.ones(2)}, "k": (1, [2.5, None])}
    back = unflatten_state(flatten_state(state, "p", arrays), arrays)
    assert list(back) == [0, "k"] and back["k"] == (1, [2.5, None])
    assert np.array_equal(back[0]["m"], np.ones(2))


def test_failed_write_leaves_the_old_checkpoint_intact_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, _ckpt(0))
    before = path.read_bytes()

    def half_write(f, **arrays):  # writes some bytes, then the "disk" fails
        f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io.np, "savez", half_write)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, _ckpt(1))
    monkeypatch.undo()
    assert path.read_bytes() == before, "the old checkpoint must be untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"], "a temp file was left behind"
    _same_arrays(load_checkpoint(path).model, _ckpt(0).model)


def test_cli_reports_a_failed_checkpoint_write_in_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "c.npz"
    assert main(["train", *SMALL, "--steps", "2", "--checkpoint", str(path)]) == 0
    before = path.read_bytes()
    capsys.readouterr()

    def failing(f, **arrays):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io.np, "savez", failing)
    code = main(["train", *SMALL, "--steps", "4", "--checkpoint", str(path), "--force"])
    err = capsys.readouterr().err
    assert code == 1 and "could not write the checkpoint" in err and "No space left" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2  # announce + error
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable checkpoint"),
    (b"\x00\x01garbage that is not a zip file", "not a readable checkpoint"),
])
def test_corrupt_files_are_refused_with_one_line(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, _ckpt())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_foreign_npz_and_pickles_are_refused(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W=np.ones(3))
    with pytest.raises(CheckpointError, match="not a tinygrad-rnn checkpoint"):
        load_checkpoint(foreign)
    pickled = tmp_path / "pickle.npz"
    np.savez(pickled, W=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(pickled)


def test_checkpoint_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    io.save_npz(path, {"model/W": np.ones(2)}, {"format": "tinygrad_rnn.checkpoint",
                                                "version": 99, "model": ["W"], "config": {}})
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)


# ------------------------------------------------------------------------------- exact resume
def _final_state(path: Path) -> tuple[dict, dict]:
    ckpt = load_checkpoint(path)
    optimizer = {f"{i}.{k}": v for i, entry in ckpt.optimizer["state"].items()
                 for k, v in entry.items()}
    return ckpt.model, optimizer


def _press_ctrl_c_after(monkeypatch, step: int) -> None:
    """Send SIGINT to this process right after training step `step` completes."""
    original = Trainer.train_step

    def train_step(self):
        result = original(self)
        if self.step == step:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(Trainer, "train_step", train_step)


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "adagrad"])
def test_ctrl_c_then_the_printed_hint_ends_bit_identical_to_an_uninterrupted_run(
        tmp_path, monkeypatch, capsys, model, optimizer):
    args = ["train", *SMALL, "--model", model, "--optimizer", optimizer, "--steps", "9",
            "--seed", "5"]
    full, cut = tmp_path / "full.npz", tmp_path / "cut.npz"
    assert main([*args, "--checkpoint", str(full)]) == 0
    with monkeypatch.context() as m:
        _press_ctrl_c_after(m, 4)
        assert main([*args, "--checkpoint", str(cut)]) == 130
    out = capsys.readouterr().out
    assert "interrupted at step 4" in out and load_checkpoint(cut).train["step"] == 4
    hint = out.split("resume with: ")[1].split()
    assert hint[:3] == ["tinygrad-rnn", "train", "--resume"], out
    assert main([*hint[1:], "--quiet"]) == 0  # the hint, as printed: no --steps
    assert "resuming at step 4/9" in capsys.readouterr().err
    assert load_checkpoint(cut).train["step"] == 9
    (params_a, opt_a), (params_b, opt_b) = _final_state(full), _final_state(cut)
    _same_arrays(params_a, params_b)
    _same_arrays(opt_a, opt_b)


def test_steps_then_resume_with_a_larger_target_equals_one_run(tmp_path, capsys):
    args = ["train", *SMALL, "--epochs", "3", "--seed", "2"]
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    assert main([*args, "--checkpoint", str(full)]) == 0
    assert main([*args, "--steps", "7", "--checkpoint", str(part)]) == 0
    assert main(["train", "--resume", str(part), "--quiet"]) == 0  # its target: 7, done
    assert load_checkpoint(part).train["step"] == 7
    assert main(["train", "--resume", str(part), "--epochs", "3", "--quiet"]) == 0
    assert load_checkpoint(part).train["step"] == load_checkpoint(full).train["step"]
    _same_arrays(_final_state(full)[0], _final_state(part)[0])
    _same_arrays(_final_state(full)[1], _final_state(part)[1])


def test_a_target_below_the_step_reached_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "c.npz"
    assert main(["train", *SMALL, "--steps", "5", "--checkpoint", str(path)]) == 0
    before = path.read_bytes()
    capsys.readouterr()
    code = main(["train", "--resume", str(path), "--quiet", "--steps", "3"])
    assert_one_line_error(code, capsys.readouterr().err, 2, "already at step 5",
                          "past the target of 3")
    assert path.read_bytes() == before
    # --epochs is a total too: one epoch here is 36 chunks, so --epochs 1 trains on to 36
    assert main(["train", "--resume", str(path), "--quiet", "--epochs", "1"]) == 0
    assert load_checkpoint(path).train["step"] == 36


def test_resume_may_extend_epochs_but_refuses_changed_settings(tmp_path, capsys):
    path = tmp_path / "c.npz"
    assert main(["train", *SMALL, "--steps", "2", "--checkpoint", str(path)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(path), "--hidden", "9", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--hidden 9 differs from the checkpoint's 4" in err
    assert main(["train", "--resume", str(path), "--series", "sunspots"]) == 2
    assert "drop --series" in capsys.readouterr().err


# --------------------------------------------------- refusals through the command line
def test_existing_checkpoint_is_not_overwritten_without_force(tmp_path, capsys):
    ckpt = tmp_path / "c.npz"
    assert run(capsys, "train", *SMALL, "--steps", "1", "--checkpoint", str(ckpt))[0] == 0
    before = ckpt.read_bytes()
    code, _, err = run(capsys, "train", *SMALL, "--steps", "1", "--checkpoint", str(ckpt))
    assert_one_line_error(code, err, 2, "already exists", "--force")
    assert ckpt.read_bytes() == before
    assert run(capsys, "train", *SMALL, "--steps", "1", "--checkpoint", str(ckpt),
               "--force")[0] == 0


def test_checkpoint_whose_shapes_do_not_match_its_model_is_refused(tmp_path, capsys):
    ckpt = tmp_path / "c.npz"
    assert run(capsys, "train", *SMALL, "--steps", "1", "--checkpoint", str(ckpt))[0] == 0
    arrays, meta = io.load_npz(ckpt)
    meta["config"]["model"]["hidden_size"] = 6  # the arrays still have H = 4
    io.save_npz(ckpt, arrays, meta)
    code, _, err = run(capsys, "train", "--resume", str(ckpt))
    assert_one_line_error(code, err, 2, "model description disagrees with its settings")
    meta["config"]["args"]["hidden"] = 6
    io.save_npz(ckpt, arrays, meta)
    code, _, err = run(capsys, "train", "--resume", str(ckpt))
    assert_one_line_error(code, err, 2, "(4, ", "but the model it describes needs float (6, ")


def test_sample_refuses_a_series_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "c.npz"
    assert run(capsys, "train", *SMALL, "--steps", "1", "--checkpoint", str(ckpt))[0] == 0
    code, _, err = run(capsys, "sample", str(ckpt))
    assert_one_line_error(code, err, 2, "sample needs a text model")


def test_resume_refuses_data_that_changed(tmp_path, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text("v\n" + "".join(f"{np.sin(i / 3):.3f}\n" for i in range(80)))
    ckpt = tmp_path / "c.npz"
    assert run(capsys, "train", "--csv", str(csv), "--column", "v", *SMALL, "--steps", "1",
               "--checkpoint", str(ckpt))[0] == 0
    csv.write_text("v\n" + "".join(f"{np.cos(i / 3):.3f}\n" for i in range(80)))
    code, _, err = run(capsys, "train", "--resume", str(ckpt), "--csv", str(csv))
    assert_one_line_error(code, err, 2, "changed since the checkpoint")


def test_resume_never_opens_a_path_stored_in_the_checkpoint(tmp_path, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text("v\n" + "".join(f"{np.sin(i / 3):.3f}\n" for i in range(80)))
    ckpt = tmp_path / "c.npz"
    assert run(capsys, "train", "--csv", str(csv), "--column", "v", *SMALL, "--steps", "1",
               "--checkpoint", str(ckpt))[0] == 0
    arrays, meta = io.load_npz(ckpt)
    meta["config"]["task"]["source"]["path"] = "/etc/passwd"  # a hostile checkpoint
    io.save_npz(ckpt, arrays, meta)
    code, _, err = run(capsys, "train", "--resume", str(ckpt))
    assert_one_line_error(code, err, 2, "name it again with --csv FILE")
    assert "passwd" not in err and "root" not in err
    code, _, err = run(capsys, "train", "--resume", str(ckpt), "--csv", str(csv), "--quiet",
                       "--steps", "2")
    assert code == 0, err
