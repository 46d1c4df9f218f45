"""Model-card text shared by the training reports: sections that another writer owns survive a rewrite."""

from __future__ import annotations

from pathlib import Path

# Written by `benchmarks/cpu_precision.py --cards`; the training reports keep it when they rewrite a card.
CPU_PRECISION_HEADING = "## CPU precision"


def card_section(card: str, heading: str) -> str:
    """``heading`` and its text up to the next ``## `` heading ("" when the card has no such section)."""
    if heading not in card:
        return ""
    start = card.index(heading)
    end = card.find("\n## ", start + 1)
    return card[start:] if end < 0 else card[start:end + 1]


def existing_section(path: Path, heading: str) -> str:
    """:func:`card_section` of the card at ``path`` ("" when the file does not exist yet)."""
    return card_section(path.read_text(), heading) if path.is_file() else ""


def append_section(text: str, section: str) -> str:
    """``text`` (ending in a newline), a blank line, then ``section`` kept verbatim; ``text`` alone when "" ."""
    return text + (f"\n{section.rstrip()}\n" if section else "")
