"""The viz commands (render, flow, explore) on hostile but valid-looking input: one clear line
and exit 2 for what they cannot do, and a working run for what they can."""

from __future__ import annotations

import pytest

from tinygrad_rnn.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected_code, f"exit code {code}, expected {expected_code}; stderr: {err}"
    assert len(lines) == 1 and lines[0].startswith("tinygrad-rnn: error: "), lines
    assert "this is a bug" not in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def test_flow_with_one_step_writes_the_figure(tmp_path, capsys):
    """T = 1: W gets no gradient (h_0 = 0); the clipping runs must not crash on it."""
    path = tmp_path / "flow.png"
    code, out, err = run(capsys, "flow", "--steps", "1", "--hidden", "3", "--out", str(path))
    assert code == 0, err
    assert "SGD, no clipping" in out and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("command", ["render", "flow", "explore"])
def test_an_empty_out_is_one_clear_line(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, command, "--out", "")
    assert_one_line_error(code, err, 2, "--out is empty")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command, suffixes", [
    ("render", ".svg, .png, .pdf or .dot"), ("flow", ".png, .svg or .pdf"),
    ("explore", ".html or .htm")])
def test_a_suffix_the_command_cannot_write_is_refused(tmp_path, capsys, command, suffixes):
    code, _, err = run(capsys, command, "--out", str(tmp_path / "x.jpg"))
    assert_one_line_error(code, err, 2, "x.jpg ends in .jpg", f"{command} cannot write",
                          suffixes)
    assert list(tmp_path.iterdir()) == [], "nothing written, no x.jpg.svg"


@pytest.mark.parametrize("argv, name", [
    (["render", "--steps", "2", "--hidden", "2"], "unrolled.svg"),
    (["render", "--steps", "2", "--hidden", "2", "--format", "dot"], "unrolled.dot"),
    (["flow", "--steps", "3", "--hidden", "2"], "gradient_flow.png"),
    (["explore", "--steps", "3", "--hidden", "2", "--train-steps", "0"], "explorer.html")])
def test_an_existing_folder_as_out_means_write_inside_it(tmp_path, capsys, argv, name):
    code, out, err = run(capsys, *argv, "--out", str(tmp_path))
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == [name] and str(tmp_path / name) in out


def test_render_out_ending_in_a_slash_is_a_folder_and_format_picks_the_suffix(tmp_path, capsys):
    code, _, err = run(capsys, "render", "--steps", "2", "--hidden", "2", "--format", "dot",
                       "--out", f"{tmp_path}/new/")
    assert code == 0, err
    assert (tmp_path / "new" / "unrolled.dot").read_text().lstrip().startswith("digraph")


def test_render_default_out_follows_format(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "render", "--steps", "2", "--hidden", "2", "--format", "dot")
    assert code == 0, err
    assert (tmp_path / "out" / "unrolled.dot").exists()


@pytest.mark.parametrize("argv", [
    ["render", "--hidden", "100000"], ["flow", "--hidden", "100000"],
    ["explore", "--hidden", "100000"], ["explore", "--model", "lstm", "--hidden", "60000"],
    ["render", "--steps", "1000000000"]], ids=" ".join)
def test_a_size_that_cannot_fit_is_refused_before_anything_is_allocated(tmp_path, capsys,
                                                                        monkeypatch, argv):
    from tinygrad_rnn import viz
    from tinygrad_rnn.viz import example

    def must_not_build(*args, **kwargs):
        raise AssertionError("the model was built before the size check")

    for module, name in ((viz, "render_unrolled"), (viz, "write_flow_figure"),
                         (example, "sequence_model")):
        monkeypatch.setattr(module, name, must_not_build)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, 2, "needs about", "GiB of memory",
                          "choose a smaller --hidden or --steps")
    assert list(tmp_path.iterdir()) == [], "no output folder before the size check"


def test_render_without_graphviz_never_overwrites_an_existing_dot_without_force(tmp_path,
                                                                                capsys,
                                                                                monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)  # no Graphviz `dot`
    dot = tmp_path / "g.dot"
    dot.write_text("mine")
    code, _, err = run(capsys, "render", "--steps", "2", "--out", str(tmp_path / "g.svg"))
    assert_one_line_error(code, err, 2, "g.dot already exists", "--force")
    assert dot.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"], "no temporary file left"
    code, _, err = run(capsys, "render", "--steps", "2", "--out", str(tmp_path / "g.svg"),
                       "--force")
    assert_one_line_error(code, err, 1, "`dot` program is not on PATH")
    assert dot.read_text().lstrip().startswith("digraph")


def test_render_refuses_a_file_that_appears_while_it_runs(tmp_path, capsys, monkeypatch):
    from tinygrad_rnn.viz import drawing

    target = tmp_path / "g.dot"
    original = drawing.draw

    def draw_then_someone_writes(*args, **kwargs):
        target.write_text("appeared meanwhile")
        return original(*args, **kwargs)

    monkeypatch.setattr(drawing, "draw", draw_then_someone_writes)
    code, _, err = run(capsys, "render", "--steps", "2", "--out", str(target))
    assert_one_line_error(code, err, 2, "g.dot already exists")
    assert target.read_text() == "appeared meanwhile"


@pytest.mark.parametrize("command", ["render", "flow", "explore"])
def test_help_shows_every_default(capsys, command):
    """Like the other commands, each option's help ends with its default in parentheses:
    `(6)`, `(rnn)`, or what an unset option means, `(none: ...)`. On/off flags are off."""
    import re

    from tinygrad_rnn.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for action in sub.choices[command]._actions:
        if action.nargs == 0:  # --help, --force, --heatmaps: flags, off unless given
            continue
        group = re.search(r"\(([^()]*)\)$", action.help or "")
        assert group, f"{command} {action.option_strings[0]}: no default in {action.help!r}"
        if action.default is not None:
            assert str(action.default) in group.group(1), \
                f"{command} {action.option_strings[0]}: default {action.default!r} not in " \
                f"{group.group(0)!r}"
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "usage:" in out


@pytest.mark.parametrize("argv, appears, module, name", [
    (["flow", "--steps", "3", "--hidden", "2"], "f.png", "tinygrad_rnn.viz.flow",
     "clip_experiment"),
    (["flow", "--steps", "3", "--hidden", "2", "--heatmaps"], "f_influence.png",
     "tinygrad_rnn.viz.influence", "influence_matrix"),
    (["explore", "--steps", "3", "--train-steps", "0"], "f.html", "tinygrad_rnn.viz.example",
     "explore_unrolled")], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_flow_and_explore_refuse_a_file_that_appears_while_they_run(tmp_path, capsys,
                                                                    monkeypatch, argv, appears,
                                                                    module, name):
    import importlib

    target = tmp_path / appears
    owner = importlib.import_module(module)
    original = getattr(owner, name)

    def compute_then_someone_writes(*args, **kwargs):
        target.write_text("appeared meanwhile")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, compute_then_someone_writes)
    out = tmp_path / ("f.html" if argv[0] == "explore" else "f.png")
    code, _, err = run(capsys, *argv, "--out", str(out))
    assert_one_line_error(code, err, 2, "appeared while this command ran")
    assert target.read_text() == "appeared meanwhile"
