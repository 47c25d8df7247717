""".npz files are written atomically, hold JSON metadata, never unpickle on load, and nn.save /
nn.load round-trip a model with clear key and shape errors."""

import os
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_rnn.io as tio
import tinygrad_rnn.nn as nn


def test_arrays_and_metadata_round_trip_exactly(tmp_path):
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b.c": np.array([1, 2], dtype=np.int32),
              "f32": np.ones(3, dtype=np.float32), "name": np.array("Adam")}
    metadata = {"step": np.int64(12), "lr": 0.1, "sizes": [1, 2], "nested": {"ok": True}}
    tio.save_npz(tmp_path / "x.npz", arrays, metadata)
    loaded, meta = tio.load_npz(tmp_path / "x.npz")
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
        assert loaded[key].dtype == value.dtype, key
    assert meta == {"step": 12, "lr": 0.1, "sizes": [1, 2], "nested": {"ok": True}}


def test_a_file_without_metadata_loads_with_empty_metadata(tmp_path):
    tio.save_npz(tmp_path / "x.npz", {"a": np.zeros(2)})
    assert tio.load_npz(tmp_path / "x.npz")[1] == {}


def test_save_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "model.npz"
    tio.save_npz(path, {"a": np.zeros(2)})
    tio.save_npz(path, {"a": np.ones(2)})
    assert os.listdir(tmp_path) == ["model.npz"]
    np.testing.assert_array_equal(tio.load_npz(path)[0]["a"], np.ones(2))


def test_a_failed_save_keeps_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    tio.save_npz(path, {"a": np.zeros(2)})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        tio.save_npz(path, {"a": np.ones(2)})
    assert os.listdir(tmp_path) == ["model.npz"], "the temporary file was not removed"
    np.testing.assert_array_equal(tio.load_npz(path)[0]["a"], np.zeros(2))


def test_object_arrays_cannot_be_saved(tmp_path):
    with pytest.raises(TypeError, match="'bad' has dtype object"):
        tio.save_npz(tmp_path / "x.npz", {"bad": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError, match="reserved"):
        tio.save_npz(tmp_path / "x.npz", {tio.METADATA_KEY: np.zeros(1)})
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        tio.save_npz(tmp_path / "x.npz", {"a": np.zeros(1)}, {"f": object()})


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > should_not_exist",))


def test_loading_never_unpickles(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "evil.npz", payload=np.array([Exploit()], dtype=object))
    with pytest.raises(ValueError, match="corrupt or not a valid .npz"):
        tio.load_npz(tmp_path / "evil.npz")
    assert not (tmp_path / "should_not_exist").exists()
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ValueError, match="not an .npz file"):
        tio.load_npz(tmp_path / "evil.pkl")
    assert not (tmp_path / "should_not_exist").exists()


def test_missing_corrupt_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        tio.load_npz(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not an .npz file"):
        tio.load_npz(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz file"):
        tio.load_npz(tmp_path / "single.npy")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:
        z.writestr("readme.txt", "not an array")
    with pytest.raises(ValueError, match="corrupt or not a valid .npz"):
        tio.load_npz(tmp_path / "other.npz")
    tio.save_npz(tmp_path / "big.npz", {"a": np.random.default_rng(0).standard_normal(5000)})
    data = (tmp_path / "big.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not an .npz file|corrupt"):
        tio.load_npz(tmp_path / "truncated.npz")
    with pytest.raises(FileNotFoundError, match="directory"):
        tio.save_npz(tmp_path / "nope" / "x.npz", {"a": np.zeros(1)})


# ---------------------------------------------------------------------------- nn.save/load
def test_nn_save_and_load_round_trip_a_model_with_metadata(tmp_path):
    model = nn.ElmanRNN(2, 4, 3, output="softmax", seed=0)
    nn.save(model, tmp_path / "m.npz", epoch=3, task="sines")
    other = nn.ElmanRNN(2, 4, 3, output="softmax", seed=1)
    meta = nn.load(other, tmp_path / "m.npz")
    assert meta == {"module": "ElmanRNN", "epoch": 3, "task": "sines"}
    x = np.random.default_rng(0).standard_normal((5, 2, 2))
    np.testing.assert_array_equal(other(x)[0].data, model(x)[0].data)


def test_nn_load_into_a_different_architecture_names_the_key(tmp_path):
    nn.save(nn.ElmanRNN(2, 4, 3, seed=0), tmp_path / "m.npz")
    with pytest.raises(nn.StateDictError, match="wrong shape for key 'U': expected \\(5, 2\\)"):
        nn.load(nn.ElmanRNN(2, 5, 3), tmp_path / "m.npz")
    with pytest.raises(nn.StateDictError, match="unexpected key 'c'"):
        nn.load(nn.ElmanRNN(2, 4, 3, bias=False), tmp_path / "m.npz")
    with pytest.raises(nn.StateDictError, match="missing key 'weight'"):
        nn.load(nn.Linear(2, 2), tmp_path / "m.npz")


def test_a_float32_model_loads_float64_weights_as_float32(tmp_path):
    source = nn.Linear(3, 2, seed=0)
    nn.save(source, tmp_path / "m.npz")
    target = nn.Linear(3, 2).to(np.float32)
    nn.load(target, tmp_path / "m.npz")
    assert target.weight.dtype == np.float32
    np.testing.assert_allclose(target.weight.data, source.weight.data, rtol=1e-7)
