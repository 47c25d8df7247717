"""Synthetic sequence tasks, generated on the fly (no files, no network).

All arrays are time-major, like PyTorch's RNNs: ``(T, B, ...)`` with ``T``
the number of time steps and ``B`` the batch size. Every generator takes a
``seed`` (an ``int >= 0``, or ``None`` for fresh OS entropy); the same seed
always gives the same arrays.

- :func:`noisy_sines` — sine waves with random period and phase plus
  Gaussian noise, for next-step forecasting.
- :func:`adding_problem` — the long-range "adding problem" of Hochreiter &
  Schmidhuber (1997): sum the two marked values of a long sequence.
- :func:`copy_task` — the "copy memory" task (Hochreiter & Schmidhuber 1997;
  Arjovsky et al. 2016): remember a short symbol string across a long blank
  delay and reproduce it after a delimiter.
"""

from __future__ import annotations

import numpy as np

from ._common import check_float, check_int, check_seed

#: Class index of the blank symbol in :func:`copy_task`.
COPY_BLANK = 0


def noisy_sines(
    n_series: int,
    length: int,
    noise: float = 0.1,
    seed: int | None = 0,
    min_period: float = 8.0,
    max_period: float = 32.0,
) -> np.ndarray:
    """Generate ``n_series`` noisy sine waves of ``length`` steps each.

    Series ``b`` is ``sin(2*pi*t / period_b + phase_b) + noise * eps`` with
    ``period_b ~ Uniform[min_period, max_period]``,
    ``phase_b ~ Uniform[0, 2*pi)`` and ``eps ~ Normal(0, 1)`` i.i.d.

    Returns:
        float64 array of shape ``(length, n_series, 1)`` (time-major). For
        next-step prediction use ``inputs = s[:-1]`` and ``targets = s[1:]``.
    """
    func = "noisy_sines"
    n_series = check_int(func, "n_series", n_series)
    length = check_int(func, "length", length)
    noise = check_float(func, "noise", noise, low=0.0)
    min_period = check_float(func, "min_period", min_period, low=0.0, low_inclusive=False)
    max_period = check_float(func, "max_period", max_period, low=min_period)
    rng = check_seed(func, seed)

    periods = rng.uniform(min_period, max_period, size=n_series)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=n_series)
    t = np.arange(length, dtype=np.float64)[:, None]
    clean = np.sin(2.0 * np.pi * t / periods[None, :] + phases[None, :])
    noisy = clean + noise * rng.standard_normal(size=(length, n_series))
    return noisy[:, :, None].astype(np.float64)


def adding_problem(T: int, batch: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate a batch of the adding problem.

    Each sequence has ``T`` steps with two input features
    ``[value, marker]``: values are i.i.d. ``Uniform[0, 1)``; exactly two
    markers are ``1.0`` (one in the first half ``[0, T//2)``, one in the
    second half ``[T//2, T)``), all others ``0.0``. The target is the sum of
    the two marked values. Always predicting 1.0 gives a mean squared error of
    about 1/6, the baseline to beat.

    Args:
        T: sequence length, at least 2.
        batch: number of sequences ``B``.
        seed: int seed (``>= 0``) or ``None``.

    Returns:
        ``(x, y)`` with ``x`` float64 of shape ``(T, B, 2)`` and ``y`` float64
        of shape ``(B, 1)``.
    """
    func = "adding_problem"
    T = check_int(func, "T", T, minimum=2)
    batch = check_int(func, "batch", batch)
    rng = check_seed(func, seed)

    values = rng.uniform(0.0, 1.0, size=(T, batch))
    half = T // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, T, size=batch)
    markers = np.zeros((T, batch), dtype=np.float64)
    columns = np.arange(batch)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0

    x = np.stack([values, markers], axis=-1).astype(np.float64)
    y = (values[first, columns] + values[second, columns])[:, None].astype(np.float64)
    return x, y


def copy_task(
    copy_len: int,
    delay: int,
    batch: int,
    n_symbols: int = 8,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a batch of the copy-memory task.

    Alphabet of ``n_symbols + 2`` classes: ``0`` is the blank, ``1 ..
    n_symbols`` are the data symbols and ``n_symbols + 1`` is the delimiter.
    With ``L = copy_len`` and total length ``T = 2 * L + delay``, each input
    sequence is::

        steps [0, L)              L random data symbols (uniform in 1..n_symbols)
        steps [L, L + delay - 1)  blanks
        step  L + delay - 1       the delimiter ("now repeat")
        steps [L + delay, T)      blanks

    and the target is blank for the first ``L + delay`` steps, then the ``L``
    data symbols in the same order: ``y[L + delay + i] == x_ids[i]``. The
    delimiter never appears in the targets. A model that outputs blank first
    and then guesses uniformly scores a cross-entropy of
    ``L * log(n_symbols) / T`` per step, the baseline to beat.

    Args:
        copy_len: number of symbols to remember, ``L >= 1``.
        delay: steps between the end of the symbols and the end of the
            delimiter step, ``>= 1`` (the delimiter is the last of them).
        batch: number of sequences ``B``.
        n_symbols: number of distinct data symbols, ``>= 1``.
        seed: int seed (``>= 0``) or ``None``.

    Returns:
        ``(x, y)``: ``x`` float64 one-hot of shape ``(T, B, n_symbols + 2)``
        and ``y`` int64 class indices of shape ``(T, B)``.
    """
    func = "copy_task"
    copy_len = check_int(func, "copy_len", copy_len)
    delay = check_int(func, "delay", delay)
    batch = check_int(func, "batch", batch)
    n_symbols = check_int(func, "n_symbols", n_symbols)
    rng = check_seed(func, seed)

    T = 2 * copy_len + delay
    delimiter = n_symbols + 1
    symbols = rng.integers(1, n_symbols + 1, size=(copy_len, batch), dtype=np.int64)

    x_ids = np.full((T, batch), COPY_BLANK, dtype=np.int64)
    x_ids[:copy_len] = symbols
    x_ids[copy_len + delay - 1] = delimiter
    y = np.full((T, batch), COPY_BLANK, dtype=np.int64)
    y[copy_len + delay :] = symbols

    x = np.eye(n_symbols + 2, dtype=np.float64)[x_ids]
    return x, y
