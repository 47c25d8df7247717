"""An independent oracle: the notes' RNN and its BPTT written by hand in numpy, no autodiff.

Model (row-vector form, time-major, batch B):
    a_t = x_t Uᵀ + h_{t−1} Wᵀ + b,   h_t = σ(a_t),   z_t = h_t Vᵀ + c,   y_t = φ(z_t)
    E   = ½ Σ_t Σ_i ||y_t⁽ⁱ⁾ − g_t⁽ⁱ⁾||²
BPTT (the δ recursion, from t = T down to 1, with δ_{T+1} = 0):
    ε_t = ∂E/∂z_t = J_φ(z_t)ᵀ (y_t − g_t)            (= y_t − g_t for φ = identity)
    δ_t = ∂E/∂a_t = σ'(a_t) ⊙ (ε_t V + δ_{t+1} W)
    ∂E/∂V = Σ_t ε_tᵀ h_t,   ∂E/∂c = Σ_t ε_t,   ∂E/∂W = Σ_t δ_tᵀ h_{t−1},
    ∂E/∂U = Σ_t δ_tᵀ x_t,   ∂E/∂b = Σ_t δ_t,   ∂E/∂h_0 = δ_1 W
Everything that does not depend on the recurrence is one matmul over all T·B rows; the loops
hold only the per-step matmul. float32 inputs stay float32. This is the benchmark's baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NONLINEARITIES = ("tanh", "sigmoid", "relu")


def _activate(a: np.ndarray, nonlinearity: str) -> np.ndarray:
    """σ(a), in place."""
    if nonlinearity == "tanh":
        return np.tanh(a, out=a)
    if nonlinearity == "sigmoid":  # σ(a) = (1 + tanh(a/2)) / 2 never overflows
        a *= 0.5
        np.tanh(a, out=a)
        a += 1
        a *= 0.5
        return a
    return np.maximum(a, 0, out=a)


def _derivative(h: np.ndarray, nonlinearity: str, out: np.ndarray) -> np.ndarray:
    """σ'(a) expressed through h = σ(a), into out: 1 − h², h(1 − h), or [h > 0]."""
    if nonlinearity == "tanh":
        np.multiply(h, h, out=out)
        return np.subtract(1, out, out=out)
    if nonlinearity == "sigmoid":
        np.subtract(1, h, out=out)
        return np.multiply(out, h, out=out)
    return np.greater(h, 0, out=out, casting="unsafe")


def _buffer(work: dict | None, name: str, shape: tuple, dtype: Any) -> np.ndarray:
    """An output array: from `work` when the caller keeps one across calls, else new.

    With a workspace the oracle allocates nothing per call once warm, as careful hand-written
    numpy would (a fresh (T, B, H) array per call costs page faults at medium sizes)."""
    if work is None:
        return np.empty(shape, dtype)
    key = (name, shape, np.dtype(dtype))
    if key not in work:
        work[key] = np.empty(shape, dtype)
    return work[key]


def _check(nonlinearity: str, output: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"reference: unknown nonlinearity {nonlinearity!r}")
    if output not in ("identity", "softmax"):
        raise ValueError(f"reference: unknown output {output!r}")


