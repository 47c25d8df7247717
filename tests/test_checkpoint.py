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


# ----------------------------------------------------------- checkpoints of older versions
def _old_format(path: Path, flat: bool = True, drop_b_hn: bool = False, **hyper) -> None:
    """Rewrite a checkpoint as older versions wrote it: the optimizer in the flat layout
    {"optimizer": class, hyperparameter: value, "state.{i}.{buffer}": array} (the flat Adagrad
    counted no steps), and/or a GRU without its hidden bias core.b_hn (the last parameter).
    `hyper` overrides stored hyperparameters (e.g. the former Adagrad eps)."""
    from tinygrad_rnn import optim

    ckpt = load_checkpoint(path)
    state, groups = ckpt.optimizer["state"], ckpt.optimizer["param_groups"]
    if drop_b_hn:
        index = list(ckpt.model).index("core.b_hn")
        assert index == len(ckpt.model) - 1
        del ckpt.model["core.b_hn"]
        state.pop(index, None)
        groups[-1]["params"].remove(index)
    for group in groups:
        group.update(hyper)
    if flat:
        name = ckpt.config["args"]["optimizer"]
        cls = {"adam": optim.Adam, "sgd": optim.SGD, "adagrad": optim.Adagrad}[name]
        old: dict = {"optimizer": cls.__name__}
        old.update({k: list(v) if isinstance(v, tuple) else v for k, v in groups[0].items()
                    if k in cls.legacy_keys})
        old.update({f"state.{i}.{buffer}": value for i, entry in state.items()
                    for buffer, value in entry.items()
                    if not (name == "adagrad" and buffer == "step")})
        ckpt.optimizer = old
    save_checkpoint(path, ckpt)


def _buffers(path: Path, skip_step: bool) -> dict:
    return {k: v for k, v in _final_state(path)[1].items()
            if not (skip_step and k.endswith(".step"))}


@pytest.mark.parametrize("model", ["rnn", "lstm"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "adagrad"])
def test_a_checkpoint_with_the_old_flat_optimizer_layout_resumes_exactly(tmp_path, capsys,
                                                                         model, optimizer):
    args = ["train", *SMALL, "--model", model, "--optimizer", optimizer, "--seed", "3"]
    if optimizer == "sgd":
        args += ["--momentum", "0.9"]  # so that SGD has buffers to carry over
    full, old = tmp_path / "full.npz", tmp_path / "old.npz"
    assert main([*args, "--steps", "9", "--checkpoint", str(full)]) == 0
    assert main([*args, "--steps", "4", "--checkpoint", str(old)]) == 0
    _old_format(old)
    assert "state" not in load_checkpoint(old).optimizer  # really the flat layout
    capsys.readouterr()
    code, _, err = run(capsys, "train", "--resume", str(old), "--steps", "9", "--quiet")
    assert code == 0 and "resuming at step 4/9" in err and "note" not in err, err
    _same_arrays(_final_state(full)[0], _final_state(old)[0])
    # the flat Adagrad counted no steps, so its counters restart at 0 (lr_decay is 0: unused)
    _same_arrays(_buffers(full, optimizer == "adagrad"), _buffers(old, optimizer == "adagrad"))
    assert "param_groups" in load_checkpoint(old).optimizer  # saved in the new layout


@pytest.mark.parametrize("flat", [True, False])
def test_an_old_adagrad_run_keeps_its_former_default_eps_across_resumes(tmp_path, capsys, flat):
    path = tmp_path / "c.npz"
    args = ["train", *SMALL, "--optimizer", "adagrad"]
    assert main([*args, "--steps", "2", "--checkpoint", str(path)]) == 0
    _old_format(path, flat=flat, eps=1e-8)  # Adagrad's default eps before it became 1e-10
    for steps in ("4", "6"):  # the second resume reads the file the first one wrote
        code, _, err = run(capsys, "train", "--resume", str(path), "--steps", steps, "--quiet")
        assert code == 0, err
        assert load_checkpoint(path).optimizer["param_groups"][0]["eps"] == 1e-8


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("optimizer, key, value, shown", [
    ("adagrad", "eps", 1e-3, "eps is 0.001, but its settings give 1e-10"),
    ("adam", "eps", 1e-10, "eps is 1e-10, but its settings give 1e-08"),  # Adagrad's only
    ("adam", "betas", (0.5, 0.5), "betas is (0.5, 0.5), but its settings give (0.9, 0.999)"),
    ("sgd", "weight_decay", 0.5, "weight_decay is 0.5, but its settings give 0.0"),
])
def test_other_stored_hyperparameters_must_equal_the_optimizers_own(tmp_path, capsys, flat,
                                                                     optimizer, key, value,
                                                                     shown):
    path = tmp_path / "c.npz"
    assert main(["train", *SMALL, "--optimizer", optimizer, "--steps", "2", "--checkpoint",
                 str(path)]) == 0
    _old_format(path, flat=flat, **{key: value})
    code, _, err = run(capsys, "train", "--resume", str(path), "--steps", "3", "--quiet")
    assert_one_line_error(code, err, 2, "the checkpoint is refused: its optimizer's " + shown)


