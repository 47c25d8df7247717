"""Preparing a 1-D series for training: windows, sequences, splits, scaling.

Shapes: a series is a 1-D float64 array ``(N,)``. :func:`make_windows`
gives feed-forward pairs ``inputs (N', window)`` / ``targets (N',)`` (feed
the previous ``window`` values, predict the next); :func:`to_sequences`
gives time-major RNN pairs ``inputs (T, B, 1)`` / ``targets (T, B, 1)``
where the target is the next value. Split chronologically with
:func:`train_test_split` and fit :class:`Standardizer` on the training part
only.
"""

from __future__ import annotations

import numpy as np

from ._common import as_series, check_float, check_int


def make_windows(
    series: np.ndarray, window: int, horizon: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows for a feed-forward "previous ``window`` values" model.

    ``inputs[i] = series[i : i + window]`` and
    ``targets[i] = series[i + window + horizon - 1]`` (with ``horizon=1``,
    the value right after the window).

    Returns:
        ``(inputs, targets)``: float64 arrays of shapes ``(N, window)`` and
        ``(N,)`` with ``N = len(series) - window - horizon + 1``.
    """
    func = "make_windows"
    values = as_series(func, series)
    window = check_int(func, "window", window)
    horizon = check_int(func, "horizon", horizon)
    count = len(values) - window - horizon + 1
    if count < 1:
        raise ValueError(
            f"{func}: series of length {len(values)} is too short for window={window} and "
            f"horizon={horizon}; need at least {window + horizon} values"
        )
    rows = np.arange(count)[:, None] + np.arange(window)[None, :]
    inputs = values[rows]
    targets = values[window + horizon - 1 : window + horizon - 1 + count]
    return inputs, targets.copy()


def to_sequences(
    series: np.ndarray, seq_len: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into time-major next-value training pairs for an RNN.

    Sequence ``b`` starts at ``b * stride``: ``inputs[t, b, 0] =
    series[b * stride + t]`` and ``targets[t, b, 0] = series[b * stride + t + 1]``.

    Args:
        series: 1-D array of length at least ``seq_len + 1``.
        seq_len: number of time steps ``T`` per sequence.
        stride: offset between sequence starts; default ``seq_len``
            (non-overlapping inputs).

    Returns:
        ``(inputs, targets)``: float64 arrays, both of shape ``(T, B, 1)`` with
        ``B = (len(series) - seq_len - 1) // stride + 1``.
    """
    func = "to_sequences"
    values = as_series(func, series)
    seq_len = check_int(func, "seq_len", seq_len)
    stride = seq_len if stride is None else check_int(func, "stride", stride)
    if len(values) < seq_len + 1:
        raise ValueError(
            f"{func}: series of length {len(values)} is too short for seq_len={seq_len}; "
            f"need at least {seq_len + 1} values"
        )
    batch = (len(values) - seq_len - 1) // stride + 1
    starts = np.arange(batch) * stride
    rows = np.arange(seq_len)[:, None] + starts[None, :]
    return values[rows][:, :, None], values[rows + 1][:, :, None]


def train_test_split(
    series: np.ndarray, test_fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Split a series chronologically (no shuffling): the last part is the test set.

    The test part has ``max(1, round(len(series) * test_fraction))`` values.

    Returns:
        ``(train, test)``: 1-D float64 arrays with
        ``np.concatenate([train, test]) == series``.
    """
    func = "train_test_split"
    values = as_series(func, series)
    fraction = check_float(func, "test_fraction", test_fraction, 0.0, 1.0, False, False)
    n_test = max(1, int(round(len(values) * fraction)))
    if n_test >= len(values):
        raise ValueError(
            f"{func}: series of length {len(values)} with test_fraction={fraction} leaves no "
            f"training values"
        )
    return values[:-n_test].copy(), values[-n_test:].copy()


class Standardizer:
    """Zero-mean, unit-variance scaling. Fit on the training data only.

    ``transform(x) = (x - mean) / std`` with scalar ``mean`` and ``std``
    computed over all elements passed to :meth:`fit` (``std`` is taken as 1.0
    for constant data). Works on arrays of any shape, e.g. ``(N,)`` series or
    ``(T, B, 1)`` batches, and returns float64 arrays of the same shape.
    """

    def __init__(self) -> None:
        self.mean: float | None = None
        self.std: float | None = None

    def fit(self, data: np.ndarray) -> Standardizer:
        """Compute ``mean`` and ``std`` of ``data``; return ``self``."""
        values = self._as_array("fit", data)
        if values.size == 0:
            raise ValueError("Standardizer.fit: data is empty")
        self.mean = float(values.mean())
        std = float(values.std())
        self.std = std if std > 0.0 else 1.0
        return self

    def transform(self, data: np.ndarray) -> np.ndarray:
        """Scale ``data`` with the fitted statistics."""
        mean, std = self._fitted("transform")
        return (self._as_array("transform", data) - mean) / std

    def inverse_transform(self, data: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: ``data * std + mean``."""
        mean, std = self._fitted("inverse_transform")
        return self._as_array("inverse_transform", data) * std + mean

    def fit_transform(self, data: np.ndarray) -> np.ndarray:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    def _fitted(self, method: str) -> tuple[float, float]:
        if self.mean is None or self.std is None:
            raise RuntimeError(f"Standardizer.{method}: call fit() on the training data first")
        return self.mean, self.std

    @staticmethod
    def _as_array(method: str, data: object) -> np.ndarray:
        try:
            values = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"Standardizer.{method}: data must be an array of numbers ({exc})"
            ) from None
        if not np.all(np.isfinite(values)):
            raise ValueError(f"Standardizer.{method}: data contains NaN or infinite values")
        return values
