"""The engine's buffer cache: an array anyone can still reach is never handed out again."""

import tracemalloc

import numpy as np
import pytest

from tinygrad_rnn import Tensor, buffers, nn, optim
from tinygrad_rnn.functional import squared_error

SHAPE = (64, 64)  # 32 KiB of float64: cached


@pytest.fixture(autouse=True)
def fresh_cache():
    buffers.empty_cache()
    yield
    buffers.empty_cache()
    buffers.limit(1 << 30)


def test_a_free_array_is_reused_and_a_held_one_is_not():
    a = buffers.empty(SHAPE, np.float64)
    a_id = id(a)
    b = buffers.empty(SHAPE, np.float64)
    assert b is not a, "a is still referenced by the test"
    del a
    c = buffers.empty(SHAPE, np.float64)
    assert id(c) == a_id, "the free array comes back"
    assert c is not b


def _hold(a, holder):
    a[...] = 7.0
    makers = {"view": lambda: a[1:], "tensor": lambda: Tensor._wrap(a, None, 0),
              "list": lambda: [a], "memoryview": lambda: memoryview(a)}
    return makers[holder](), id(a)


@pytest.mark.parametrize("holder", ["view", "tensor", "list", "memoryview"])
def test_every_kind_of_reference_keeps_an_array_out_of_the_cache(holder):
    kept, a_id = _hold(buffers.empty(SHAPE, np.float64), holder)
    for _ in range(4):
        again = buffers.empty(SHAPE, np.float64)
        assert id(again) != a_id, f"an array held by a {holder} was handed out again"
        again[...] = 0.0
    data = kept if holder in ("view", "memoryview") else (kept[0] if holder == "list"
                                                          else kept.data)
    assert np.all(np.asarray(data) == 7.0), "the held array's contents must not change"


def test_a_long_lived_array_does_not_block_reuse_of_later_ones():
    long_lived = buffers.empty(SHAPE, np.float64)  # noqa: F841 (held for the whole test)
    ids = set()
    for _ in range(50):
        ids.add(id(buffers.empty(SHAPE, np.float64)))
    assert buffers.cached_bytes() <= 4 * 64 * 64 * 8, "the cache must not grow without bound"
    assert len(ids) <= 3


def test_transient_arrays_wait_in_their_own_queue():
    shared = buffers.empty(SHAPE, np.float64)
    shared_id = id(shared)
    del shared
    short = buffers.empty(SHAPE, np.float64, transient=True)
    assert id(short) != shared_id, "a transient request never takes a shared queue's array"
    short_id = id(short)
    del short
    again = buffers.empty(SHAPE, np.float64, transient=True)
    assert id(again) == short_id, "the dropped transient array comes back"
    assert id(buffers.empty(SHAPE, np.float64)) == shared_id
    held = buffers.empty(SHAPE, np.float64, transient=True)
    assert held is not again, "one still referenced is never handed out"


def test_a_warm_recurrent_backward_recycles_its_few_transient_gradients():
    """h's gradient (g Wᵀ) and its sum with the read-out's part are dropped a node later: a
    warm step reuses a handful of them, not one per time step (they stay in the CPU's cache)."""
    T, B, H = 40, 32, 64
    rnn = nn.RNN(3, H)
    x = Tensor(np.random.default_rng(0).standard_normal((T, B, 3)))

    def step():  # (the graph is dropped when it returns)
        rnn.zero_grad()
        hs, _ = rnn(x)
        (hs * hs).sum().backward()

    for _ in range(3):
        step()
    transient = len(buffers._QUEUES[((B, H), np.dtype(np.float64), True)])
    assert 2 <= transient <= 8, f"{transient} transient (B, H) arrays for T={T} steps"
    # what lives until the pass ends: z and h per step forward, tanh's gradient per step
    shared = len(buffers._QUEUES[((B, H), np.dtype(np.float64))])
    assert shared <= 3 * T + 2, f"{shared} shared (B, H) arrays for T={T} steps"


def test_small_arrays_are_not_cached():
    buffers.empty((4, 4), np.float64)
    assert buffers.cached_bytes() == 0


def test_a_matmul_with_a_small_result_does_not_look_in_the_cache(monkeypatch):
    """(1, 32) @ (32, 32): the weight is 8 KiB but the result is 256 bytes, which the cache
    never keeps; the forward and backward matmuls go straight to numpy (a lookup cost the long
    benchmark two per time step)."""
    rng = np.random.default_rng(0)
    h = Tensor(rng.standard_normal((1, 32)), requires_grad=True)
    w = Tensor(rng.standard_normal((32, 32)), requires_grad=True)
    b = Tensor(rng.standard_normal((1, 32)), requires_grad=True)
    asked = []
    real = buffers.empty
    monkeypatch.setattr(buffers, "empty", lambda *a, **k: asked.append(a[0]) or real(*a, **k))
    out = (h @ w.T + b).tanh().sum() + (h @ w).sum()
    out.backward()
    assert (1, 32) not in asked, asked  # the results of h Wᵀ, h W and g W, g Wᵀ in backward
    np.testing.assert_allclose(h.grad, (1 - np.tanh(h.data @ w.data.T + b.data) ** 2) @ w.data
                               + w.data.sum(axis=1), rtol=1e-12)


