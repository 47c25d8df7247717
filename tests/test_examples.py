"""The three examples run (in --quick mode, in-process), print finite numbers, write real PNGs,
and show what they claim on a small scale."""

from __future__ import annotations

import importlib.util
import math
import pathlib

import matplotlib.image
import numpy as np
import pytest

from tinygrad_rnn import data

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each example's summary from one quick run (shared by the tests below)."""
    out = {}
    for name in ("forecast", "char_rnn", "adding_problem"):
        folder = tmp_path_factory.mktemp(name)
        out[name] = (load_example(name).main(["--out", str(folder), "--quick"]), folder)
    return out


@pytest.mark.parametrize("name", ["forecast", "char_rnn", "adding_problem"])
def test_example_writes_valid_pngs_into_the_given_folder_only(runs, name):
    summary, folder = runs[name]
    pictures = summary["pictures"]
    assert pictures, f"{name}: no pictures reported"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in pictures), \
        f"{name}: the folder holds {list(folder.iterdir())}, expected exactly {pictures}"
    for path in pictures:
        assert path.read_bytes()[:8] == PNG_MAGIC, f"{name}: {path} is not a PNG"
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 200, \
            f"{name}: {path} decodes to an image of shape {image.shape}"


def test_forecast_scores_every_model_on_the_same_held_out_months(runs):
    summary, _ = runs["forecast"]
    series = data.load_series("elnino")
    n_train = len(data.train_test_split(series, test_fraction=0.2)[0])
    expected = np.arange(n_train, len(series))
    for name, idx in summary["test_indices"].items():
        np.testing.assert_array_equal(idx, expected, err_msg=f"{name} was scored on other months")
    for name, row in summary["scores"].items():
        assert math.isfinite(row["rmse"]) and math.isfinite(row["mae"]), f"{name}: {row}"
        assert 0 < row["mae"] <= row["rmse"], f"{name}: MAE must not exceed RMSE, got {row}"


def test_forecast_persistence_score_matches_a_direct_computation(runs):
    summary, _ = runs["forecast"]
    series = data.load_series("elnino")
    test = data.train_test_split(series, test_fraction=0.2)[1]
    previous = series[len(series) - len(test) - 1: -1]
    rmse = float(np.sqrt(np.mean((test - previous) ** 2)))
    assert summary["scores"]["persistence"]["rmse"] == pytest.approx(rmse, rel=1e-12)


def test_char_rnn_loss_falls_below_the_uniform_guess(runs):
    summary, _ = runs["char_rnn"]
    losses = np.array(summary["losses"])
    assert np.all(np.isfinite(losses)), "char_rnn: non-finite training loss"
    first, last = losses[:50].mean(), losses[-50:].mean()
    assert last < first - 0.5, f"char_rnn: training loss went from {first:.3f} to {last:.3f}"
    held_start, held_end = summary["checkpoints"][0][1], summary["checkpoints"][-1][1]
    assert held_start == pytest.approx(summary["uniform"], abs=0.15), \
        f"an untrained model should be near log V = {summary['uniform']:.3f}, got {held_start}"
    assert held_end < summary["uniform"] - 0.5, \
        f"held-out loss {held_end:.3f} is not clearly below log V = {summary['uniform']:.3f}"


def test_char_rnn_sample_starts_with_the_prime_and_uses_the_vocabulary(runs):
    summary, _ = runs["char_rnn"]
    vocab = set(data.load_text("alice"))
    text = summary["sample"]
    assert text.startswith("Alice ") and len(text) == len("Alice ") + 300, repr(text[:40])
    assert set(text) <= vocab, f"characters outside the text's vocabulary: {set(text) - vocab}"


def test_adding_problem_reports_finite_scores_against_a_baseline_near_one_sixth(runs):
    summary, _ = runs["adding_problem"]
    for T, base in summary["baselines"].items():
        assert base == pytest.approx(1 / 6, abs=0.05), f"T={T}: baseline MSE {base}"
    for (name, T), r in summary["results"].items():
        assert math.isfinite(r["mse"]) and 0 <= r["solved"] <= 1, f"{name}, T={T}: {r}"
        assert len(r["curve"]) >= 2 and all(math.isfinite(m) for _, m in r["curve"]), \
            f"{name}, T={T}: learning curve {r['curve']}"
    assert {name for name, _ in summary["results"]} == {"Elman RNN", "LSTM"}


@pytest.mark.parametrize("name, argv, message", [
    ("forecast", ["--seeds", "0"], "--seeds: must be a positive integer, got 0"),
    ("forecast", ["--hidden", "-1"], "--hidden: must be a positive integer"),
    ("char_rnn", ["--temperature", "0"], "--temperature: must be a positive finite number"),
    ("adding_problem", ["--lags", "1"], "--lags: must be at least 2"),
    ("adding_problem", ["--steps", "x"], "--steps: must be an integer"),
])
def test_bad_arguments_are_one_clear_usage_error(tmp_path, capsys, name, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        load_example(name).main(["--out", str(tmp_path), *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


def test_an_existing_picture_is_not_overwritten_without_force(tmp_path, capsys):
    picture = tmp_path / "char_rnn_loss.png"
    picture.write_bytes(b"mine")
    example = load_example("char_rnn")
    with pytest.raises(SystemExit) as exit_info:
        example.main(["--out", str(tmp_path), "--quick", "--iterations", "2"])
    assert exit_info.value.code == 2 and "pass --force" in capsys.readouterr().err
    assert picture.read_bytes() == b"mine"
    example.main(["--out", str(tmp_path), "--quick", "--iterations", "2", "--force"])
    assert picture.read_bytes()[:8] == PNG_MAGIC
