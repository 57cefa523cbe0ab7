"""Words for people: counts with their noun in the right number."""

from __future__ import annotations

__all__ = ["count"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "run")`` is "1 run", ``count(3, "run")`` "3 runs", ``count(2000, "run")``
    "2,000 runs"; `plural` for nouns that do not take an s."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
