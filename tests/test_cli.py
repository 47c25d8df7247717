"""The command line, end to end on small settings: every subcommand runs, writes valid files,
and every bad input gets one clear line on stderr with a nonzero exit code, never a traceback.

Commands run in-process through `cli.main([...])`; one subprocess proves the entry point.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import io
from tinygrad_rnn.cli import main
from tinygrad_rnn.cli.progress import ProgressBar

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ["--hidden", "4", "--chunk", "8", "--batch", "2", "--quiet", "--checkpoint-every", "0"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected_code, f"exit code {code}, expected {expected_code}; stderr: {err}"
    assert "Traceback" not in err, err
    errors = [line for line in lines if line.startswith("tinygrad-rnn: error: ")]
    assert len(errors) == 1, f"expected exactly one error line, got: {lines}"
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"


def assert_valid_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path} is not a PNG"


def assert_valid_svg(path: Path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg"), f"{path}: root element is {root.tag}"


# ---------------------------------------------------------------------------- entry points
def test_python_dash_m_entry_point_prints_help_with_every_command():
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "--help"], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    for command in ("demo", "train", "sample", "gradcheck", "render", "flow"):
        assert command in done.stdout, f"{command} missing from --help"


def test_no_command_prints_help_and_returns_usage_code(capsys):
    code, out, _ = run(capsys)
    assert code == 2 and "COMMAND" in out


# ----------------------------------------------------------------------------------- train
def test_train_on_the_builtin_series_beats_nothing_and_reports_persistence(tmp_path, capsys):
    ckpt = tmp_path / "c.npz"
    code, out, err = run(capsys, "train", *SMALL, "--epochs", "2", "--checkpoint", str(ckpt))
    assert code == 0, err
    assert "persistence" in out and "held-out test" in out and f"checkpoint: {ckpt}" in out
    assert ckpt.exists()


@pytest.mark.parametrize("model, optimizer", [("lstm", "sgd"), ("gru", "adagrad")])
def test_train_on_a_csv_column_with_each_model_and_optimizer(tmp_path, capsys, model,
                                                             optimizer):
    csv = tmp_path / "data.csv"
    t = np.arange(120)
    csv.write_text("month,temp\n" + "".join(f"{i},{np.sin(i / 5):.4f}\n" for i in t))
    code, out, err = run(capsys, "train", "--csv", str(csv), "--column", "temp", *SMALL,
                         "--model", model, "--optimizer", optimizer, "--epochs", "1",
                         "--checkpoint", str(tmp_path / "c.npz"))
    assert code == 0, err
    assert "data.csv:temp" in out and "persistence" in out


def test_a_csv_column_given_as_a_number_is_a_0_based_index(tmp_path, capsys):
    csv = tmp_path / "data.csv"
    csv.write_text("month,temp\n" + "".join(f"{i},{np.sin(i / 5):.4f}\n" for i in range(120)))
    for column in ("1", "-1"):
        code, out, err = run(capsys, "train", "--csv", str(csv), "--column", column, *SMALL,
                             "--steps", "1", "--checkpoint", str(tmp_path / f"c{column}.npz"))
        assert code == 0, err
    csv.write_text("month,temp\n1,2\n2,3,4\n")
    code, _, err = run(capsys, "train", "--csv", str(csv), "--column", "temp", *SMALL)
    assert_one_line_error(code, err, 2, "line 3 has 3 fields but the header has 2")


def test_progress_shows_loss_and_gradient_norm(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--hidden", "4", "--chunk", "8", "--batch", "2",
                       "--steps", "4", "--checkpoint", str(tmp_path / "c.npz"))
    assert code == 0
    assert "loss " in err and "|grad| " in err and "4/4" in err


class Tty:
    """A stream that says it is a terminal and keeps what the progress bar wrote."""

    text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


def test_progress_bar_redraws_in_place_on_a_terminal():
    stream = Tty()
    bar = ProgressBar(3, stream=stream, min_interval=0.0)
    for step in (1, 2, 3):
        bar.update(step, loss=1.0 / step, grad_norm=2.0)
    bar.close()
    assert stream.text.count("\r") == 3 and stream.text.endswith("\n")
    assert "3/3" in stream.text and "ETA" in stream.text


def test_progress_lines_never_wrap_a_narrow_terminal(monkeypatch):
    import os as _os

    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: _os.terminal_size((40, 20)))

    stream = Tty()
    bar = ProgressBar(1000, stream=stream, min_interval=0.0)
    for step in (1, 2, 1000):
        bar.update(step, loss=123.456, grad_norm=7.89)
    assert all(len(part) <= 39 for part in stream.text.replace("\n", "\r").split("\r")), \
        stream.text


def test_train_text_then_sample_generates_text_from_the_vocabulary(tmp_path, capsys):
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat. " * 40, encoding="utf-8")
    ckpt = tmp_path / "text.npz"
    code, out, err = run(capsys, "train", "--text-file", str(text), *SMALL, "--steps", "3",
                         "--checkpoint", str(ckpt))
    assert code == 0, err
    assert "nats/char" in out and "sample:" in out
    code, out, err = run(capsys, "sample", str(ckpt), "--length", "40", "--prime", "the ")
    assert code == 0, err
    generated = out.rstrip("\n")
    assert generated.startswith("the ") and len(generated) == 44
    assert set(generated) <= set("the cat sat on the mat."), generated


def test_sample_of_a_model_with_non_finite_outputs_says_so(tmp_path, capsys):
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat. " * 40, encoding="utf-8")
    ckpt = tmp_path / "text.npz"
    assert run(capsys, "train", "--text-file", str(text), *SMALL, "--steps", "1",
               "--checkpoint", str(ckpt))[0] == 0
    arrays, meta = io.load_npz(ckpt)
    arrays["model/V"][0, 0] = np.nan
    io.save_npz(ckpt, arrays, meta)
    code, _, err = run(capsys, "sample", str(ckpt), "--length", "5")
    assert_one_line_error(code, err, 2, "outputs became NaN after 0 generated characters")


def test_train_builtin_text_runs(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--text", *SMALL, "--steps", "2",
                         "--checkpoint", str(tmp_path / "c.npz"))
    assert code == 0, err
    assert "alice" in out


# ------------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_gradcheck_passes_for_every_model(capsys, model):
    code, out, err = run(capsys, "gradcheck", "--model", model, "--steps", "3", "--hidden", "2")
    assert code == 0, out + err
    assert "PASS" in out


def test_gradcheck_of_one_step_says_so_in_the_singular(capsys):
    code, out, _ = run(capsys, "gradcheck", "--steps", "1", "--batch", "1")
    assert code == 0 and "dE/dx_t at the only step match" in out, out


def test_gradcheck_with_cross_entropy_passes(capsys):
    code, out, _ = run(capsys, "gradcheck", "--loss", "ce", "--output", "3", "--steps", "3")
    assert code == 0 and "PASS" in out


def test_gradcheck_failure_names_parameter_element_and_time_step(capsys):
    code, out, _ = run(capsys, "gradcheck", "--steps", "5", "--inject-bug", "2")
    assert code == 1, out
    assert "FAIL" in out
    named = [line for line in out.splitlines() if line.strip().startswith(("W[", "U[", "b["))]
    assert named, f"no parameter element named in the report:\n{out}"
    assert "time step: t=2 of T=5" in out, out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("per time step"))
    table = " ".join(line for line in lines[start + 1:] if line.startswith("  t="))
    marked = {int(t): star == "*" for t, star in re.findall(r"t=(\d+): \S+?(\*?)(?:\s|$)", table)}
    assert marked == {0: True, 1: True, 2: True, 3: False, 4: False}, table


def test_gradcheck_wraps_the_per_step_table_and_says_what_random_mode_checked(capsys):
    code, out, _ = run(capsys, "gradcheck", "--steps", "30", "--mode", "random")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100, out
    assert "one random direction" in out and "all 26 parameter elements match" not in out


def test_gradcheck_names_a_step_size_too_small_to_resolve(capsys):
    code, out, _ = run(capsys, "gradcheck", "--eps", "1e-14")
    assert code == 1 and "likely cause: --eps 1e-14 is too small to resolve" in out, out
    code, out, _ = run(capsys, "gradcheck", "--inject-bug", "1")
    assert code == 1 and "likely cause" not in out  # a real bug is not blamed on the step
    code, out, _ = run(capsys, "gradcheck", "--eps", "1e-3", "--atol", "1e-300", "--rtol", "1e-300")
    assert code == 1 and "too small" not in out  # a large step is never called too small
    code, out, _ = run(capsys, "gradcheck", "--eps", "1e300", "--steps", "2")
    assert code == 1 and "likely cause: --eps 1e+300 is too large" in out, out


def test_gradcheck_localises_a_bug_at_the_last_step(capsys):
    code, out, _ = run(capsys, "gradcheck", "--model", "gru", "--steps", "4",
                       "--inject-bug", "3")
    assert code == 1 and "time step: t=3 of T=4" in out, out


# ----------------------------------------------------------------------------- render / flow
def test_render_writes_svg_and_png(tmp_path, capsys):
    svg = tmp_path / "g.svg"
    code, out, err = run(capsys, "render", "--steps", "3", "--hidden", "2", "--out", str(svg))
    assert code == 0, err
    assert_valid_svg(svg)
    png = tmp_path / "g"
    code, out, err = run(capsys, "render", "--steps", "3", "--view", "cell", "--format", "png",
                         "--out", str(png))
    assert code == 0, err
    assert_valid_png(tmp_path / "g.png")


def test_flow_writes_the_figure_and_prints_the_table(tmp_path, capsys):
    path = tmp_path / "flow.png"
    code, out, err = run(capsys, "flow", "--out", str(path), "--steps", "12", "--hidden", "6")
    assert code == 0, err
    assert_valid_png(path)
    assert str(path) in out and len(out.splitlines()) > 3


# ------------------------------------------------------------------------------------ demo
def test_demo_quick_writes_valid_files_and_reports_everything(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "demo", "--quick", "--quiet", "--out", str(out_dir))
    assert code == 0, out + err
    assert "persistence" in out and "PASS" in out and "demo finished" in out
    for name in ("forecast.png", "unrolled_cell.png", "unrolled_op.png", "gradient_flow.png"):
        assert_valid_png(out_dir / name)
        assert str(out_dir / name) in out, f"{name} path not printed"
    for name in ("unrolled_cell.svg", "unrolled_op.svg"):
        assert_valid_svg(out_dir / name)
    arrays, meta = io.load_npz(out_dir / "demo_model.npz")
    assert meta["config"]["model"]["kind"] == "rnn" and "model/W" in arrays
    # a second run refuses to overwrite, and --force allows it
    code, _, err = run(capsys, "demo", "--quick", "--quiet", "--out", str(out_dir))
    assert_one_line_error(code, err, 2, "already exist", "--force")


# --------------------------------------------------------------------------- bad inputs
@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "empty_csv": ("", None), "nonnumeric_csv": ("a,b\n1,2\n3,oops\n", None),
        "short_csv": ("v\n" + "".join(f"{i}\n" for i in range(10)), None),
        "medium_csv": ("v\n" + "".join(f"{i}\n" for i in range(40)), None),
        "empty_txt": ("", None), "latin1_txt": (None, "café".encode("latin-1")),
        "garbage_npz": (None, b"\x00not a zip at all"),
    }
    out = {}
    for name, (text, raw) in paths.items():
        path = tmp_path / name.replace("_csv", ".csv").replace("_txt", ".txt").replace(
            "_npz", ".npz")
        path.write_bytes(raw if raw is not None else text.encode())
        out[name] = path
    out["foreign_npz"] = tmp_path / "foreign.npz"
    np.savez(out["foreign_npz"], W=np.ones(3))
    out["pickle_npz"] = tmp_path / "pickle.npz"
    np.savez(out["pickle_npz"], W=np.array([{"a": 1}], dtype=object))
    out["dir"] = tmp_path
    return out


BAD = [
    (["train", "--csv", "{dir}/missing.csv", "--column", "a"], "does not exist"),
    (["train", "--csv", "{empty_csv}", "--column", "a"], "is empty"),
    (["train", "--csv", "{nonnumeric_csv}", "--column", "zz"], "has no column 'zz'"),
    (["train", "--csv", "{nonnumeric_csv}", "--column", "b"], "'oops'"),
    (["train", "--csv", "{short_csv}", "--column", "v"], "shorter than the chunk length"),
    (["train", "--csv", "{medium_csv}", "--column", "v", "--chunk", "8"],
     "too short for chunk 8 with batch 4"),
    (["train", "--csv", "{short_csv}"], "--csv needs --column"),
    (["train", "--column", "v"], "--column only applies to --csv"),
    (["train", "--text-file", "{latin1_txt}"], "not valid UTF-8"),
    (["train", "--text-file", "{empty_txt}"], "empty"),
    (["train", "--text-file", "{dir}/missing.txt"], "does not exist"),
    (["train", "--hidden", "0"], "--hidden: must be a positive integer, got 0"),
    (["train", "--chunk", "-5"], "--chunk: must be a positive integer"),
    (["train", "--batch", "x"], "--batch: must be an integer"),
    (["train", "--lr", "0"], "--lr: must be a positive finite number"),
    (["train", "--model", "transformer"], "invalid choice: 'transformer'"),
    (["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["train", "--series", "elnino", "--text"], "not allowed with argument"),
    (["train", "--model", "lstm", "--nonlinearity", "relu"], "only applies to --model rnn"),
    (["train", "--resume", "{garbage_npz}"], "not a readable checkpoint"),
    (["train", "--resume", "{foreign_npz}"], "not a tinygrad-rnn checkpoint"),
    (["train", "--resume", "{pickle_npz}"], "not a readable checkpoint"),
    (["train", "--resume", "{dir}/none.npz"], "does not exist"),
    (["sample", "{garbage_npz}"], "not a readable checkpoint"),
    (["sample", "{foreign_npz}"], "not a tinygrad-rnn checkpoint"),
    (["train", "--checkpoint", "{garbage_npz}/x.npz"], "is not a directory"),
    (["gradcheck", "--inject-bug", "7", "--steps", "5"], "below --steps 5"),
    (["gradcheck", "--loss", "ce", "--output", "1"], "--output 2 or more"),
    (["gradcheck", "--model", "lstm", "--nonlinearity", "relu"], "only applies to --model rnn"),
    (["gradcheck", "--hidden", "10000000"], "needs about"),
    (["render", "--out", "{dir}/g.png", "--format", "svg"], "make them agree"),
    (["flow", "--out", "{dir}/f.dot"], "must end in .png, .svg or .pdf"),
    (["nonsense"], "invalid choice: 'nonsense'"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_gets_one_clear_line_and_exit_code_2(files, capsys, argv, message):
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, 2, message)


def test_render_refuses_to_overwrite_without_force(tmp_path, capsys):
    target = tmp_path / "g.dot"
    target.write_text("mine")
    code, _, err = run(capsys, "render", "--out", str(target))
    assert_one_line_error(code, err, 2, "already exists")
    assert target.read_text() == "mine"


def test_unexpected_internal_errors_are_one_line_with_exit_code_1(monkeypatch, capsys):
    from tinygrad_rnn.cli import cmd_gradcheck

    def boom(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(cmd_gradcheck, "check_model", boom)
    monkeypatch.delenv("TINYGRAD_RNN_DEBUG", raising=False)
    code, _, err = run(capsys, "gradcheck")
    assert_one_line_error(code, err, 1, "ZeroDivisionError", "simulated bug")


def test_render_without_graphviz_writes_dot_and_says_so_in_one_line(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    code, _, err = run(capsys, "render", "--steps", "2", "--out", str(tmp_path / "g.png"))
    assert_one_line_error(code, err, 1, "`dot` program is not on PATH", "g.dot")
    assert (tmp_path / "g.dot").read_text().lstrip().startswith("digraph")


def test_demo_without_graphviz_writes_dot_files_and_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    code, out, err = run(capsys, "demo", "--quick", "--quiet", "--out", str(tmp_path))
    assert code == 0, err
    assert "warning: Graphviz's `dot` is not installed" in err and "Traceback" not in err
    assert (tmp_path / "unrolled_cell.dot").exists() and str(tmp_path / "unrolled_op.dot") in out
    assert_valid_png(tmp_path / "forecast.png")


def test_help_of_every_subcommand_exits_zero(capsys):
    for command in ("demo", "train", "sample", "gradcheck", "render", "flow"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "usage:" in out, command
    assert "--inject-bug" not in run(capsys, "gradcheck", "--help")[1]


def test_environment_has_no_stray_debug_flag():
    assert os.environ.get("TINYGRAD_RNN_DEBUG") in (None, ""), "tests expect one-line errors"
