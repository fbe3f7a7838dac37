"""What the system tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "example_dags"
#: files the examples read beside themselves
EXAMPLE_DATA = ("likes_to_apply.csv",)
#: the post of X's likes quickstart: in every sandbox, and the examples' default
QUICKSTART_POST = "1354143047324299264"


def example_source(name: str, replacements: dict[str, str] | None = None) -> str:
    """The example's source, with each ``old -> new`` of ``replacements`` (each must be there)."""
    source = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
    for old, new in (replacements or {}).items():
        assert old in source, f"{old!r} not in {name}"
        source = source.replace(old, new)
    return source
