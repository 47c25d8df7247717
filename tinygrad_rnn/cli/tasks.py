"""Building the training tasks from the command line or a checkpoint (`data.tasks` holds them).

Every ValueError/TypeError/OSError of the data layer becomes one CLIError line here.
"""

from __future__ import annotations

import os
import re
from typing import Any

from .. import data
from ..data.tasks import SeriesTask, TextTask
from .errors import CLIError, user_input


# --------------------------------------------------------------------------------- building
def series_task(name: str, test_fraction: float) -> SeriesTask:
    with user_input("--series"):
        raw, info = data.load_series(name), data.series_info(name)
        return SeriesTask(name, {"type": "series", "name": name}, raw, test_fraction, info.units)


def csv_task(path: str, column: str, test_fraction: float) -> SeriesTask:
    """A CSV column by 0-based index when `column` is a whole number (e.g. 0, -1), else by
    header name."""
    index = re.fullmatch(r"-?[0-9]+", column) is not None
    with user_input("--csv"):
        raw = data.load_csv_column(path, int(column) if index else column)
    label = f"{os.path.basename(path)}:{column}"
    source = {"type": "csv", "path": os.path.abspath(path), "column": column}
    with user_input("--csv"):
        return SeriesTask(label, source, raw, test_fraction, units=f"({column})")


def text_task(name: str | None, path: str | None, test_fraction: float,
              chars: str | None = None) -> TextTask:
    with user_input("--text-file" if path else "--text"):
        text = data.load_text_file(path) if path else data.load_text(name or "alice")
    with user_input("--text-file" if path else "--text"):
        if path:
            source = {"type": "text-file", "path": os.path.abspath(path)}
            return TextTask(os.path.basename(path), source, text, test_fraction, chars)
        return TextTask(name or "alice", {"type": "text", "name": name or "alice"}, text,
                        test_fraction, chars)


def task_from_config(cfg: dict[str, Any], csv: str | None = None, column: str | None = None,
                     text_file: str | None = None) -> SeriesTask | TextTask:
    """Rebuild a checkpoint's task, refusing data that changed since the checkpoint.

    A path stored in a checkpoint is never opened: a run on a file of the user's continues
    only when the user names the file again (--csv FILE, --text-file FILE)."""
    source: Any = cfg.get("source") if isinstance(cfg, dict) else None  # untrusted JSON
    kind = source.get("type") if isinstance(source, dict) else None
    fraction = cfg.get("test_fraction") if isinstance(cfg, dict) else None
    if kind not in ("series", "csv", "text", "text-file") or \
            isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise CLIError("the checkpoint's task description is incomplete or unknown")
    _check_named_files(kind, csv, column, text_file)
    name, stored_column, chars = source.get("name"), source.get("column"), cfg.get("chars")
    if kind == "series" and name not in data.series_names():
        raise CLIError(f"the checkpoint names an unknown series {str(name)[:40]!r}")
    if kind == "text" and name not in data.text_names():
        raise CLIError(f"the checkpoint names an unknown text {str(name)[:40]!r}")
    if kind in ("text", "text-file") and not (isinstance(chars, str) and chars):
        raise CLIError("the checkpoint's text task has no vocabulary")
    if kind == "csv" and (not isinstance(stored_column, str) or
                          column is not None and column != stored_column):
        raise CLIError(f"the checkpoint was trained on column {stored_column!r}; leave "
                       "--column out when resuming")
    if kind == "series":
        task: SeriesTask | TextTask = series_task(name, fraction)
    elif kind == "csv":
        assert csv is not None  # _check_named_files required --csv
        task = csv_task(csv, stored_column, fraction)
    else:
        task = text_task(name if kind == "text" else None, text_file, fraction, chars)
    if task.config()["fingerprint"] != cfg.get("fingerprint"):
        raise CLIError(f"the data of {task.label} changed since the checkpoint was written; "
                       "resuming on different data would not reproduce the run")
    return task


def _check_named_files(kind: str, csv: str | None, column: str | None,
                       text_file: str | None) -> None:
    wanted = {"csv": "--csv", "text-file": "--text-file"}.get(kind)
    given = [flag for flag, value in (("--csv", csv), ("--text-file", text_file)) if value]
    if column is not None and kind != "csv":
        raise CLIError("--column only applies to a checkpoint trained on --csv")
    if wanted and wanted not in given:
        raise CLIError(f"the checkpoint was trained on a file of yours; name it again with "
                       f"{wanted} FILE to resume (a path stored in a checkpoint is never opened)")
    if any(flag != wanted for flag in given):
        raise CLIError(f"the checkpoint was trained on a {kind} task; drop {', '.join(given)}")
