"""PyTorch value semantics: `==`/`!=`, conversions to Python numbers and numpy, dtype promotion.

The expected dtypes below were read off torch 2.13 (CPU, with torch.set_default_dtype(float64),
because our default float is float64) and written in as literals; torch is never imported here.
"""

import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, ops
from tinygrad_rnn.testing import broadcastable_shapes

# ------------------------------------------------------------------------------ == and !=


@st.composite
def _comparable_pairs(draw):
    """Two arrays of broadcastable shapes, each of small ints, bools or floats (NaN included),
    often equal."""
    pools = {np.int64: st.integers(-2, 2), np.bool_: st.booleans(),
             np.float64: st.sampled_from([-1.0, 0.0, 1.0, 1.5, np.nan])}

    def make(shape):
        dtype = draw(st.sampled_from(sorted(pools, key=str)))
        size = int(np.prod(shape))
        values = draw(st.lists(pools[dtype], min_size=size, max_size=size))
        return np.array(values, dtype=dtype).reshape(shape)

    shape_a, shape_b = draw(broadcastable_shapes())
    return make(shape_a), make(shape_b)


@given(pair=_comparable_pairs(), form=st.sampled_from(["tensor", "ndarray", "left ndarray"]))
def test_eq_and_ne_agree_with_numpy_elementwise_with_broadcasting(pair, form):
    a, b = pair
    ta = Tensor(a, requires_grad=a.dtype.kind == "f")
    for op in (operator.eq, operator.ne):
        if form == "tensor":
            out = op(ta, Tensor(b))
        elif form == "ndarray":
            out = op(ta, b)
        else:  # numpy on the left hands over to Tensor's reflected operator
            out = op(b, ta)
        assert isinstance(out, Tensor), f"{op.__name__} returned {type(out).__name__}"
        np.testing.assert_array_equal(out.data, op(a, b), err_msg=f"{op.__name__} {form}")
        assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None


def test_eq_with_python_scalars_is_elementwise():
    t = Tensor([1.0, 2.0, 2.0])
    np.testing.assert_array_equal((t == 2).data, [False, True, True])
    np.testing.assert_array_equal((2.0 != t).data, [True, False, False])


def test_eq_with_non_numbers_is_false_by_identity_as_in_pytorch():
    t = Tensor([1.0])
    assert (t == None) is False and (t != None) is True  # noqa: E711
    assert (t == "a") is False
    assert t.__eq__(object()) is NotImplemented


def test_hash_stays_identity_so_dicts_and_sets_of_equal_tensors_work():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b, a}) == 2
    assert hash(a) == object.__hash__(a)


def test_comparisons_of_incompatible_shapes_raise_as_the_other_comparisons_do():
    with pytest.raises(ValueError):
        _ = Tensor([1.0, 2.0]) == Tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        _ = Tensor([1.0, 2.0]) < Tensor([1.0, 2.0, 3.0])


def test_parameters_with_equal_values_stay_distinct_in_modules_and_optimizers():
    first, second = tg.nn.Linear(2, 2, seed=0), tg.nn.Linear(2, 2, seed=0)  # equal values
    model = tg.nn.Sequential(first, second, first)  # `first` shared: listed once, by identity
    params = list(model.parameters())
    assert len(params) == 4 and params[0] is first.weight and params[2] is second.weight
    model(np.ones((1, 2))).sum().backward()
    before = [p.data.copy() for p in params]
    tg.optim.SGD(params, lr=0.1).step()
    for p, old in zip(params, before):
        np.testing.assert_allclose(p.data, old - 0.1 * p.grad)


# ----------------------------------------------------------------------------- conversions


def test_float_int_and_bool_of_one_element_tensors():
    assert float(Tensor([[2.5]])) == 2.5 and isinstance(float(Tensor(2.5)), float)
    assert int(Tensor([2.7])) == 2 and int(Tensor(-2.7)) == -2  # truncates, like int(2.7)
    assert bool(Tensor([0.0])) is False and bool(Tensor(3)) is True
    assert float(Tensor(1.0, requires_grad=True) * 3) == 3.0


@pytest.mark.parametrize("convert", [float, int])
def test_float_and_int_of_a_multi_element_tensor_name_the_shape(convert):
    with pytest.raises(ValueError, match=r"only a one-element tensor.*\(2, 3\)"):
        convert(Tensor(np.zeros((2, 3))))


def test_bool_of_a_multi_element_tensor_is_ambiguous_and_names_the_shape():
    with pytest.raises(ValueError, match=r"ambiguous.*\(2,\)|\(2,\).*ambiguous"):
        bool(Tensor([1.0, 2.0]))