def test_the_limit_drops_least_recently_used_shapes():
    buffers.limit(3 * 64 * 64 * 8)
    held = [buffers.empty(SHAPE, np.float64) for _ in range(2)]
    other = buffers.empty((128, 64), np.float64)  # pushes the total past the limit
    assert buffers.cached_bytes() <= buffers.limit()
    assert other.shape == (128, 64) and all(h.shape == SHAPE for h in held)
    with pytest.raises(ValueError, match="max_bytes"):
        buffers.limit(-1)


def test_training_steps_reuse_activations_and_stay_exact():
    """Same gradients with the cache as after emptying it before every step."""
    def run(clear):
        model = nn.ElmanRNN(8, 64, 8, seed=0)
        opt = optim.SGD(model.parameters(), lr=0.01)
        rng = np.random.default_rng(0)
        x, g = rng.standard_normal((12, 16, 8)), rng.standard_normal((12, 16, 8))
        grads = []
        for _ in range(4):
            if clear:
                buffers.empty_cache()
            opt.zero_grad()
            ys, _ = model(Tensor(x))
            squared_error(ys, g).backward()
            grads.append(model.W.grad.copy())
            opt.step()
        return grads
    reused, fresh = run(False), run(True)
    assert buffers.cached_bytes() > 0
    for step, (a, b) in enumerate(zip(reused, fresh)):
        np.testing.assert_array_equal(a, b, err_msg=f"step {step}")


def test_outputs_kept_from_an_earlier_step_are_not_overwritten():
    model = nn.ElmanRNN(8, 64, 8, seed=0)
    x = Tensor(np.random.default_rng(1).standard_normal((6, 16, 8)))
    first, _ = model(x)
    snapshot = first.data.copy()
    for _ in range(3):
        ys, _ = model(x * 2.0)
        squared_error(ys, np.zeros(ys.shape)).backward()
    np.testing.assert_array_equal(first.data, snapshot)


def test_with_the_cache_off_nothing_is_kept(monkeypatch):
    monkeypatch.setattr(buffers, "ENABLED", False)
    arrays = [buffers.empty(SHAPE, np.float64) for _ in range(3)]
    assert buffers.cached_bytes() == 0 and not buffers._QUEUES
    assert all(a.shape == SHAPE and a.flags.c_contiguous for a in arrays)


def _peak_new_memory(call, warmups):
    """tracemalloc's peak during one `call()` after `warmups` calls: the memory it had to get
    anew (Python objects, and any array that did not come from the buffer cache)."""
    for _ in range(warmups):
        call()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _new_bytes_of_warm_step(layer, T):
    """The peak new memory of one warm SGD training step of `layer` over T steps."""
    rng = np.random.default_rng(0)
    x, g = Tensor(rng.standard_normal((T, 32, 4))), Tensor(rng.standard_normal((T, 32, 256)))
    opt = optim.SGD(layer.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        hs, _ = layer(x)
        (0.5 * ((hs - g) ** 2).sum()).backward()
        opt.step()

    return _peak_new_memory(step, warmups=3)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_warm_step_gets_no_new_memory_per_time_step_for_arrays(kind):
    """An array that outlives its op (a state, a gradient kept for the weights' sum, a copy a
    permuted reshape needs) comes from the cache once warm: glibc would otherwise hand the
    memory back after each step and page-fault it in again the next. Measured as the growth
    of a warm step's new memory per time step, which must stay well under one (B, H) array
    (64 KiB here; the graph's own Python objects are a few KiB per step)."""
    make = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind]
    short = _new_bytes_of_warm_step(make(4, 256, seed=0), 8)
    long = _new_bytes_of_warm_step(make(4, 256, seed=0), 24)
    per_step = (long - short) / 16
    assert per_step < 32 * 256 * 8 / 2, (
        f"{kind}: a warm training step got {per_step / 1024:.1f} KiB of new memory per time "
        f"step (one (B, H) array is 64 KiB): some op's result bypasses the buffer cache")


