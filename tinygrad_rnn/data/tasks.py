"""Training tasks: next-value forecasting of a real series, and next-character prediction.

A task owns its data, split chronologically into train and held-out parts. Training batches
come from `bptt_batches` applied to *positions* 0..N−1, so series and text share one layout:
B parallel streams cut into chunks of T steps, chunk k+1 continuing chunk k (the hidden state
is carried over, detached). Each epoch starts at a random offset in [0, T) so chunk borders
move; every offset gives the same number of chunks. Bad data raises ValueError naming it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import functional as F
from ..autograd import no_grad
from ..tensor import Tensor
from .preprocessing import train_test_split
from .text import CharVocab, bptt_batches

__all__ = ["SeriesTask", "TextTask", "chunk_plan", "index_batches", "fingerprint", "generate"]


def fingerprint(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:16]


def chunk_plan(n: int, batch: int, chunk: int, what: str, unit: str = "values") -> int:
    """Chunks per epoch for n training values; a clear error when n is too short."""
    need = (batch + 1) * chunk
    if n < need:
        unit = unit[:-1] if n == 1 and unit.endswith("s") else unit
        shorter = (f"shorter than the chunk length ({n} < chunk {chunk})" if n <= chunk else
                   f"too short for chunk {chunk} with batch {batch}")
        raise ValueError(f"the training part of {what} has {n} {unit}, {shorter}; it needs at "
                         f"least (batch + 1) × chunk = {need}. Use a smaller chunk or batch")
    return ((n - chunk) // batch) // chunk


def index_batches(n: int, offset: int, batch: int, chunk: int
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(positions of x, positions of y) pairs, each (T, B), for one epoch starting at offset."""
    usable = np.arange(offset, offset + n - chunk + 1)
    return bptt_batches(usable, batch, chunk, drop_last=True)