def numpy_rnn_forward(x: np.ndarray, U: np.ndarray, W: np.ndarray, b: np.ndarray,
                      V: np.ndarray, c: np.ndarray, h0: np.ndarray | None = None,
                      nonlinearity: str = "tanh", output: str = "identity",
                      work: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forward pass → (ys (T, B, O), hs (T + 1, B, H) with hs[0] = h0).

    work: a dict kept across calls to reuse every large array (ys and hs then live in it)."""
    _check(nonlinearity, output)
    T, B, I = x.shape
    H, O = W.shape[0], V.shape[0]
    dtype = np.result_type(x, U, W)
    xp = np.matmul(x.reshape(T * B, I), U.T, out=_buffer(work, "xp", (T * B, H), dtype))
    xp += b
    xp = xp.reshape(T, B, H)
    hs = _buffer(work, "hs", (T + 1, B, H), dtype)
    hs[0] = 0 if h0 is None else h0
    WT = W.T
    for t in range(T):
        a = hs[t + 1]
        np.matmul(hs[t], WT, out=a)
        a += xp[t]
        _activate(a, nonlinearity)
    z = np.matmul(hs[1:].reshape(T * B, H), V.T, out=_buffer(work, "z", (T * B, O), dtype))
    z += c
    if output == "softmax":
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        z /= z.sum(axis=-1, keepdims=True)
    return z.reshape(T, B, -1), hs


def numpy_rnn_forward_backward(x: np.ndarray, targets: np.ndarray, U: np.ndarray,
                               W: np.ndarray, b: np.ndarray, V: np.ndarray, c: np.ndarray,
                               h0: np.ndarray | None = None, nonlinearity: str = "tanh",
                               output: str = "identity", work: dict | None = None
                               ) -> tuple[float, dict[str, np.ndarray]]:
    """E and its gradients {U, W, b, V, c, h0} by the BPTT equations above.

    x (T, B, I), targets (T, B, O), U (H, I), W (H, H), b (H,), V (O, H), c (O,), h0 (B, H).
    work: a dict kept across calls, to reuse every large array instead of allocating it.
    """
    ys, hs = numpy_rnn_forward(x, U, W, b, V, c, h0, nonlinearity, output, work)
    T, B, I = x.shape
    H, O = W.shape[0], V.shape[0]
    err = np.subtract(ys, targets, out=_buffer(work, "err", ys.shape, ys.dtype))
    err = err.reshape(T * B, O)
    E = 0.5 * float(np.vdot(err, err))
    if output == "softmax":  # J_softmaxᵀ e = y ⊙ (e − ⟨y, e⟩)
        y = ys.reshape(T * B, O)
        err = y * (err - (y * err).sum(axis=-1, keepdims=True))
    h_all = hs.reshape((T + 1) * B, H)
    grads = {"V": err.T @ h_all[B:], "c": err.sum(axis=0)}
    delta = np.matmul(err, V, out=_buffer(work, "delta", (T * B, H), err.dtype))
    delta = delta.reshape(T, B, H)  # ε_t V, becomes δ_t in the loop
    deriv = _derivative(hs[1:], nonlinearity, _buffer(work, "deriv", (T, B, H), delta.dtype))
    delta *= deriv
    deriv_prev = deriv[: T - 1]  # σ'(a_t) for t < T, used again in the recursion
    carry = np.empty((B, H), dtype=delta.dtype)
    for t in range(T - 1, 0, -1):  # δ_t = σ'(a_t) ⊙ (ε_t V + δ_{t+1} W)
        np.matmul(delta[t], W, out=carry)
        carry *= deriv_prev[t - 1]
        delta[t - 1] += carry
    flat = delta.reshape(T * B, H)
    grads["W"] = flat.T @ h_all[: T * B]
    grads["U"] = flat.T @ x.reshape(T * B, I)
    grads["b"] = flat.sum(axis=0)
    grads["h0"] = delta[0] @ W
    return E, grads


def numpy_rnn_train_step(x: np.ndarray, targets: np.ndarray, params: dict[str, np.ndarray],
                         lr: float, h0: np.ndarray | None = None, nonlinearity: str = "tanh",
                         output: str = "identity", work: dict | None = None) -> float:
    """One full-BPTT SGD step: forward, backward, p −= lr·∂E/∂p in place. Returns E."""
    E, grads = numpy_rnn_forward_backward(x, targets, params["U"], params["W"], params["b"],
                                          params["V"], params["c"], h0, nonlinearity, output,
                                          work)
    for name in ("U", "W", "b", "V", "c"):
        grad = grads[name]
        grad *= lr
        params[name] -= grad
    return E


def numpy_rnn_loss(x: np.ndarray, targets: np.ndarray, U: np.ndarray, W: np.ndarray,
                   b: np.ndarray, V: np.ndarray, c: np.ndarray, h0: Any = None,
                   nonlinearity: str = "tanh", output: str = "identity") -> float:
    """E alone (for checking the oracle itself against finite differences)."""
    ys, _ = numpy_rnn_forward(x, U, W, b, V, c, h0, nonlinearity, output)
    return 0.5 * float(np.sum((ys - targets) ** 2))
