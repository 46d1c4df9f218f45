"""Contact sheets for the model cards: labelled grids of photos, saved as JPEG."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from ..imageio import tensor_to_pil

LABEL_HEIGHT = 18  # px, the row of column labels


def paste_grid(rows: list[list[Image.Image]], path: Path, labels: list[str] | None = None, gap: int = 4,
               quality: int = 92) -> Path:
    """Paste ``rows`` of images into one grid on white and save it as JPEG at ``path``.

    Each column is as wide as its widest cell and each row as tall as its tallest; cells are centred in them, with
    ``gap`` px between columns and rows. ``labels``, one per column, go in a row of text above the grid.

    Raises:
        ValueError: no rows, rows of different lengths, or a label count that does not match the columns.
    """
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"expected rows of equal length, got lengths {[len(r) for r in rows]}")
    if labels is not None and len(labels) != len(rows[0]):
        raise ValueError(f"expected {len(rows[0])} labels, got {len(labels)}")
    widths = [max(r[c].width for r in rows) for c in range(len(rows[0]))]
    heights = [max(cell.height for cell in r) for r in rows]
    top = LABEL_HEIGHT if labels else 0
    sheet = Image.new("RGB", (sum(widths) + gap * (len(widths) - 1), top + sum(heights) + gap * (len(rows) - 1)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for c, width in enumerate(widths):
        if labels:
            draw.text((x + 4, 3), labels[c], fill="black")
        y = top
        for r, row in enumerate(rows):
            cell = row[c]
            sheet.paste(cell.convert("RGB"), (x + (width - cell.width) // 2, y + (heights[r] - cell.height) // 2))
            y += heights[r] + gap
        x += width + gap
    sheet.save(path, quality=quality)
    return path


def sheet_cell(rgb: torch.Tensor, height: int) -> Image.Image:
    """RGB float32 ``(1, 3, H, W)`` in [0, 1] (clamped) as a PIL image ``height`` px tall (Lanczos, aspect kept)."""
    im = tensor_to_pil(rgb.clamp(0, 1))
    return im.resize((max(1, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS)