@pytest.mark.parametrize("output", ["identity", "softmax"])
def test_a_warm_classifier_step_gets_its_large_arrays_from_the_cache(output):
    """A char-RNN-like step: ElmanRNN over one-hot inputs, then cross_entropy on the logits
    (log-softmax: a row maximum and a log-sum-exp subtracted, exp, a scatter back) or a
    softmax read-out with the squared error (a division by the row sums). Every (T·B, V)
    array those ops keep comes from the cache once warm; what is new in a warm step is a
    transient or two, well under two (T·B, V) arrays (before: about six)."""
    from tinygrad_rnn.losses import cross_entropy

    T, B, V = 20, 16, 64
    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, (T, B))
    x, target = Tensor(np.eye(V)[ids]), rng.integers(0, V, (T * B,))
    model = nn.ElmanRNN(V, 64, V, output=output, seed=0)
    opt = optim.SGD(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        ys, _ = model(x)
        loss = (cross_entropy(ys.reshape(T * B, V), target) if output == "identity"
                else squared_error(ys, x))
        loss.backward()
        opt.step()

    peak = _peak_new_memory(step, warmups=4)
    one = T * B * V * 8
    assert peak < 2 * one, (f"{output}: a warm step got {peak / 1024:.0f} KiB of new memory; "
                            f"one (T·B, V) array is {one / 1024:.0f} KiB")


@pytest.mark.parametrize("y_shape", [(64, 64), (64,), (1, 64), (64, 1), (1, 1), ()])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_large_binary_ops_into_cached_buffers_match_numpy(op, y_shape):
    """A large x with any y that broadcasts into it computes into a cached buffer: numpy's
    values, no memory shared with an input, and the gradients of both operands exact."""
    import operator

    fn = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
          "div": operator.truediv}[op]
    rng = np.random.default_rng(3)
    xa, ya = rng.standard_normal(SHAPE), rng.uniform(0.5, 2.0, y_shape)
    weights = rng.standard_normal(SHAPE)
    for _ in range(3):  # the later rounds reuse the cache's buffers
        x, y = Tensor(xa, requires_grad=True), Tensor(ya, requires_grad=True)
        out = fn(x, y)
        np.testing.assert_array_equal(out.data, fn(xa, ya))
        assert not np.shares_memory(out.data, x.data) and not np.shares_memory(out.data, y.data)
        (out * weights).sum().backward()
        dx = {"add": weights, "sub": weights, "mul": weights * ya, "div": weights / ya}[op]
        dy = {"add": weights, "sub": -weights, "mul": weights * xa,
              "div": -weights * xa / ya ** 2}[op]
        np.testing.assert_allclose(x.grad, np.broadcast_to(dx, SHAPE), rtol=1e-12)
        axes = tuple(range(len(SHAPE) - len(y_shape)))
        want_dy = dy.sum(axis=axes)
        keep = tuple(i for i, n in enumerate(y_shape) if n == 1)
        want_dy = want_dy.sum(axis=keep, keepdims=True) if keep else want_dy
        np.testing.assert_allclose(y.grad, want_dy.reshape(y_shape), rtol=1e-10, atol=1e-12)


OPTIMIZERS = {  # every update rule, with the options that add temporaries
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: optim.Adam(ps, amsgrad=True),
    "AdamW": lambda ps: optim.AdamW(ps),
    "RMSprop-centered": lambda ps: optim.RMSprop(ps, centered=True, momentum=0.9),
    "RMSprop": lambda ps: optim.RMSprop(ps),
    "Adagrad": lambda ps: optim.Adagrad(ps),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_warm_optimizer_step_makes_no_large_temporaries(name):
    """The update's temporaries go through one reused buffer: a warm step of a 128 KiB weight
    gets (almost) no new memory, where each temporary used to be a fresh 128 KiB array."""
    p = Tensor(np.random.default_rng(0).standard_normal((128, 128)), requires_grad=True)
    opt = OPTIMIZERS[name]([p])
    p.grad = np.full(p.shape, 0.5)
    peak = _peak_new_memory(opt.step, warmups=2)
    assert peak < 128 * 128 * 8 / 4, f"a warm step got {peak / 1024:.0f} KiB of new memory"


def test_broadcasts_into_follows_numpys_rule():
    from tinygrad_rnn.dual import _broadcasts_into

    for small, shape in [((), (3, 4)), ((4,), (3, 4)), ((1, 4), (3, 4)), ((3, 1), (3, 4)),
                         ((2, 1, 4), (2, 3, 4)), ((3, 4), (3, 4))]:
        assert _broadcasts_into(small, shape), (small, shape)
    for small, shape in [((1, 3, 4), (3, 4)), ((4, 1), (3, 4)), ((3,), (3, 4)),
                         ((5, 4), (3, 4))]:
        assert not _broadcasts_into(small, shape), (small, shape)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_an_optimizer_step_with_a_gradient_of_another_dtype_still_updates(name):
    """A gradient the user assigned in float64 to a float32 parameter does not match the
    reused buffer, so the update's temporaries are fresh arrays: the same step as with the
    gradient in float32, up to float32 rounding."""
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal((70, 70)), rng.standard_normal((3, 70, 70))
    results = []
    for dtype in (np.float64, np.float32):
        p = Tensor(start.astype(np.float32), requires_grad=True)
        opt = OPTIMIZERS[name]([p])
        for g in grads:
            p.grad = g.astype(dtype)
            opt.step()
        assert p.dtype == np.float32
        results.append(p.data.copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-5)
