"""Tasks and data sets for training RNNs, all offline (pure numpy + stdlib).

Sequence arrays are time-major, like PyTorch: ``(T, B, I)`` float64, with
``T`` time steps, ``B`` sequences and ``I`` features.

Synthetic tasks (generated, see :mod:`tinygrad_rnn.data.synthetic`):

- :func:`noisy_sines` -> ``(T, B, 1)`` noisy sine waves for forecasting.
- :func:`adding_problem` -> ``x (T, B, 2)``, ``y (B, 1)``: sum of two marked
  values (long-range memory).
- :func:`copy_task` -> ``x (T, B, n_symbols + 2)`` one-hot, ``y (T, B)``
  class indices: repeat a symbol string after a long delay.

Real time series (bundled CSV files, see :mod:`tinygrad_rnn.data.series` and
:mod:`tinygrad_rnn.data.preprocessing`):

- ``load_series("elnino")``: monthly Niño 1+2 sea-surface temperature
  1950-2010 (732 values), NOAA NWS Climate Prediction Center, public domain
  (U.S. government work); copied from the ``statsmodels`` package.
- ``load_series("sunspots")``: yearly sunspot numbers 1700-2008 (309
  values), NOAA National Geophysical Data Center, public domain; copied from
  the ``statsmodels`` package.
- :func:`load_csv_column` reads a column of the user's own CSV file;
  :func:`make_windows`, :func:`to_sequences`, :func:`train_test_split` and
  :class:`Standardizer` prepare series for training.

Text (bundled files, see :mod:`tinygrad_rnn.data.text`):

- ``load_text("alice")``: Lewis Carroll, *Alice's Adventures in Wonderland*,
  chapters I-IV (Project Gutenberg eBook #11 without the Gutenberg
  header/footer), public domain; copied from the ``wordcloud`` package's
  source distribution.
- ``load_text("constitution")``: the U.S. Constitution (1787), public domain;
  copied from the ``wordcloud`` package's source distribution.
- :func:`load_text_file` reads the user's own UTF-8 text;
  :class:`CharVocab` and :func:`bptt_batches` turn text into training data.

Training tasks (see :mod:`tinygrad_rnn.data.tasks`): :class:`SeriesTask` (next-value
forecasting with the notes' E) and :class:`TextTask` (next character, cross-entropy), each
with its train/held-out split, chunk layout and evaluation against a baseline.

Full provenance: ``tinygrad_rnn/data/files/SOURCES.md``.
"""

from .preprocessing import Standardizer, make_windows, to_sequences, train_test_split
from .series import SeriesInfo, load_csv_column, load_series, series_info, series_names
from .synthetic import COPY_BLANK, adding_problem, copy_task, noisy_sines
from .tasks import SeriesTask, TextTask
from .text import (
    CharVocab,
    TextInfo,
    bptt_batches,
    load_text,
    load_text_file,
    text_info,
    text_names,
)

__all__ = [
    "COPY_BLANK",
    "CharVocab",
    "SeriesInfo",
    "SeriesTask",
    "Standardizer",
    "TextInfo",
    "TextTask",
    "adding_problem",
    "bptt_batches",
    "copy_task",
    "load_csv_column",
    "load_series",
    "load_text",
    "load_text_file",
    "make_windows",
    "noisy_sines",
    "series_info",
    "series_names",
    "text_info",
    "text_names",
    "to_sequences",
    "train_test_split",
]
