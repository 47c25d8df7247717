"""Shape ops, sizes, dtypes and creation functions of issue 10, as PyTorch names them.
Expected shapes and values marked 'torch' were computed with torch 2.13."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn.tensor import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones_like,
    pad,
    rand,
    randn,
    zeros,
    zeros_like,
)
from tinygrad_rnn.testing import arrays, shapes


def test_size_numel_and_dim_are_methods_as_torch():
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3 and x.ndim == 3
    assert Tensor(1.0).size() == () and Tensor(1.0).numel() == 1
    with pytest.raises(IndexError, match="size: dim 3"):
        x.size(3)


def test_flatten_unflatten_squeeze_unsqueeze_shapes_equal_torch():
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert Tensor(0.0).flatten().shape == (1,)
    assert Tensor(np.zeros((2, 6))).unflatten(1, (2, -1)).shape == (2, 2, 3)
    y = Tensor(np.zeros((1, 2, 1)))
    assert y.squeeze().shape == (2,) and y.squeeze(1).shape == (1, 2, 1)
    assert y.squeeze((0, 2)).shape == (2,)
    assert x.unsqueeze(-1).shape == (2, 3, 4, 1) and x.unsqueeze(0).shape == (1, 2, 3, 4)
    assert x.view(4, -1).shape == (4, 6) and x.reshape(-1).shape == (24,)
    with pytest.raises(ValueError, match="unflatten"):
        Tensor(np.zeros((2, 6))).unflatten(1, (4, -1))
    with pytest.raises(ValueError, match="flatten: start_dim"):
        x.flatten(2, 1)


def test_expand_repeat_flip_equal_torch():
    assert Tensor(np.zeros((3, 1))).expand(2, -1, 4).shape == (2, 3, 4)
    assert Tensor([[1, 2]]).repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]  # torch
    assert Tensor([1, 2]).repeat(2, 1, 2).shape == (2, 1, 4)
    np.testing.assert_array_equal(Tensor(np.arange(6).reshape(2, 3)).flip(0, 1).data,
                                  [[5, 4, 3], [2, 1, 0]])
    with pytest.raises(ValueError, match="expand: -1"):
        Tensor(np.zeros(3)).expand(-1, 3)
    with pytest.raises(ValueError, match="repeat"):
        Tensor(np.zeros((2, 2))).repeat(2)


def test_split_and_chunk_equal_torch():
    assert [t.tolist() for t in Tensor(np.arange(7)).split(3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [t.tolist() for t in Tensor(np.arange(5)).chunk(3)] == [[0, 1], [2, 3], [4]]
    assert [t.tolist() for t in Tensor(np.arange(6)).chunk(4)] == [[0, 1], [2, 3], [4, 5]]
    assert [t.shape for t in Tensor(np.zeros((2, 5))).split([2, 3], dim=1)] == [(2, 2), (2, 3)]
    with pytest.raises(ValueError, match="split: sections"):
        Tensor(np.zeros(5)).split([2, 2])


def test_transpose_and_permute_take_torch_arguments():
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.transpose(0, 2).shape == (4, 3, 2) and x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.permute((1, 0, 2)).shape == (3, 2, 4) and x.T.shape == (4, 3, 2)


def test_pad_equals_torch_with_negative_pads_and_a_value():
    # torch: F.pad(x, (1, -1, 2, 0), value=7.) times arange(1, 13).reshape(4, 3), summed
    x = Tensor([[1., 2., 3.], [4., 5., 6.]], requires_grad=True)
    weights = np.arange(1, 13.0).reshape(4, 3)
    out = pad(x, (1, -1, 2, 0), value=7.0)
    np.testing.assert_array_equal(out.data * weights, [[7.0, 14.0, 21.0], [28.0, 35.0, 42.0],
                                                       [49.0, 8.0, 18.0], [70.0, 44.0, 60.0]])
    (out * Tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad, [[8.0, 9.0, 0.0], [11.0, 12.0, 0.0]])
    assert tg.functional.pad is pad
    with pytest.raises(ValueError, match="pad: needs pairs"):
        pad(x, (1, 2, 3))
    with pytest.raises(NotImplementedError, match="constant"):
        pad(x, (1, 1), mode="reflect")


@given(x=arrays(shapes(1, 3, 1, 3)), data=st.data())
def test_shape_ops_equal_numpy_and_pass_gradcheck(x, data):
    t = Tensor(x)
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    reps = tuple(data.draw(st.integers(1, 2)) for _ in range(x.ndim))
    np.testing.assert_array_equal(t.repeat(*reps).data, np.tile(x, reps))
    np.testing.assert_array_equal(t.flip(d).data, np.flip(x, d))
    np.testing.assert_array_equal(t.unsqueeze(d).data, np.expand_dims(x, d))
    n = data.draw(st.integers(1, 3))
    parts = t.chunk(n, d)
    np.testing.assert_array_equal(np.concatenate([p.data for p in parts], axis=d), x)
    widths = [data.draw(st.integers(-1, 2)) for _ in range(2 * x.ndim)]
    widths = [max(w, -1) if x.shape[x.ndim - 1 - i // 2] > 2 else max(w, 0)
              for i, w in enumerate(widths)]
    assert gradcheck(lambda a: pad(a.repeat(*reps).flip(d), widths, value=0.5), [x])


def test_creation_functions_follow_torch():
    assert zeros(2, 3).shape == (2, 3) and zeros((2, 3)).dtype == np.float64
    assert zeros(2, dtype=np.float32, requires_grad=True).requires_grad
    assert full((2,), 3).dtype == np.int64 and full((2,), True).dtype == bool  # torch
    assert full(2, 0.5).tolist() == [0.5, 0.5]
    x = Tensor(np.ones((2, 2), np.float32))
    assert zeros_like(x).dtype == np.float32 and ones_like(x).data.sum() == 4
    assert full_like(x, 7).tolist() == [[7, 7], [7, 7]]
    assert arange(5).dtype == np.int64 and arange(1, 2, 0.25).tolist() == [1, 1.25, 1.5, 1.75]
    assert linspace(-1, 1, 3).tolist() == [-1.0, 0.0, 1.0]
    assert eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    np.testing.assert_array_equal(randn(2, 3, generator=0).data, randn((2, 3), generator=0).data)
    gen = np.random.default_rng(1)
    r = rand(4, generator=gen, dtype=np.float32)
    assert r.dtype == np.float32 and np.all((r.data >= 0) & (r.data < 1))
    with pytest.raises(TypeError, match="randn: .*floating"):
        randn(2, dtype=np.int64)
    with pytest.raises(TypeError, match="generator"):
        rand(2, generator="seed")
    with pytest.raises(TypeError, match="floating-point"):
        zeros(2, dtype=np.int64, requires_grad=True)


def test_float_double_and_to_are_differentiable_casts():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.grad_fn is not None
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 2.0]
    assert y.double().dtype == np.float64 and x.to(np.float64) is x
    assert x.to(np.int64).dtype == np.int64 and not x.to(np.int64).requires_grad
    assert x.astype(np.float32).dtype == np.float32


@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (2,), (0,), (2, 3, 4), ()])
def test_stack_along_axis_0_of_any_shape_matches_numpy_with_its_gradients(shape):
    """Stack's fast path (one concatenate of the rows) covers empty and 1-D inputs too."""
    rng = np.random.default_rng(0)
    xs = [Tensor(rng.standard_normal(shape), requires_grad=True) for _ in range(4)]
    y = tg.stack(xs)
    np.testing.assert_array_equal(y.data, np.stack([x.data for x in xs]))
    (y * np.arange(4.0).reshape((4,) + (1,) * len(shape))).sum().backward()
    for i, x in enumerate(xs):
        np.testing.assert_array_equal(x.grad, np.full(shape, float(i)))


def test_reshape_of_a_permuted_tensor_copies_exactly_and_a_viewable_one_stays_a_view():
    """A reshape numpy can do as a view stays one; one that needs a copy (a permuted tensor,
    copied into the engine's buffer cache) has numpy's values, and so has its gradient."""
    base = np.arange(4 * 6 * 3 * 8, dtype=np.float64).reshape(4, 6, 3, 8)
    x = Tensor(base, requires_grad=True)
    moved = x.permute(0, 2, 1, 3)  # (4, 3, 6, 8), not contiguous
    out = moved.reshape(12, 6, 8)  # needs a copy
    np.testing.assert_array_equal(out.data, base.transpose(0, 2, 1, 3).reshape(12, 6, 8))
    assert not np.shares_memory(out.data, x.data)
    kept = moved.reshape(4, 3, 48 // 8, 8)  # the same shape: numpy keeps the view
    assert np.shares_memory(kept.data, x.data)
    weights = np.random.default_rng(0).standard_normal((12, 6, 8))
    (out * weights).sum().backward()
    np.testing.assert_array_equal(
        x.grad, weights.reshape(4, 3, 6, 8).transpose(0, 2, 1, 3))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape"):
        moved.reshape(5, 7)