def test_index_works_for_one_element_integer_and_bool_tensors_as_in_pytorch():
    items = [10, 20, 30]
    assert items[Tensor(2)] == 30 and items[Tensor([1])] == 20 and items[Tensor(True)] == 20
    assert list(range(Tensor(3))) == [0, 1, 2]


@pytest.mark.parametrize("value", [1.0, [1, 2]])
def test_index_rejects_float_and_multi_element_tensors_with_pytorchs_message(value):
    with pytest.raises(TypeError, match="only integer tensors of a single element can be "
                                        "converted to an index"):
        [1, 2, 3][Tensor(value)]


def test_np_asarray_is_the_data_itself():
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    assert np.asarray(t) is t.data
    np.testing.assert_array_equal(np.array(t), t.data)
    assert np.array(t) is not t.data  # np.array copies by default
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert np.asarray([Tensor(1.0), Tensor(2.0)]).dtype == np.float64


def test_array_protocol_follows_numpys_copy_argument():
    t = Tensor([1.0, 2.0])
    assert t.__array__(copy=True) is not t.data
    assert t.__array__(copy=False) is t.data
    with pytest.raises(ValueError, match="copy=False"):
        t.__array__(np.float32, copy=False)


def test_numpy_ufuncs_still_hand_tensors_back_to_the_engine():
    t = Tensor([1.0, 2.0], requires_grad=True)
    out = np.ones(2) * t
    assert isinstance(out, Tensor) and out.requires_grad


# --------------------------------------------------------------------------- dtype promotion
# torch 2.13: a * b for the row dtype (a tensor with an axis) and the column operand.

DIM = {  # both operands tensors with at least one axis (symmetric)
    ("float16", "float16"): "float16", ("float16", "float32"): "float32",
    ("float16", "float64"): "float64", ("float16", "int32"): "float16",
    ("float16", "int64"): "float16", ("float16", "bool"): "float16",
    ("float32", "float32"): "float32", ("float32", "float64"): "float64",
    ("float32", "int32"): "float32", ("float32", "int64"): "float32",
    ("float32", "bool"): "float32",
    ("float64", "float64"): "float64", ("float64", "int32"): "float64",
    ("float64", "int64"): "float64", ("float64", "bool"): "float64",
    ("int32", "int32"): "int32", ("int32", "int64"): "int64", ("int32", "bool"): "int32",
    ("int64", "int64"): "int64", ("int64", "bool"): "int64",
    ("bool", "bool"): "bool",
}
SCALAR = {  # a tensor (any number of axes) with a Python scalar
    ("float16", int): "float16", ("float16", float): "float16", ("float16", bool): "float16",
    ("float32", int): "float32", ("float32", float): "float32", ("float32", bool): "float32",
    ("float64", int): "float64", ("float64", float): "float64", ("float64", bool): "float64",
    ("int32", int): "int32", ("int32", float): "float64", ("int32", bool): "int32",
    ("int64", int): "int64", ("int64", float): "float64", ("int64", bool): "int64",
    ("bool", int): "int64", ("bool", float): "float64", ("bool", bool): "bool",
}
ZERO_D = {  # a tensor with an axis (first) with a 0-d tensor (second)
    ("float16", "float16"): "float16", ("float16", "float32"): "float16",
    ("float16", "float64"): "float16", ("float16", "int32"): "float16",
    ("float16", "int64"): "float16", ("float16", "bool"): "float16",
    ("float32", "float16"): "float32", ("float32", "float32"): "float32",
    ("float32", "float64"): "float32", ("float32", "int32"): "float32",
    ("float32", "int64"): "float32", ("float32", "bool"): "float32",
    ("float64", "float16"): "float64", ("float64", "float32"): "float64",
    ("float64", "float64"): "float64", ("float64", "int32"): "float64",
    ("float64", "int64"): "float64", ("float64", "bool"): "float64",
    ("int32", "float16"): "float16", ("int32", "float32"): "float32",
    ("int32", "float64"): "float64", ("int32", "int32"): "int32", ("int32", "int64"): "int32",
    ("int32", "bool"): "int32",
    ("int64", "float16"): "float16", ("int64", "float32"): "float32",
    ("int64", "float64"): "float64", ("int64", "int32"): "int64", ("int64", "int64"): "int64",
    ("int64", "bool"): "int64",
    ("bool", "float16"): "float16", ("bool", "float32"): "float32",
    ("bool", "float64"): "float64", ("bool", "int32"): "int32", ("bool", "int64"): "int64",
    ("bool", "bool"): "bool",
}
DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]
SCALARS = {int: 2, float: 1.5, bool: True}


def _dim(a, b):
    return DIM.get((a, b)) or DIM[(b, a)]


