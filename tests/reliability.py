"""The reliability table: what the fault, kill, bad-input, secrets and hostile-server tests measured.

A test records a row with the ``record_reliability`` fixture (``tests/conftest.py``):
``record_reliability("fault", "503 on page 2", lost=0, duplicated=0)``. The row travels with the
test's report (``user_properties``, also from xdist workers) and the terminal summary prints the
rows of the run, grouped by kind, with the test's outcome: nothing in the table is written by
hand. ``pytest -m reliability`` runs the tests that record rows (see docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

PROPERTY = "xlikes_reliability"
#: the table's sections, in order: kind -> title
KINDS = {
    "fault": "Faults injected while listing (lost / duplicated records)",
    "kill": "Tasks killed (SIGKILL) and retried (requests the retry re-sent)",
    "bad_input": "Bad input (rejected before any request?)",
    "canary": "Canary secrets searched (found)",
    "hostile": "Hostile server responses (outcome)",
}


def recorder(node: Any) -> Callable[..., None]:
    """``record(kind, case, **measured)``: one row of ``node``'s test."""

    def record(kind: str, case: str, **measured: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}, not {kind!r}")
        node.user_properties.append((PROPERTY, {"kind": kind, "case": case, **measured}))

    return record


def rows_of(reports: Iterable[Any]) -> list[dict[str, Any]]:
    """The rows recorded by the tests of ``reports`` (their call phase), with each test's outcome."""
    rows: list[dict[str, Any]] = []
    for report in reports:
        if getattr(report, "when", None) != "call":
            continue
        for name, value in getattr(report, "user_properties", ()):
            if name == PROPERTY:
                rows.append({**value, "test": report.outcome})
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown tables, one per kind: the case, what was measured, the test's outcome."""
    lines: list[str] = []
    for kind, title in KINDS.items():
        mine = sorted((r for r in rows if r["kind"] == kind), key=lambda r: str(r["case"]))
        if not mine:
            continue
        columns = [c for r in mine for c in r if c not in ("kind", "case", "test")]
        columns = list(dict.fromkeys(columns))
        header = ["case", *(c.replace("_", " ") for c in columns), "test"]
        lines += ["", f"{title}: {len(mine)}", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in mine:
            cells = [str(row["case"]), *(_cell(row.get(c)) for c in columns), str(row["test"])]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|")


def check_canary(record: Callable[..., None], case: str, secrets: Iterable[str], shown: str) -> None:
    """Record a ``canary`` row for ``case`` and fail if any of ``secrets`` is in ``shown``; the
    failure counts them, never prints them."""
    searched = [secret for secret in secrets if secret]
    found = sum(secret in shown for secret in searched)
    record("canary", case, secrets=len(searched), found=found)
    assert found == 0, f"{found} of {len(searched)} secrets found in: {case}"
