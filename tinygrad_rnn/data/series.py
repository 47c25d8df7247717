"""Real time series for forecasting, and loading a column of the user's CSV.

Bundled series (public domain, shipped in ``tinygrad_rnn/data/files/``;
provenance in ``files/SOURCES.md``):

- ``"elnino"`` — monthly sea-surface temperature (°C) of the Niño 1+2
  region of the Pacific, Jan 1950 – Dec 2010, 732 values. Provider: NOAA
  National Weather Service / Climate Prediction Center (ERSST.V3B), a U.S.
  government work in the public domain; copied from the ``statsmodels``
  package's ``elnino`` data set.
- ``"sunspots"`` — yearly mean sunspot number, 1700 – 2008, 309 values.
  Provider: NOAA National Geophysical Data Center, public domain; copied
  from the ``statsmodels`` package's ``sunspots`` data set.

Series are returned as 1-D float64 arrays ``(N,)``, oldest value first;
:mod:`tinygrad_rnn.data.preprocessing` turns them into training pairs.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

import numpy as np

from ._common import decode_utf8, read_bundled_text, read_user_file


@dataclass(frozen=True)
class SeriesInfo:
    """Description of a bundled series (see :func:`series_info`)."""

    name: str
    filename: str
    column: str
    length: int
    frequency: str
    units: str
    description: str
    source: str
    licence: str


_SERIES: dict[str, SeriesInfo] = {
    "elnino": SeriesInfo(
        name="elnino",
        filename="elnino_sst.csv",
        column="sst",
        length=732,
        frequency="monthly, 1950-01 to 2010-12",
        units="degrees Celsius",
        description=(
            "Sea-surface temperature of the Pacific Nino 1+2 region (0-10S, 90-80W), ERSST.V3B"
        ),
        source=(
            "NOAA National Weather Service, Climate Prediction Center; "
            "via statsmodels 0.15.0 (datasets/elnino)"
        ),
        licence="public domain (U.S. government work)",
    ),
    "sunspots": SeriesInfo(
        name="sunspots",
        filename="sunspots_yearly.csv",
        column="sunspots",
        length=309,
        frequency="yearly, 1700 to 2008",
        units="yearly mean sunspot number",
        description="Yearly mean sunspot number",
        source="NOAA National Geophysical Data Center; via statsmodels 0.15.0 (datasets/sunspots)",
        licence="public domain (U.S. government work)",
    ),
}


def series_names() -> list[str]:
    """Names accepted by :func:`load_series`."""
    return sorted(_SERIES)


def series_info(name: str = "elnino") -> SeriesInfo:
    """Metadata (length, units, source, licence) of a bundled series."""
    if not isinstance(name, str):
        raise TypeError(f"series_info: name must be a str, got {name!r} ({type(name).__name__})")
    if name not in _SERIES:
        raise ValueError(
            f"series_info: unknown series {name!r}; available: {', '.join(series_names())}"
        )
    return _SERIES[name]


def load_series(name: str = "elnino") -> np.ndarray:
    """Load a bundled series as a 1-D float64 array of shape ``(N,)``, oldest first."""
    if not isinstance(name, str):
        raise TypeError(f"load_series: name must be a str, got {name!r} ({type(name).__name__})")
    if name not in _SERIES:
        raise ValueError(
            f"load_series: unknown series {name!r}; available: {', '.join(series_names())}"
        )
    info = _SERIES[name]
    text = read_bundled_text(info.filename)
    return _parse_column("load_series", text, info.column, f"bundled file '{info.filename}'", ",")


def load_csv_column(
    path: str | os.PathLike[str], column: str | int, delimiter: str = ","
) -> np.ndarray:
    """Read one numeric column of a UTF-8 CSV file with a header row.

    Args:
        path: the CSV file.
        column: header name (surrounding spaces ignored) or 0-based index.
        delimiter: one-character field separator.

    Returns:
        1-D float64 array ``(N,)`` of the column's values, in file order
        (blank lines are skipped).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, not UTF-8, has no data rows, lacks the
            column (the message lists the available columns), a row has more or
            fewer fields than the header, or a row holds a missing, non-numeric
            or non-finite value (the message names the line and the value).
    """
    func = "load_csv_column"
    if isinstance(column, bool) or not isinstance(column, (str, int)):
        raise TypeError(f"{func}: column must be a str name or an int index, got {column!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"{func}: delimiter must be a single character, got {delimiter!r}")
    data, label = read_user_file(func, path)
    text = decode_utf8(func, data, label)
    return _parse_column(func, text, column, label, delimiter)


def _parse_column(
    func: str, text: str, column: str | int, label: str, delimiter: str
) -> np.ndarray:
    if not text.strip():
        raise ValueError(f"{func}: {label} is empty")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValueError(
            f"{func}: {label}, line {reader.line_num}: malformed CSV ({exc})"
        ) from None
    if not rows:
        raise ValueError(f"{func}: {label} is empty (no header row)")
    header = [cell.strip() for cell in rows[0][1]]

    if isinstance(column, str):
        if column.strip() not in header:
            raise ValueError(
                f"{func}: {label} has no column {column!r}; available columns: {header}"
            )
        index = header.index(column.strip())
        name = column.strip()
    else:
        if not -len(header) <= column < len(header):
            raise ValueError(
                f"{func}: column index {column} is out of range for {label}, which has "
                f"{len(header)} column{'' if len(header) == 1 else 's'}: {header}"
            )
        index = column % len(header)
        name = header[index]

    values: list[float] = []
    for line_num, row in rows[1:]:
        where = f"{label}, line {line_num}"
        if len(row) != len(header):
            raise ValueError(
                f"{func}: {where} has {len(row)} fields but the header has {len(header)}"
                + (f", so no value for column {name!r}" if index >= len(row) else "")
            )
        cell = row[index].strip()
        if not cell:
            raise ValueError(f"{func}: {where}: missing value in column {name!r}")
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(
                f"{func}: {where}: value {cell!r} in column {name!r} is not a number"
            ) from None
        if not np.isfinite(value):
            raise ValueError(
                f"{func}: {where}: value {cell!r} in column {name!r} is not a finite number"
            )
        values.append(value)
    if not values:
        raise ValueError(f"{func}: {label} has a header but no data rows")
    return np.asarray(values, dtype=np.float64)