def _expected(x, y):
    """The torch dtype of `x op y` for operand specs ("tensor"|"0d", dtype) or ("scalar", type)."""
    (kx, dx), (ky, dy) = x, y
    if kx == "scalar":
        return SCALAR[(dy, dx)]
    if ky == "scalar":
        return SCALAR[(dx, dy)]
    if kx == ky:
        return _dim(dx, dy)
    return ZERO_D[(dx, dy)] if kx == "tensor" else ZERO_D[(dy, dx)]


def _make(spec, shape=(2,)):
    """A tensor (float ones require grad) or a Python scalar; values 1 and 2 (True for bool)."""
    kind, dtype = spec
    if kind == "scalar":
        return SCALARS[dtype]
    shape = shape if kind == "tensor" else ()
    values = np.resize(np.array([1, 2]), shape).astype(dtype) if dtype != "bool" else \
        np.ones(shape, dtype=bool)
    return Tensor(values, requires_grad=values.dtype.kind == "f", dtype=values.dtype)


def _as_array(x, dtype):
    return (x.data if isinstance(x, Tensor) else np.asarray(x)).astype(dtype)


_OPERANDS = st.one_of(st.tuples(st.sampled_from(["tensor", "0d"]), st.sampled_from(DTYPES)),
                      st.tuples(st.just("scalar"), st.sampled_from([int, float, bool])))
_ARITHMETIC = {"Add": (operator.add, np.add), "Sub": (operator.sub, np.subtract),
               "Mul": (operator.mul, np.multiply), "Div": (operator.truediv, np.true_divide),
               "Pow": (operator.pow, np.power)}


def _check_result(out, expected, reference, inputs, op):
    assert out.dtype == np.dtype(expected), (f"{op}: operands "
                                             f"{[getattr(x, 'dtype', type(x)) for x in inputs]} "
                                             f"gave {out.dtype}, PyTorch gives {expected}")
    np.testing.assert_array_equal(out.data, reference, err_msg=op)
    if out.requires_grad:  # gradients keep each input's own dtype
        out.backward(np.ones(out.shape, dtype=out.dtype))
        for x in inputs:
            if isinstance(x, Tensor) and x.requires_grad:
                assert x.grad.dtype == x.dtype, f"{op}: grad {x.grad.dtype} for a {x.dtype} input"


_GRID = [(kind, d) for kind in ("tensor", "0d") for d in DTYPES] + \
    [("scalar", t) for t in (int, float, bool)]


@pytest.mark.parametrize("op", sorted(_ARITHMETIC))
def test_promotion_of_arithmetic_operators_matches_pytorchs_table_on_the_whole_grid(op):
    for x in _GRID:
        for y in _GRID:
            if x[0] != "scalar" or y[0] != "scalar":
                _check_arithmetic(op, x, y, (2,))


@given(op=st.sampled_from(sorted(_ARITHMETIC)), x=st.sampled_from(_GRID),
       y=st.sampled_from(_GRID), shapes=broadcastable_shapes(min_dims=1))
def test_promotion_of_arithmetic_operators_holds_for_broadcast_shapes(op, x, y, shapes):
    if x[0] != "scalar" or y[0] != "scalar":
        _check_arithmetic(op, x, y, *shapes)


def _check_arithmetic(op, x, y, shape_x, shape_y=(2,)):
    if op in ("Sub", "Pow") and x[1] in ("bool", bool) and y[1] in ("bool", bool):
        return  # bool - bool and bool ** bool are errors in PyTorch and numpy alike
    python_op, numpy_op = _ARITHMETIC[op]
    a, b = _make(x, shape_x), _make(y, shape_y)
    expected = _expected(x, y)
    if op == "Div" and np.dtype(expected).kind != "f":
        expected = "float64"  # true division of integers gives our default float
    out = python_op(a, b)
    compute = expected if op != "Div" else _expected(x, y)
    reference = numpy_op(_as_array(a, compute), _as_array(b, compute))
    _check_result(out, expected, reference.astype(expected), (a, b), op)


@pytest.mark.parametrize("x", DTYPES)
def test_promotion_of_matmul_addmm_and_where_matches_pytorchs_table_on_the_whole_grid(x):
    for y in DTYPES:
        for c in _GRID:
            _check_matmul_addmm_where(x, y, c)


def _check_matmul_addmm_where(x, y, c):
    a, b = _make(("tensor", x), (2, 2)), _make(("tensor", y), (2, 2))
    expected = _dim(x, y)
    out = a @ b
    _check_result(out, expected, _as_array(a, expected) @ _as_array(b, expected), (a, b),
                  "MatMul")
    bias = _make(c, (2,))
    expected_addmm = _expected(("tensor", expected), c)  # x @ y's dtype, then the bias's
    out = ops.Addmm.apply(bias, a, b)
    reference = _as_array(bias, expected_addmm) + _as_array(a, expected_addmm) @ _as_array(
        b, expected_addmm)
    _check_result(out, expected_addmm, reference, (bias, a, b), "Addmm")
    cond = np.array([True, False])
    first, other = _make(("tensor", x)), _make(c, (2,))
    out = tg.where(cond, first, other)
    expected_where = _expected(("tensor", x), c)
    reference = np.where(cond, _as_array(first, expected_where), _as_array(other, expected_where))
    _check_result(out, expected_where, reference, (first, other), "Where")


