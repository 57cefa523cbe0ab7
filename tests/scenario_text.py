"""Editing scenario TOML as text, for tests that need an invalid file with a known line."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUEL = ROOT / "scenarios" / "symmetric_duel.toml"
BASE = DUEL.read_text(encoding="utf-8")
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def table_span(text: str, header: str) -> tuple[int, int]:
    """Character span of the body of table `header` (from after its header line to the next)."""
    start = text.index(header + "\n") + len(header) + 1
    nxt = text.find("\n[", start)
    return start, (len(text) if nxt < 0 else nxt + 1)


def edit(header: str, old: str, new: str, text: str = BASE) -> str:
    """Replace `old` (a whole line or more) inside the table `header` only."""
    start, stop = table_span(text, header)
    body = text[start:stop]
    assert old in body, f"{old!r} not in {header}"
    return text[:start] + body.replace(old, new, 1) + text[stop:]


def add(header: str, lines: str, text: str = BASE) -> str:
    """Insert `lines` right after the header line of table `header`."""
    start, _ = table_span(text, header)
    return text[:start] + lines + text[start:]


def event(*lines: str, text: str = BASE) -> str:
    """Append one [[events]] table."""
    return text + "\n[[events]]\n" + "\n".join(lines) + "\n"
