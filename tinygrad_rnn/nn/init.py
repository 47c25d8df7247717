"""Parameter initialisation, in place, for the vanishing/exploding-gradient experiments.

The default (as PyTorch's RNN) draws every parameter from U(−1/√H, 1/√H). The recurrent matrix W
can instead be set to the identity (Le et al.'s IRNN), to a random orthogonal matrix, or be
rescaled to a chosen spectral radius ρ(W) = max |eigenvalue|: ρ < 1 makes gradients vanish
over time, ρ > 1 (with a non-saturating σ) makes them explode.

Every function takes a `Tensor`/`Parameter` (its `.data` is changed in place) or an ndarray,
and an optional `rng`: an int seed, a `np.random.Generator`, or None for the module-wide
generator that `manual_seed` resets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor

_GLOBAL_RNG = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reset the generator used when no `rng`/`seed` is given (as torch.manual_seed)."""
    global _GLOBAL_RNG
    _GLOBAL_RNG = np.random.default_rng(seed)


def get_rng(rng: int | np.random.Generator | None = None) -> np.random.Generator:
    """A Generator from a seed, a Generator (returned as is) or None (the module-wide one)."""
    if rng is None:
        return _GLOBAL_RNG
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"init: seed must be a non-negative int, a numpy Generator or None, got "
                    f"{rng!r}")


def _array(t: Any, op: str) -> np.ndarray:
    array = t.data if isinstance(t, Tensor) else t
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point Tensor or ndarray, got "
                        f"{type(t).__name__}")
    return array


def _square(t: Any, op: str) -> np.ndarray:
    array = _array(t, op)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"{op}: expected a square matrix, got shape {array.shape}")
    return array


def uniform_(t: Any, low: float, high: float, rng: Any = None) -> Any:
    """t ~ U(low, high), in place."""
    array = _array(t, "uniform_")
    array[...] = get_rng(rng).uniform(low, high, size=array.shape)
    return t


def zeros_(t: Any) -> Any:
    _array(t, "zeros_")[...] = 0
    return t


def default_(t: Any, hidden_size: int, rng: Any = None) -> Any:
    """t ~ U(−1/√H, 1/√H), PyTorch's initialisation of every RNN/LSTM/GRU parameter."""
    bound = 1.0 / np.sqrt(hidden_size)
    return uniform_(t, -bound, bound, rng)


def spectral_radius(W: Any) -> float:
    """ρ(W) = max |λᵢ(W)|, the largest eigenvalue magnitude of a square matrix."""
    array = _square(W, "spectral_radius")
    return float(np.max(np.abs(np.linalg.eigvals(array.astype(np.float64)))))


def spectral_radius_(W: Any, rho: float, rng: Any = None) -> Any:
    """Rescale W in place so that ρ(W) = rho (a nilpotent W is first redrawn from N(0, 1/H))."""
    array = _square(W, "spectral_radius_")
    if not (np.isfinite(rho) and rho >= 0):
        raise ValueError(f"spectral_radius_: rho must be finite and >= 0, got {rho}")
    current = spectral_radius(array)
    generator = get_rng(rng)
    while current < 1e-12:  # only a (numerically) nilpotent W, e.g. all zeros
        array[...] = generator.standard_normal(array.shape) / np.sqrt(array.shape[0])
        current = spectral_radius(array)
    array *= rho / current
    return W


def orthogonal_(W: Any, gain: float = 1.0, rng: Any = None) -> Any:
    """W = gain · Q with Q orthogonal (rows or columns orthonormal), from the QR of a Gaussian."""
    array = _array(W, "orthogonal_")
    if array.ndim != 2:
        raise ValueError(f"orthogonal_: expected a matrix, got shape {array.shape}")
    rows, cols = array.shape
    gaussian = get_rng(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(gaussian)
    q *= np.sign(np.diag(r))  # makes Q uniformly (Haar) distributed
    array[...] = gain * (q if rows >= cols else q.T)
    return W


def identity_(W: Any, gain: float = 1.0) -> Any:
    """W = gain · I (the IRNN initialisation of Le, Jaitly & Hinton, 2015)."""
    array = _square(W, "identity_")
    array[...] = gain * np.eye(array.shape[0])
    return W


INIT_SCHEMES = ("default", "orthogonal", "identity")


def init_recurrent_(W: Any, scheme: str, spectral_radius_value: float | None,
                    rng: Any, layer: str) -> None:
    """Apply an RNN's `init=` scheme to W, then rescale to `spectral_radius` if one is given."""
    if scheme == "orthogonal":
        orthogonal_(W, 1.0, rng)
    elif scheme == "identity":
        identity_(W)
    elif scheme != "default":
        raise ValueError(f"{layer}: init must be one of {INIT_SCHEMES}, got {scheme!r}")
    if spectral_radius_value is not None:
        spectral_radius_(W, spectral_radius_value, rng)
