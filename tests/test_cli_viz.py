"""The viz commands (render, flow, explore) on hostile but valid-looking input: one clear line
and exit 2 for what they cannot do, and a working run for what they can."""

from __future__ import annotations

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
