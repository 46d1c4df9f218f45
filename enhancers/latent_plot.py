"""Pictures for the latent explorer, drawn with Pillow: scatter maps, digit tiles, animated GIFs.

Digits are float32 ``(N, 1, 28, 28)`` in [0, 1] (see :mod:`enhancers.latent`);
tensor → PIL conversion goes through :func:`enhancers.imageio.tensor_to_pil`.

The map and the decoded grid share one geometry (:class:`MapView`): the grid's
``n × n`` cells tile the map's plot area exactly, so a pixel means the same
latent point in both pictures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from . import imageio
from .errors import InvalidInputError
from .latent import GRID_N, LatentMap, check_digits

CELL = 28
PLOT = GRID_N * CELL  # 420 px: one grid cell per 28 px
_LEFT, _TOP, _RIGHT, _BOTTOM = 34, 10, 10, 52
# Matplotlib's "tab10" palette: ten distinguishable class colours.
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


@dataclass(frozen=True)
class MapView:
    """Pixel ↔ latent geometry of a map or grid picture.

    Attributes:
        half: the plot area shows ``[−half, half]²``; for a grid of ``n`` cells whose centres
            span ``±extent``, ``half = extent · n / (n − 1)``.
        left, top: plot area's top-left corner in the picture, in pixels.
        size: plot area's edge in pixels.
    """

    half: float
    left: int = _LEFT
    top: int = _TOP
    size: int = PLOT

    @classmethod
    def for_grid(cls, extent: float, n: int = GRID_N, on_map: bool = True) -> MapView:
        """The view whose plot area is exactly the ``n × n`` grid over ``±extent`` (cell centres)."""
        half = extent * n / (n - 1)
        return cls(half=half) if on_map else cls(half=half, left=0, top=0, size=n * CELL)

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Latent ``(x, y)`` → picture pixel ``(px, py)`` (y grows upwards in latent space)."""
        px = self.left + (x + self.half) / (2 * self.half) * self.size
        py = self.top + (self.half - y) / (2 * self.half) * self.size
        return px, py

    def to_latent(self, px: float, py: float) -> tuple[float, float]:
        """Picture pixel ``(px, py)`` → latent ``(x, y)``.

        Raises:
            InvalidInputError: the pixel is outside the plot area (e.g. on the axis labels).
        """
        if not (self.left <= px <= self.left + self.size and self.top <= py <= self.top + self.size):
            raise InvalidInputError(f"expected a click inside the plot area ({self.left}–{self.left + self.size}, "
                                    f"{self.top}–{self.top + self.size} px), got ({px:.0f}, {py:.0f})")
        x = (px - self.left) / self.size * 2 * self.half - self.half
        y = self.half - (py - self.top) / self.size * 2 * self.half
        return x, y


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def render_map(lmap: LatentMap, marker: tuple[float, float] | None = None, n: int = GRID_N) -> Image.Image:
    """Scatter of the encoded held-out digits, coloured by true class, with an optional marker.

    Args:
        lmap: from :func:`enhancers.latent.latent_map`.
        marker: a latent point to highlight (a drawn digit's code), or None.
        n: the decoded grid's cells per side, to share its geometry.

    Returns:
        RGB PIL image, ``(34 + 420 + 10) × (10 + 420 + 52)`` px for ``n = 15``; geometry
        :meth:`MapView.for_grid` ``(lmap.extent, n)``.
    """
    view = MapView.for_grid(lmap.extent, n)
    im = Image.new("RGB", (view.left + view.size + _RIGHT, view.top + view.size + _BOTTOM), "white")
    draw = ImageDraw.Draw(im)
    font = _font(11)
    x0, y0, x1, y1 = view.left, view.top, view.left + view.size, view.top + view.size
    draw.rectangle((x0, y0, x1, y1), fill="#fafafa", outline="#888888")
    step = 1.0 if view.half <= 4 else max(1.0, round(view.half / 3))
    t = -int(view.half / step) * step
    while t <= view.half + 1e-9:
        px, py = view.to_pixel(t, t)
        colour = "#bbbbbb" if abs(t) < 1e-9 else "#e6e6e6"
        draw.line((px, y0, px, y1), fill=colour)
        draw.line((x0, py, x1, py), fill=colour)
        label = f"{t:g}"
        draw.text((px, y1 + 3), label, fill="#444444", font=font, anchor="mt")
        draw.text((x0 - 4, py), label, fill="#444444", font=font, anchor="rm")
        t += step
    codes = lmap.codes.tolist()
    for (x, y), c in zip(codes, lmap.labels.tolist()):
        if abs(x) <= view.half and abs(y) <= view.half:
            px, py = view.to_pixel(x, y)
            draw.ellipse((px - 2.6, py - 2.6, px + 2.6, py + 2.6), fill=CLASS_COLOURS[c])
    legend_y = y1 + 30
    draw.text((x0, legend_y), "class:", fill="#222222", font=font, anchor="lm")
    for c in range(10):
        lx = x0 + 44 + c * 37
        draw.ellipse((lx - 5, legend_y - 5, lx + 5, legend_y + 5), fill=CLASS_COLOURS[c])
        draw.text((lx + 8, legend_y), str(c), fill="#222222", font=font, anchor="lm")
    if marker is not None:
        mx = min(max(marker[0], -view.half), view.half)
        my = min(max(marker[1], -view.half), view.half)
        px, py = view.to_pixel(mx, my)
        draw.ellipse((px - 11, py - 11, px + 11, py + 11), outline="black", width=3)
        draw.line((px - 16, py, px + 16, py), fill="black", width=2)
        draw.line((px, py - 16, px, py + 16), fill="black", width=2)
    return im