@dataclass
class SeriesTask:
    """Next-value forecasting of a standardized 1-D series with the notes' loss E."""

    label: str
    source: dict[str, Any]
    raw: np.ndarray
    test_fraction: float
    units: str = "units"
    kind: str = field(default="series", init=False)

    def __post_init__(self) -> None:
        raw = np.asarray(self.raw, dtype=np.float64)
        if raw.size < 3:
            raise ValueError(f"the series {self.label} has {raw.size} value(s); at least 3 are "
                             "needed")
        train, _ = train_test_split(raw, self.test_fraction)
        with np.errstate(all="ignore"):
            mean, std = float(np.mean(train)), float(np.std(train))
        if not (np.isfinite(mean) and np.isfinite(std)):
            raise ValueError(f"the values of {self.label} are too large to standardize "
                             f"(their mean or spread overflows float64)")
        self.mean, self.std = mean, std if std > 0 else 1.0
        self.series = (raw - self.mean) / self.std
        self.n_train = train.size
        self.input_size = self.output_size = 1

    @property
    def n_items(self) -> int:
        return self.n_train

    def tensors(self, ix: np.ndarray, iy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.series[ix][..., None], self.series[iy][..., None]

    def loss(self, ys: Tensor, targets: np.ndarray) -> Tensor:
        """E = ½ Σ_t Σ_b (y_t − g_t)², the notes' error."""
        return F.squared_error(ys, targets)

    def config(self) -> dict[str, Any]:
        return {"kind": "series", "source": self.source, "label": self.label,
                "units": self.units, "test_fraction": self.test_fraction,
                "mean": self.mean, "std": self.std, "n": int(self.raw.size),
                "fingerprint": fingerprint(self.raw.tobytes())}

    def evaluate(self, model: Any) -> dict[str, float]:
        """One-step-ahead forecasts over the held-out part, against persistence ŷ_{t+1} = x_t."""
        s = self.series
        with no_grad():
            ys, _ = model(Tensor(s[:-1].reshape(-1, 1, 1)))
        pred = ys.data.reshape(-1)[self.n_train - 1:]
        truth, persist = s[self.n_train:], s[self.n_train - 1:-1]
        mse, mse_p = float(np.mean((pred - truth) ** 2)), float(np.mean((persist - truth) ** 2))
        return {"n_test": int(truth.size), "mse": mse, "mse_persistence": mse_p,
                "E": 0.5 * mse * truth.size, "E_persistence": 0.5 * mse_p * truth.size,
                "rmse_units": float(np.sqrt(mse)) * self.std,
                "rmse_persistence_units": float(np.sqrt(mse_p)) * self.std}

    def describe(self, result: dict[str, float]) -> list[str]:
        better = result["mse"] < result["mse_persistence"]
        return [
            f"held-out test: last {result['n_test']} values of {self.label}, one-step-ahead",
            f"  model       E = {result['E']:9.3f}   MSE = {result['mse']:.4f} (standardized)"
            f"   RMSE = {result['rmse_units']:.3f} {self.units}",
            f"  persistence E = {result['E_persistence']:9.3f}   MSE = "
            f"{result['mse_persistence']:.4f} (standardized)   RMSE = "
            f"{result['rmse_persistence_units']:.3f} {self.units}",
            f"  the model is {'better' if better else 'NOT better'} than persistence "
            f"(MSE ratio {result['mse'] / max(result['mse_persistence'], 1e-300):.2f})",
        ]


@dataclass
class TextTask:
    """Next-character prediction with cross-entropy on one-hot inputs."""

    label: str
    source: dict[str, Any]
    text: str
    test_fraction: float
    chars: str | None = None  # a saved vocabulary (resume); None: build from the text
    kind: str = field(default="text", init=False)

    def __post_init__(self) -> None:
        self.vocab = CharVocab(self.chars if self.chars else self.text)
        ids = self.vocab.encode(self.text)
        n_test = max(2, int(round(ids.size * self.test_fraction)))
        if ids.size - n_test < 2:
            raise ValueError(f"the text {self.label} has only {ids.size} characters; too short")
        self.ids, self.n_train = ids, ids.size - n_test
        self.input_size = self.output_size = self.vocab.size

    @property
    def n_items(self) -> int:
        return self.n_train

    def tensors(self, ix: np.ndarray, iy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.vocab.one_hot(self.ids[ix]), self.ids[iy]

    def loss(self, ys: Tensor, targets: np.ndarray) -> Tensor:
        """Mean cross-entropy −log softmax(y_t)[next char], in nats per character: the (T, B, V)
        outputs become T·B rows of V classes, as cross_entropy (PyTorch's) wants them."""
        return F.cross_entropy(ys.reshape(-1, ys.shape[-1]), targets.reshape(-1))

    def config(self) -> dict[str, Any]:
        return {"kind": "text", "source": self.source, "label": self.label,
                "test_fraction": self.test_fraction, "chars": "".join(self.vocab.chars),
                "n": len(self.text), "fingerprint": fingerprint(self.text.encode("utf-8"))}

    def evaluate(self, model: Any, limit: int = 4000) -> dict[str, float]:
        """Held-out cross-entropy (one stream, state carried) against a unigram baseline."""
        test = self.ids[self.n_train - 1:][: limit + 1]
        with no_grad():
            ys, _ = model(Tensor(self.vocab.one_hot(test[:-1])[:, None, :]))
            ce = float(F.cross_entropy(ys.reshape(-1, self.vocab.size), test[1:]).item())
        counts = np.bincount(self.ids[: self.n_train], minlength=self.vocab.size) + 1.0
        unigram = float(-np.mean(np.log(counts / counts.sum())[test[1:]]))
        return {"n_test": int(test.size - 1), "ce": ce, "ce_unigram": unigram}

    def describe(self, result: dict[str, float]) -> list[str]:
        bits = 1 / np.log(2)
        return [f"held-out text: {result['n_test']} characters of {self.label}",
                f"  model    {result['ce']:.3f} nats/char ({result['ce'] * bits:.3f} bits/char)",
                f"  unigram  {result['ce_unigram']:.3f} nats/char "
                f"({result['ce_unigram'] * bits:.3f} bits/char; character frequencies only)"]


def generate(model: Any, vocab: CharVocab, prime: str | None, length: int,
             temperature: float, seed: int) -> str:
    """prime + `length` characters drawn from softmax(y_t / temperature), state carried."""
    rng = np.random.default_rng(seed)
    if not prime:
        prime = vocab.chars[int(rng.integers(vocab.size))]
    ids = vocab.encode(prime)
    out: list[int] = []
    with no_grad():
        ys, state = model(Tensor(vocab.one_hot(ids)[:, None, :]), None)
        for _ in range(length):
            logits = ys.data[-1, 0] / temperature
            if not np.all(np.isfinite(logits)):
                raise ValueError(f"the model's outputs became {_non_finite(logits)} after "
                                 f"{len(out)} generated characters, so no character can be "
                                 "drawn: its parameters are not usable (a diverged run?) or "
                                 "the temperature is too small")
            p = np.exp(logits - logits.max())
            nxt = int(rng.choice(vocab.size, p=p / p.sum()))
            out.append(nxt)
            ys, state = model(Tensor(vocab.one_hot(np.array([nxt]))[:, None, :]), state)
    return prime + vocab.decode(np.array(out, dtype=np.int64))


def _non_finite(values: np.ndarray) -> str:
    return "NaN" if np.isnan(values).any() else "infinite"