@pytest.mark.parametrize("join", ["Cat", "Stack"])
def test_promotion_of_cat_and_stack_matches_pytorchs_table_for_every_pair(join):
    for x in DTYPES:
        for y in DTYPES:
            _check_join([x, y], join)


@given(dtypes=st.lists(st.sampled_from(DTYPES), min_size=1, max_size=4),
       join=st.sampled_from(["Cat", "Stack"]))
def test_promotion_of_cat_and_stack_matches_pytorchs_table_for_any_number(dtypes, join):
    _check_join(dtypes, join)


def _check_join(dtypes, join):
    parts = [_make(("tensor", d)) for d in dtypes]
    expected = dtypes[0]
    for d in dtypes[1:]:
        expected = _dim(expected, d)
    out = (tg.cat if join == "Cat" else tg.stack)(parts)
    numpy_join = np.concatenate if join == "Cat" else np.stack
    _check_result(out, expected, numpy_join([_as_array(p, expected) for p in parts]), parts,
                  join)


@pytest.mark.parametrize("scalar", [np.float64(2.0), np.float32(2.0), np.int64(2), np.bool_(1)])
def test_numpy_scalars_never_upcast_a_tensor_like_python_scalars(scalar):
    for dtype in (np.float16, np.float32):
        t = Tensor([1.0, 2.0], dtype=dtype)
        for out in (t * scalar, scalar * t, t + scalar, t ** scalar, t / scalar):
            assert out.dtype == dtype, f"{type(scalar).__name__} turned {dtype} into {out.dtype}"
    assert (Tensor([1, 2], dtype=np.int32) + np.int64(1)).dtype == np.int32


def test_lists_and_ndarrays_count_as_tensors_of_their_own_dtype():
    t = Tensor([1.0, 2.0], dtype=np.float32)
    assert (t + np.array([1.0, 2.0])).dtype == np.float64
    assert (t + np.array([1, 2])).dtype == np.float32
    assert (Tensor([1, 2], dtype=np.int32) + [1.5, 2.5]).dtype == np.float64


def test_promotion_is_cheap_for_same_dtype_and_leaves_parents_alone():
    a = Tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    b = Tensor([1, 2], dtype=np.int64)
    out = a * b
    assert out.grad_fn.parents[0] is a and out.grad_fn.parents[1] is b
    out.sum().backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_array_equal(a.grad, [1.0, 2.0])


def test_python_scalar_exponent_uses_pow_scalar_and_saves_only_the_base():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for y in (x ** 2, x ** 0.5, x.sqrt(), x ** np.float64(3.0)):
        assert y.grad_fn.name == "PowScalar", y.grad_fn
        assert len(y.grad_fn.saved_tensors) == 1 and y.grad_fn.saved_tensors[0] is x.data
        assert len(y.grad_fn.parents) == 1
    assert (x ** Tensor(2.0)).grad_fn.name == "Pow" and (2 ** x).grad_fn.name == "Pow"


@pytest.mark.parametrize("dtype, exponent, expected", [
    ("int32", 2, "int32"), ("int32", 0.5, "float64"), ("bool", 2, "int64"),
    ("float16", 2, "float16"), ("float32", 0.5, "float32"), ("int64", True, "int64"),
])
def test_pow_scalar_dtypes_match_pytorch(dtype, exponent, expected):
    assert (Tensor(np.array([1, 2]).astype(dtype)) ** exponent).dtype == np.dtype(expected)


def test_randn_takes_a_shape_tuple_like_pytorch_and_only_float_dtypes():
    rng = np.random.default_rng(0)
    assert tg.randn((2, 3), rng=rng).shape == (2, 3) and tg.randn(2, 3, rng=rng).shape == (2, 3)
    assert tg.randn(4, dtype=np.float32, rng=rng).dtype == np.float32
    with pytest.raises(TypeError, match="floating-point"):
        tg.randn(2, dtype=np.int64)


def test_a_python_scalar_never_upcasts_a_float32_tensor_in_a_users_own_op():
    class Scale(tg.autograd.Function):  # no promote_from: a user's op without promotion
        @staticmethod
        def forward(ctx, x, factor):
            return x * factor

        @staticmethod
        def backward(ctx, g):
            return g, None

    assert Scale.apply(Tensor([1.0], dtype=np.float32), 2.0).dtype == np.float32
