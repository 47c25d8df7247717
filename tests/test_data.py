"""Tests for tinygrad_rnn.data: synthetic tasks, bundled series/text, loaders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_rnn import data
from tinygrad_rnn.data import (
    COPY_BLANK,
    CharVocab,
    Standardizer,
    adding_problem,
    bptt_batches,
    copy_task,
    load_csv_column,
    load_series,
    load_text,
    load_text_file,
    make_windows,
    noisy_sines,
    series_info,
    series_names,
    text_names,
    to_sequences,
    train_test_split,
)

# ---------------------------------------------------------------- synthetic


def test_noisy_sines_shape_dtype_and_determinism():
    s = noisy_sines(5, 40, noise=0.1, seed=3)
    assert s.shape == (40, 5, 1) and s.dtype == np.float64
    np.testing.assert_array_equal(s, noisy_sines(5, 40, noise=0.1, seed=3))
    assert not np.array_equal(s, noisy_sines(5, 40, noise=0.1, seed=4))


def test_noisy_sines_without_noise_is_a_pure_sine():
    s = noisy_sines(3, 200, noise=0.0, seed=1)[:, :, 0]
    assert np.all(np.abs(s) <= 1.0)
    # A pure sine satisfies s[t+1] + s[t-1] = 2 cos(w) s[t] with a constant w per series.
    for b in range(3):
        ratio = s[2:, b] + s[:-2, b]
        cos_w = np.dot(ratio, s[1:-1, b]) / np.dot(s[1:-1, b], s[1:-1, b]) / 2
        np.testing.assert_allclose(ratio, 2 * cos_w * s[1:-1, b], atol=1e-9)
    noisy = noisy_sines(3, 200, noise=0.5, seed=1)[:, :, 0]
    assert np.std(noisy - s) == pytest.approx(0.5, rel=0.15)


@pytest.mark.parametrize("T,batch", [(2, 1), (7, 3), (50, 16)])
def test_adding_problem_targets_are_sum_of_marked_values(T, batch):
    x, y = adding_problem(T, batch, seed=0)
    assert x.shape == (T, batch, 2) and x.dtype == np.float64
    assert y.shape == (batch, 1) and y.dtype == np.float64
    values, markers = x[..., 0], x[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=0), 2.0)
    # one marker in each half
    np.testing.assert_array_equal(markers[: T // 2].sum(axis=0), 1.0)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=0))


def test_adding_problem_is_deterministic():
    a = adding_problem(20, 4, seed=11)
    b = adding_problem(20, 4, seed=11)
    c = adding_problem(20, 4, seed=12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("copy_len,delay,n_symbols", [(1, 1, 1), (3, 5, 4), (10, 20, 8)])
def test_copy_task_layout_and_targets(copy_len, delay, n_symbols):
    batch = 6
    x, y = copy_task(copy_len, delay, batch, n_symbols=n_symbols, seed=2)
    T = 2 * copy_len + delay
    assert x.shape == (T, batch, n_symbols + 2) and x.dtype == np.float64
    assert y.shape == (T, batch) and y.dtype == np.int64
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)  # exactly one-hot
    ids = x.argmax(axis=-1)
    symbols = ids[:copy_len]
    assert np.all((symbols >= 1) & (symbols <= n_symbols))
    np.testing.assert_array_equal(ids[copy_len : copy_len + delay - 1], COPY_BLANK)
    np.testing.assert_array_equal(ids[copy_len + delay - 1], n_symbols + 1)
    np.testing.assert_array_equal(ids[copy_len + delay :], COPY_BLANK)
    np.testing.assert_array_equal(y[: copy_len + delay], COPY_BLANK)
    np.testing.assert_array_equal(y[copy_len + delay :], symbols)
    x2, y2 = copy_task(copy_len, delay, batch, n_symbols=n_symbols, seed=2)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize(
    "call,exc,fragment",
    [
        (lambda: noisy_sines(0, 10), ValueError, "noisy_sines: n_series must be positive, got 0"),
        (lambda: noisy_sines(2, -3), ValueError, "length must be positive, got -3"),
        (lambda: noisy_sines(2, 3.5), TypeError, "length must be an int, got 3.5"),
        (lambda: noisy_sines(2, 3, noise=-1), ValueError, "noise must be in"),
        (lambda: noisy_sines(2, 3, seed=-1), ValueError, "seed must be >= 0"),
        (lambda: adding_problem(1, 4), ValueError, "adding_problem: T must be >= 2, got 1"),
        (lambda: adding_problem(10, 0), ValueError, "batch must be positive, got 0"),
        (lambda: adding_problem(True, 2), TypeError, "T must be an int"),
        (lambda: copy_task(0, 5, 2), ValueError, "copy_task: copy_len must be positive, got 0"),
        (lambda: copy_task(3, 0, 2), ValueError, "delay must be positive, got 0"),
        (lambda: copy_task(3, 2, 2, n_symbols=0), ValueError, "n_symbols must be positive"),
    ],
)
def test_synthetic_bad_arguments(call, exc, fragment):
    with pytest.raises(exc, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        call()


# ------------------------------------------------------------------ series


def test_bundled_series_load():
    assert series_names() == ["elnino", "sunspots"]
    elnino = load_series()
    assert elnino.shape == (732,) and elnino.dtype == np.float64
    assert np.all(np.isfinite(elnino))
    # first and last values of the upstream NOAA/statsmodels table
    assert elnino[0] == 23.11 and elnino[-1] == 22.07
    assert 15.0 < elnino.min() and elnino.max() < 32.0  # plausible sea temperatures in degC
    sunspots = load_series("sunspots")
    assert sunspots.shape == (309,) and np.all(np.isfinite(sunspots)) and np.all(sunspots >= 0)
    assert sunspots[:3].tolist() == [5.0, 11.0, 16.0]
    for name in series_names():
        assert series_info(name).length == len(load_series(name))
        assert "public domain" in series_info(name).licence


def test_elnino_has_an_annual_cycle():
    sst = load_series("elnino").reshape(61, 12)
    monthly = sst.mean(axis=0)
    # southern-hemisphere coastal waters: warm in Feb-Apr, cold in Aug-Oct
    assert monthly[1:4].mean() > monthly[7:10].mean() + 3.0


def test_load_series_unknown_name():
    with pytest.raises(ValueError, match="unknown series 'nope'; available: elnino, sunspots"):
        load_series("nope")
    with pytest.raises(TypeError, match="load_series: name must be a str"):
        load_series(3)


def test_load_csv_column_by_name_and_index(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("date, temp ,rain\n2020-01,1.5,0\n\n2020-02,-2,3e1\n", encoding="utf-8")
    np.testing.assert_array_equal(load_csv_column(path, "temp"), [1.5, -2.0])
    np.testing.assert_array_equal(load_csv_column(str(path), 2), [0.0, 30.0])
    assert load_csv_column(path, "rain").dtype == np.float64


def test_load_csv_column_errors(tmp_path):
    missing = tmp_path / "missing.csv"
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_csv_column(missing, "x")

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.csv' is empty"):
        load_csv_column(empty, "x")

    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    with pytest.raises(ValueError, match=r"header\.csv' has a header but no data rows"):
        load_csv_column(header_only, "a")

    good = tmp_path / "cols.csv"
    good.write_text("a,b\n1,2\n")
    with pytest.raises(
        ValueError, match=r"cols\.csv' has no column 'c'; available columns: \['a', 'b'\]"
    ):
        load_csv_column(good, "c")
    with pytest.raises(ValueError, match="column index 5 is out of range"):
        load_csv_column(good, 5)

    bad_value = tmp_path / "bad.csv"
    bad_value.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(
        ValueError, match=r"bad\.csv', line 3: value 'oops' in column 'b' is not a number"
    ):
        load_csv_column(bad_value, "b")

    blank_value = tmp_path / "blank.csv"
    blank_value.write_text("a,b\n1,\n")
    with pytest.raises(ValueError, match="line 2: missing value in column 'b'"):
        load_csv_column(blank_value, "b")

    nan_value = tmp_path / "nan.csv"
    nan_value.write_text("a\n1\nnan\n")
    with pytest.raises(
        ValueError, match="line 3: value 'nan' in column 'a' is not a finite number"
    ):
        load_csv_column(nan_value, "a")

    short_row = tmp_path / "short.csv"
    short_row.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3 has 1 fields"):
        load_csv_column(short_row, "b")

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("a\n1\n\u00e9\n".encode("latin-1"))
    with pytest.raises(
        ValueError, match=r"latin1\.csv' is not valid UTF-8: invalid byte 0xe9 at byte offset 4"
    ):
        load_csv_column(latin1, "a")


@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=60),
    window=st.integers(1, 5),
    horizon=st.integers(1, 3),
)
def test_make_windows_alignment(values, window, horizon):
    series = np.array(values)
    if len(series) < window + horizon:
        with pytest.raises(ValueError, match="too short"):
            make_windows(series, window, horizon)
        return
    inputs, targets = make_windows(series, window, horizon)
    n = len(series) - window - horizon + 1
    assert inputs.shape == (n, window) and targets.shape == (n,)
    for i in range(n):
        np.testing.assert_array_equal(inputs[i], series[i : i + window])
        assert targets[i] == series[i + window + horizon - 1]


def test_make_windows_next_value_on_real_series():
    sst = load_series("elnino")
    inputs, targets = make_windows(sst, window=12)
    assert inputs.shape == (720, 12)
    np.testing.assert_array_equal(inputs[1:, -1], targets[:-1])  # target is the next value
    np.testing.assert_array_equal(targets, sst[12:])


@pytest.mark.parametrize("seq_len,stride", [(5, None), (5, 2), (1, 1), (19, None)])
def test_to_sequences_targets_are_next_values(seq_len, stride):
    series = np.arange(20, dtype=np.float64) * 1.5
    x, y = to_sequences(series, seq_len, stride)
    step = seq_len if stride is None else stride
    batch = (len(series) - seq_len - 1) // step + 1
    assert x.shape == y.shape == (seq_len, batch, 1) and x.dtype == np.float64
    for b in range(batch):
        np.testing.assert_array_equal(x[:, b, 0], series[b * step : b * step + seq_len])
        np.testing.assert_array_equal(y[:, b, 0], series[b * step + 1 : b * step + seq_len + 1])


def test_to_sequences_too_short_and_bad_series():
    with pytest.raises(
        ValueError, match="to_sequences: series of length 5 is too short for seq_len=5"
    ):
        to_sequences(np.zeros(5), 5)
    with pytest.raises(ValueError, match="must be 1-D, got shape"):
        to_sequences(np.zeros((4, 2)), 2)
    with pytest.raises(ValueError, match="non-finite value nan at index 1"):
        to_sequences([1.0, np.nan, 2.0], 1)
    with pytest.raises(ValueError, match="seq_len must be positive, got 0"):
        to_sequences(np.zeros(5), 0)


def test_train_test_split_is_chronological():
    series = np.arange(10.0)
    train, test = train_test_split(series, 0.3)
    np.testing.assert_array_equal(train, np.arange(7.0))
    np.testing.assert_array_equal(test, [7.0, 8.0, 9.0])
    train, test = train_test_split(series, 0.01)
    assert len(test) == 1 and len(train) == 9
    for bad in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ValueError, match=f"test_fraction must be in \\(0, 1\\), got {bad}"):
            train_test_split(series, bad)
    with pytest.raises(ValueError, match="leaves no training values"):
        train_test_split([1.0, 2.0], 0.9)


def test_standardizer_fits_train_only_and_round_trips():
    train, test = train_test_split(load_series("elnino"), 0.25)
    scaler = Standardizer()
    with pytest.raises(RuntimeError, match="call fit"):
        scaler.transform(train)
    z_train = scaler.fit_transform(train)
    assert z_train.mean() == pytest.approx(0.0, abs=1e-12)
    assert z_train.std() == pytest.approx(1.0)
    assert scaler.mean == pytest.approx(train.mean())
    z_test = scaler.transform(test)
    np.testing.assert_allclose(z_test, (test - train.mean()) / train.std())
    np.testing.assert_allclose(scaler.inverse_transform(z_test), test)
    x, _ = to_sequences(test, 10)
    assert scaler.transform(x).shape == x.shape
    constant = Standardizer().fit(np.full(4, 3.0))
    np.testing.assert_array_equal(constant.transform([3.0, 4.0]), [0.0, 1.0])


# -------------------------------------------------------------------- text


def test_bundled_texts():
    assert text_names() == ["alice", "constitution"]
    alice = load_text()
    assert 20_000 <= len(alice.encode("utf-8")) <= 100_000
    assert alice.startswith("ALICE'S ADVENTURES IN WONDERLAND")
    assert "CHAPTER IV. The Rabbit Sends in a Little Bill" in alice
    assert "gutenberg" not in alice.lower()  # licence boilerplate removed
    assert "\r" not in alice
    constitution = load_text("constitution")
    assert constitution.startswith("We the People of the United States")
    with pytest.raises(ValueError, match="unknown text 'x'; available: alice, constitution"):
        load_text("x")


def test_load_text_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_bytes("\ufeffh\u00e9llo\r\nw\u00f6rld\n".encode("utf-8"))
    assert load_text_file(path) == "h\u00e9llo\nw\u00f6rld\n"


def test_load_text_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere\.txt' does not exist"):
        load_text_file(tmp_path / "nothere.txt")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.txt' is empty"):
        load_text_file(empty)
    bad = tmp_path / "cp1252.txt"
    bad.write_bytes(b"abc caf\xe9 ok")
    with pytest.raises(
        ValueError, match=r"cp1252\.txt' is not valid UTF-8: invalid byte 0xe9 at byte offset 7"
    ):
        load_text_file(bad)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_text_file(tmp_path)
    with pytest.raises(TypeError, match="load_text_file: path must be a str or os.PathLike"):
        load_text_file(42)


@settings(max_examples=200)
@given(st.text(min_size=1))
def test_vocab_round_trip(text):
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert vocab.size == len(set(text))
    assert ids.min() >= 0 and ids.max() < vocab.size
    assert vocab.decode(ids) == text
    one_hot = vocab.one_hot(ids)
    assert one_hot.shape == (len(text), vocab.size) and one_hot.dtype == np.float64
    np.testing.assert_array_equal(one_hot.argmax(axis=-1), ids)
    np.testing.assert_array_equal(one_hot.sum(axis=-1), 1.0)


def test_vocab_mapping_and_errors():
    vocab = CharVocab("hello world")
    assert vocab.chars == (" ", "d", "e", "h", "l", "o", "r", "w")
    assert vocab.size == len(vocab) == 8 and "h" in vocab and "z" not in vocab
    np.testing.assert_array_equal(vocab.encode("hold"), [3, 5, 4, 1])
    assert vocab.one_hot(np.zeros((3, 2), dtype=np.int64)).shape == (3, 2, 8)
    with pytest.raises(
        ValueError, match=r"character 'z' \(U\+007A\) at position 2 is not in the vocabulary"
    ):
        vocab.encode("hoz")
    with pytest.raises(ValueError, match=r"index 8 is out of range \[0, 8\)"):
        vocab.decode([1, 8])
    with pytest.raises(TypeError, match="ids must be integers"):
        vocab.decode([1.0, 2.0])
    with pytest.raises(ValueError, match="empty text"):
        CharVocab("")


@pytest.mark.parametrize("n,batch_size,chunk_len", [(11, 1, 10), (101, 4, 7), (1000, 3, 50)])
def test_bptt_batches_streams_and_targets(n, batch_size, chunk_len):
    ids = np.arange(n, dtype=np.int64)  # ids equal their position, so alignment is visible
    batches = bptt_batches(ids, batch_size, chunk_len)
    stream = (n - 1) // batch_size
    x_all = np.concatenate([x for x, _ in batches])
    y_all = np.concatenate([y for _, y in batches])
    assert x_all.shape == y_all.shape == (stream, batch_size)
    for x, y in batches[:-1]:
        assert x.shape == y.shape == (chunk_len, batch_size) and x.dtype == y.dtype == np.int64
    assert 1 <= len(batches[-1][0]) <= chunk_len
    # column b is the contiguous stream starting at b*stream; target is the next id
    np.testing.assert_array_equal(
        x_all, np.arange(stream)[:, None] + stream * np.arange(batch_size)
    )
    np.testing.assert_array_equal(y_all, x_all + 1)
    full = bptt_batches(ids, batch_size, chunk_len, drop_last=True)
    assert all(x.shape == (chunk_len, batch_size) for x, _ in full)
    assert len(full) == stream // chunk_len


def test_bptt_batches_too_short_text():
    vocab = CharVocab("abcdefghij")
    ids = vocab.encode("abcdefghij")  # 10 characters
    assert len(bptt_batches(ids, 1, 9)) == 1
    with pytest.raises(
        ValueError, match="text of 10 characters is too short for chunk_len=10.*at least 11"
    ):
        bptt_batches(ids, 1, 10)
    with pytest.raises(ValueError, match="chunk_len=3 with batch_size=4; need at least 13"):
        bptt_batches(ids, 4, 3)
    with pytest.raises(ValueError, match="chunk_len must be positive, got 0"):
        bptt_batches(ids, 1, 0)
    with pytest.raises(TypeError, match="encode the text first"):
        bptt_batches("abcdefghij", 1, 3)


def test_end_to_end_char_pipeline():
    text = load_text("constitution")
    vocab = CharVocab(text)
    batches = bptt_batches(vocab.encode(text), batch_size=8, chunk_len=32)
    x_ids, y_ids = batches[0]
    x = vocab.one_hot(x_ids)
    assert x.shape == (32, 8, vocab.size)
    assert vocab.decode(x_ids[:, 0]) == text[:32]
    assert vocab.decode(y_ids[:, 0]) == text[1:33]


def test_public_api_is_exported():
    for name in data.__all__:
        assert hasattr(data, name), name


def test_training_tasks_raise_value_errors_the_examples_can_catch():
    from tinygrad_rnn.data.tasks import chunk_plan

    with pytest.raises(ValueError, match="at least 3 are needed"):
        data.SeriesTask("tiny", {}, np.array([1.0, 2.0]), 0.2)
    with pytest.raises(ValueError, match="only 3 characters; too short"):
        data.TextTask("abc", {}, "abc", 0.5)
    with pytest.raises(ValueError, match="too short for chunk 8 with batch 4"):
        chunk_plan(30, 4, 8, "x")
    task = data.SeriesTask("sines", {}, np.sin(np.arange(200) / 5), 0.2)
    assert task.n_train == 160 and chunk_plan(task.n_items, 4, 8, "x") == 4