def outside_count(lmap: LatentMap, n: int = GRID_N) -> int:
    """How many encoded digits fall outside the plotted square (not drawn)."""
    half = MapView.for_grid(lmap.extent, n).half
    return int((lmap.codes.abs() > half).any(dim=1).sum())


def tile(digits: torch.Tensor, cols: int) -> torch.Tensor:
    """Digits ``(N, 1, 28, 28)`` → one gray image ``(1, 1, rows·28, cols·28)``, row-major, black padding."""
    check_digits(digits)
    if cols < 1:
        raise InvalidInputError(f"cols: expected ≥ 1, got {cols}")
    n = digits.shape[0]
    rows = -(-n // cols)
    out = torch.zeros(rows * cols, 1, CELL, CELL)
    out[:n] = digits
    return out.view(rows, cols, CELL, CELL).permute(0, 2, 1, 3).reshape(1, 1, rows * CELL, cols * CELL)


def to_pil(gray: torch.Tensor, size: int | None = None) -> Image.Image:
    """Gray ``(1, 1, H, W)`` float32 in [0, 1] → RGB PIL image, enlarged (nearest-neighbour) to ``size`` px wide."""
    im = imageio.tensor_to_pil(gray.float().clamp(0, 1).repeat(1, 3, 1, 1))
    if size is not None and size != im.width:
        im = im.resize((size, round(im.height * size / im.width)), Image.Resampling.NEAREST)
    return im


def digit_image(digit: torch.Tensor, size: int = 224) -> Image.Image:
    """One digit ``(1, 1, 28, 28)`` → ``size × size`` RGB PIL image (white on black)."""
    check_digits(digit, "digit")
    return to_pil(digit[:1], size)


def grid_image(digits: torch.Tensor, n: int = GRID_N) -> Image.Image:
    """Decoded grid digits ``(n·n, 1, 28, 28)`` → ``(28n) × (28n)`` RGB PIL image."""
    return to_pil(tile(digits, n))


def save_gif(frames: torch.Tensor, path: str | os.PathLike, size: int = 168, duration_ms: int = 90,
             bounce: bool = True) -> Path:
    """Write frames ``(N, 1, 28, 28)`` as a looping animated GIF (forth and back when ``bounce``).

    Raises:
        InvalidInputError: frames off the digit contract.
    """
    check_digits(frames, "frames")
    images = [to_pil(f[None], size).convert("L") for f in frames]
    if bounce and len(images) > 2:
        images = images + images[-2:0:-1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return path


def render_curves(epochs: list[int], panels: list[tuple[str, dict[str, list[float]]]], width: int = 640,
                  panel_height: int = 180) -> Image.Image:
    """Line charts of training curves, one panel per ``(title, {series name: values per epoch})``.

    Each panel scales its own y axis to its data (with 0 included); series are drawn in
    :data:`CLASS_COLOURS` order with a legend in the panel title line.

    Raises:
        InvalidInputError: no epochs, or a series whose length differs from ``epochs``.
    """
    if not epochs:
        raise InvalidInputError("expected at least one epoch, got none")
    left, right, top, bottom = 46, 12, 24, 26
    im = Image.new("RGB", (width, panel_height * len(panels)), "white")
    draw = ImageDraw.Draw(im)
    font = _font(11)
    x_lo, x_hi = min(epochs), max(max(epochs), min(epochs) + 1)
    for p, (title, series) in enumerate(panels):
        y0 = p * panel_height
        values = [v for vs in series.values() for v in vs]
        for name, vs in series.items():
            if len(vs) != len(epochs):
                raise InvalidInputError(f"series {name!r}: expected {len(epochs)} values, got {len(vs)}")
        lo, hi = min(0.0, *values), max(values) if max(values) > 0 else 1.0
        hi = hi if hi > lo else lo + 1.0
        box = (left, y0 + top, width - right, y0 + panel_height - bottom)
        draw.rectangle(box, outline="#888888")

        def xy(e: float, v: float) -> tuple[float, float]:
            return (box[0] + (e - x_lo) / (x_hi - x_lo) * (box[2] - box[0]),
                    box[3] - (v - lo) / (hi - lo) * (box[3] - box[1]))

        for frac in (0.0, 0.5, 1.0):
            v = lo + frac * (hi - lo)
            _, py = xy(x_lo, v)
            draw.line((box[0], py, box[2], py), fill="#eeeeee")
            draw.text((box[0] - 4, py), f"{v:.2g}", fill="#444444", font=font, anchor="rm")
        for e in sorted({x_lo, x_hi, *(e for e in epochs if e % 10 == 0)}):
            px, _ = xy(e, lo)
            draw.text((px, box[3] + 4), str(e), fill="#444444", font=font, anchor="mt")
        draw.text((box[0], y0 + 6), title, fill="#222222", font=font)
        lx = box[0] + 8 + int(draw.textlength(title, font=font)) + 8
        for i, (name, vs) in enumerate(series.items()):
            colour = CLASS_COLOURS[i % len(CLASS_COLOURS)]
            draw.line([xy(e, v) for e, v in zip(epochs, vs)], fill=colour, width=2)
            draw.line((lx, y0 + 12, lx + 14, y0 + 12), fill=colour, width=3)
            draw.text((lx + 18, y0 + 6), name, fill="#222222", font=font)
            lx += 18 + int(draw.textlength(name, font=font)) + 12
    draw.text((width // 2, im.height - 2), "epoch", fill="#444444", font=font, anchor="mb")
    return im
