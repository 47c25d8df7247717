"""Character-level text with a min-char-rnn-sized model: it learns Alice, then writes some.

The model is Karpathy's min-char-rnn, built from the library instead of by hand:
one-hot characters x_t (V), h_t = tanh(U x_t + W h_{t−1} + b) with 100 hidden units,
logits y_t = V h_t + c, softmax cross-entropy against the next character. Training reads the
text in 25-character chunks (truncated BPTT: the hidden state is carried over, detached),
clips every gradient element to [−5, 5] and updates with Adagrad (lr 0.1), all as min-char-rnn.

Text: Lewis Carroll, Alice's Adventures in Wonderland, chapters I-IV (`tinygrad_rnn.data`).
The last 10% is held out. The printed loss is in nats per character; the references are the
uniform guess log V and the unigram model (character frequencies of the training text).

    python examples/char_rnn.py --out pictures/ [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone, uninstalled

from tinygrad_rnn import Tensor, data, nn, no_grad, optim  # noqa: E402
from tinygrad_rnn.cli.errors import (  # noqa: E402  the command line's checks
    CLIError,
    nonnegative_int,
    positive_float,
    positive_int,
    writable,
)
from tinygrad_rnn.functional import cross_entropy, softmax  # noqa: E402
from tinygrad_rnn.io import atomic_write  # noqa: E402
from tinygrad_rnn.train import tbptt_step  # noqa: E402

HIDDEN, CHUNK, LR, CLIP = 100, 25, 0.1, 5.0
PRIME = "Alice "


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the pictures")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    parser.add_argument("--iterations", type=positive_int, default=None,
                        help="25-character chunks to train on (default 10000, quick 300)")
    parser.add_argument("--temperature", type=positive_float, default=0.7,
                        help="for sampling (0.7)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (0)")
    parser.add_argument("--force", action="store_true", help="overwrite an earlier picture")
    args = parser.parse_args(argv)
    try:  # refused before any training, like the command line: nothing overwritten blindly
        args.picture = writable(Path(args.out) / "char_rnn_loss.png", args.force, "--out")
    except CLIError as e:
        parser.error(str(e))
    return args


def prepare() -> dict:
    """Vocabulary, encoded train/held-out ids, and the two reference losses."""
    text = data.load_text("alice")
    vocab = data.CharVocab(text)
    ids = vocab.encode(text)
    n_train = int(len(ids) * 0.9)
    train, held_out = ids[:n_train], ids[n_train:]
    freq = np.bincount(train, minlength=vocab.size) + 1.0  # add-one: no zero probabilities
    unigram = float(-np.mean(np.log(freq / freq.sum())[held_out]))
    return {"vocab": vocab, "train": train, "held_out": held_out,
            "uniform": float(np.log(vocab.size)), "unigram": unigram}


def chunk_loss(model: nn.ElmanRNN, vocab: data.CharVocab, x: np.ndarray, y: np.ndarray, h):
    """Mean cross-entropy (nats/char) of one (T, B) chunk of ids, and the final hidden state."""
    logits, h = model(Tensor(vocab.one_hot(x)), h)  # one-hot inputs (T, B, V)
    return cross_entropy(logits.reshape(-1, vocab.size), y.reshape(-1)), h


def held_out_loss(model: nn.ElmanRNN, d: dict) -> float:
    """Cross-entropy on the held-out text, read as one stream from a zero state."""
    ids = d["held_out"]
    with no_grad():
        loss, _ = chunk_loss(model, d["vocab"], ids[:-1, None], ids[1:, None], None)
    return loss.item()


def sample(model: nn.ElmanRNN, vocab: data.CharVocab, n: int, temperature: float,
           rng: np.random.Generator) -> str:
    """Feed PRIME, then draw n characters from softmax(logits / temperature), one at a time."""
    with no_grad():
        logits, h = model(Tensor(vocab.one_hot(vocab.encode(PRIME)[:, None])))
        out = []
        for _ in range(n):
            p = softmax(logits[-1, 0] * (1.0 / temperature)).numpy()
            nxt = int(rng.choice(vocab.size, p=p / p.sum()))
            out.append(nxt)
            logits, h = model(Tensor(vocab.one_hot(np.array([[nxt]]))), h)
    return PRIME + vocab.decode(np.array(out))


def train(model: nn.ElmanRNN, d: dict, iterations: int) -> dict:
    """min-char-rnn's loop; returns per-iteration losses and held-out checkpoints."""
    chunks = data.bptt_batches(d["train"], 1, CHUNK, drop_last=True)
    vocab = d["vocab"]
    opt = optim.Adagrad(model.parameters(), lr=LR)

    def loss_fn(logits: Tensor, y: np.ndarray) -> Tensor:
        return cross_entropy(logits.reshape(-1, vocab.size), y.reshape(-1))

    losses, checkpoints, h = [], [(0, held_out_loss(model, d))], None
    every = max(1, iterations // 10)
    for it in range(1, iterations + 1):
        x, y = chunks[(it - 1) % len(chunks)]
        if (it - 1) % len(chunks) == 0:
            h = None  # back at the start of the text
        # truncated BPTT: zero_grad, forward from h (detached), backward, clip, update
        done = tbptt_step(model, vocab.one_hot(x), y, loss_fn, opt, h, clip_value=CLIP)
        h = done.state
        losses.append(done.loss)
        if it % every == 0 or it == iterations:
            checkpoints.append((it, held_out_loss(model, d)))
            print(f"{it:>9} {it * CHUNK:>9} {smooth(losses)[-1]:>12.3f} "
                  f"{checkpoints[-1][1]:>10.3f}", flush=True)
    return {"losses": losses, "checkpoints": checkpoints}


def smooth(losses: list[float], keep: float = 0.99) -> np.ndarray:
    """min-char-rnn's running average of the loss (started at the first value)."""
    out, s = np.empty(len(losses)), losses[0]
    for i, v in enumerate(losses):
        s = keep * s + (1 - keep) * v
        out[i] = s
    return out


def plot(d: dict, history: dict, path: Path, force: bool = False) -> None:
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    it = np.arange(1, len(history["losses"]) + 1)
    ax.plot(it, history["losses"], color="tab:blue", alpha=0.2, lw=0.6, label="train chunk")
    ax.plot(it, smooth(history["losses"]), color="tab:blue", lw=2, label="train (running avg)")
    steps, held = zip(*history["checkpoints"])
    ax.plot(steps, held, "o-", color="tab:red", lw=2, label="held-out text")
    ax.axhline(d["uniform"], color="black", ls="--", label=f"uniform, log V = {d['uniform']:.2f}")
    ax.axhline(d["unigram"], color="tab:gray", ls=":", lw=2,
               label=f"unigram frequencies = {d['unigram']:.2f}")
    ax.set(title="min-char-rnn on Alice in Wonderland (H = 100, 25-char chunks, Adagrad)",
           xlabel="iteration (one 25-character chunk each)", ylabel="cross-entropy, nats / char",
           ylim=(1.0, max(d["uniform"], max(held)) + 0.4))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=3, frameon=False)
    atomic_write(path, lambda f: fig.savefig(f, dpi=100, format="png"), exclusive=not force)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    iterations = args.iterations or (300 if args.quick else 10000)
    start = time.perf_counter()
    d, rng = prepare(), np.random.default_rng(args.seed)
    V = d["vocab"].size
    model = nn.ElmanRNN(V, HIDDEN, V, seed=args.seed)
    print(f"Alice, chapters I-IV: {len(d['train'])} training / {len(d['held_out'])} held-out "
          f"characters, V = {V}. Loss in nats/char: uniform log V = {d['uniform']:.3f}, "
          f"unigram = {d['unigram']:.3f}")
    print(f"sample before training (temperature {args.temperature}):\n  "
          f"{sample(model, d['vocab'], 120, args.temperature, rng)!r}")
    print(f"{'iteration':>9} {'chars':>9} {'train (avg)':>12} {'held-out':>10}")
    history = train(model, d, iterations)
    text = sample(model, d["vocab"], 300, args.temperature, rng)
    print(f"sample after {iterations} iterations (temperature {args.temperature}):\n{text}")
    picture = args.picture
    plot(d, history, picture, args.force)
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s) wrote {picture}")
    return {**history, "uniform": d["uniform"], "unigram": d["unigram"], "sample": text,
            "pictures": [picture], "seconds": seconds}


if __name__ == "__main__":
    try:
        main()
    except ValueError as e:  # a setting the data cannot take: one line, like the command line
        sys.exit(f"{Path(__file__).name}: error: {e}")