def _old_gru_outputs(params: dict, x: np.ndarray) -> np.ndarray:
    """The GRU as the library computed it before b_hn: n = tanh(x U_nᵀ + b_n + r ⊙ (h W_nᵀ))."""
    U, W, b = params["core.U"], params["core.W"], params["core.b"]
    H = W.shape[1]
    h, ys = np.zeros((x.shape[1], H)), []
    for x_t in x:
        gx, gh = x_t @ U.T + b, h @ W.T
        r = 1 / (1 + np.exp(-(gx[:, :H] + gh[:, :H])))
        z = 1 / (1 + np.exp(-(gx[:, H:2 * H] + gh[:, H:2 * H])))
        n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        ys.append(h @ params["V"].T + params["c"])
    return np.stack(ys)


def test_an_old_gru_checkpoint_loads_with_b_hn_zero_which_is_exactly_the_old_model(tmp_path,
                                                                                  capsys):
    from tinygrad_rnn import Tensor, no_grad
    from tinygrad_rnn.cli.runs import load_model, open_checkpoint

    path = tmp_path / "c.npz"
    assert main(["train", *SMALL, "--model", "gru", "--steps", "3", "--checkpoint",
                 str(path)]) == 0
    _old_format(path, drop_b_hn=True)
    assert "core.b_hn" not in load_checkpoint(path).model
    capsys.readouterr()
    ckpt = open_checkpoint(path)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "predates the GRU's hidden bias core.b_hn" in err, err
    assert np.array_equal(ckpt.model["core.b_hn"], np.zeros(4))
    model = load_model(ckpt, path)
    x = np.random.default_rng(0).standard_normal((6, 3, 1))
    with no_grad():
        ys = model(Tensor(x))[0].data
    np.testing.assert_allclose(ys, _old_gru_outputs(ckpt.model, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "adagrad"])
def test_train_resume_of_an_old_gru_checkpoint_migrates_it_and_trains_on(tmp_path, capsys,
                                                                          flat, optimizer):
    path = tmp_path / "c.npz"
    args = ["train", *SMALL, "--model", "gru", "--optimizer", optimizer]
    assert main([*args, "--steps", "3", "--checkpoint", str(path)]) == 0
    _old_format(path, flat=flat, drop_b_hn=True)
    old = load_checkpoint(path)
    code, _, err = run(capsys, "train", "--resume", str(path), "--steps", "5", "--quiet")
    assert code == 0 and "resuming at step 3/5" in err, err
    assert [line for line in err.splitlines() if "note:" in line] == [
        f"tinygrad-rnn: note: {path} predates the GRU's hidden bias core.b_hn; it is set to 0, "
        "which gives exactly the saved model (training goes on to learn it)"]
    new = load_checkpoint(path)
    assert new.train["step"] == 5 and sorted(new.model) == sorted([*old.model, "core.b_hn"])
    assert np.any(new.model["core.b_hn"] != 0), "b_hn is trained from 0 on"
    if optimizer != "sgd":  # every parameter has a buffer now, b_hn's counted from its start
        steps = {i: e["step"] for i, e in new.optimizer["state"].items()}
        assert steps == {0: 5, 1: 5, 2: 5, 3: 5, 4: 5, 5: 2} if optimizer == "adam" or not flat \
            else steps == {0: 2, 1: 2, 2: 2, 3: 2, 4: 2, 5: 2}
    code, _, err = run(capsys, "train", "--resume", str(path), "--steps", "6", "--quiet")
    assert code == 0 and "note" not in err, err  # written in the current format


def test_an_old_gru_checkpoint_with_optimizer_state_for_b_hn_is_refused_in_one_line(tmp_path,
                                                                                   capsys):
    path = tmp_path / "c.npz"
    assert main(["train", *SMALL, "--model", "gru", "--steps", "3", "--checkpoint",
                 str(path)]) == 0
    ckpt = load_checkpoint(path)
    del ckpt.model["core.b_hn"]  # but the optimizer still has b_hn's buffers (parameter 5)
    save_checkpoint(path, ckpt)
    capsys.readouterr()
    code, _, err = run(capsys, "train", "--resume", str(path), "--steps", "5", "--quiet")
    assert_one_line_error(code, err, 2, "is refused: its optimizer state has an unexpected "
                          "array \"state[5]['exp_avg']\"")
    del ckpt.optimizer["state"][5]  # no buffers, but b_hn's number is still listed
    save_checkpoint(path, ckpt)
    code, _, err = run(capsys, "train", "--resume", str(path), "--steps", "5", "--quiet")
    assert_one_line_error(code, err, 2, "is refused: it has no core.b_hn, but its optimizer "
                          "lists parameter 5")
    assert "note" not in err, err
