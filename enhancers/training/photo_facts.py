"""Facts about one photo file that the corpus manifest records: size, format, how lossy it is, how colourful,
and a perceptual hash to find duplicates.

The perceptual hash is the DCT hash (pHash): the gray image resized to 32 × 32, its 2-D DCT-II, and one bit per
coefficient of the 8 × 8 lowest frequencies, set where the coefficient exceeds their median. Resizing and
recompression move few bits; different photos differ in about half of the 64.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..color_metrics import colourfulness
from ..errors import ImageReadError

HASH_SIDE = 32
HASH_LOW = 8
SMALL_SIDE = 400  # photos whose shorter side is below this (pixels) are "small"
CLEAN_JPEG_QUALITY = 90  # JPEGs below this estimated IJG quality are "lossy"
QUALITY_CLASSES = ("clean", "lossy", "small")

# The IJG (libjpeg) base luminance quantisation table, which ``cjpeg -quality Q`` scales.
_IJG_LUMA = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
             14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
             49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_DCT = _dct_matrix(HASH_SIDE)
# Mirroring the image left-right negates the DCT coefficients of odd horizontal frequency.
_MIRROR_SIGN = np.where(np.arange(HASH_LOW) % 2 == 1, -1.0, 1.0)[None, :]


def _bits(low: np.ndarray) -> int:
    flat = low.flatten()
    on = flat > np.median(flat)
    return int(sum(1 << i for i, b in enumerate(on) if b))


def phashes(im: Image.Image) -> tuple[int, int]:
    """The 64-bit DCT perceptual hash of ``im`` and of its left-right mirror image."""
    gray = im.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    a = np.asarray(gray, dtype=np.float64)
    low = (_DCT @ a @ _DCT.T)[:HASH_LOW, :HASH_LOW]
    return _bits(low), _bits(low * _MIRROR_SIGN)


def phash(im: Image.Image) -> int:
    """The 64-bit DCT perceptual hash of ``im`` (see the module docstring)."""
    return phashes(im)[0]


def hamming(a: int, b: int) -> int:
    """The number of differing bits of two hashes (0–64)."""
    return (a ^ b).bit_count()


def jpeg_quality(im: Image.Image) -> int | None:
    """The IJG quality (1–100) whose scaled luminance table is closest to the JPEG's first quantisation table.

    Order-insensitive (the tables are compared sorted), so it does not depend on zigzag or natural order.
    ``None`` for an image that is not a JPEG or carries no table.
    """
    tables = getattr(im, "quantization", None)
    if im.format != "JPEG" or not tables:
        return None
    actual = sorted(tables[min(tables)])
    if len(actual) != 64:
        return None
    best = (float("inf"), 0)
    for q in range(1, 101):
        scale = 5000 / q if q < 50 else 200 - 2 * q
        table = sorted(min(255, max(1, int((b * scale + 50) // 100))) for b in _IJG_LUMA)
        best = min(best, (sum(abs(x - y) for x, y in zip(actual, table, strict=True)), -q))
    return -best[1]


def webp_lossless(data: bytes) -> bool | None:
    """Whether a WebP file's image is VP8L (lossless) rather than VP8 (lossy); ``None`` if not a WebP file."""
    if len(data) < 16 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    at = 12
    while at + 8 <= len(data):
        tag = data[at:at + 4]
        (size,) = struct.unpack_from("<I", data, at + 4)
        if tag == b"VP8L":
            return True
        if tag == b"VP8 ":
            return False
        at += 8 + size + (size & 1)
    return None


def quality_class(width: int, height: int, fmt: str, quality: int | None, lossless: bool | None) -> str:
    """``"small"`` (shorter side under :data:`SMALL_SIDE` pixels), else ``"lossy"`` (lossy WebP, or a JPEG of
    estimated quality under :data:`CLEAN_JPEG_QUALITY`), else ``"clean"``."""
    if min(width, height) < SMALL_SIDE:
        return "small"
    if fmt == "WEBP" and not lossless:
        return "lossy"
    if fmt == "JPEG" and (quality is None or quality < CLEAN_JPEG_QUALITY):
        return "lossy"
    return "clean"


@dataclass(frozen=True)
class PhotoFacts:
    """What the manifest records about one photo file. ``colourfulness`` is Hasler & Süsstrunk's M on the
    0–255 scale, measured on a copy at most 256 pixels on a side; ``phash``/``phash_mirror`` as :func:`phashes`."""

    width: int
    height: int
    format: str
    jpeg_quality: int | None
    lossless: bool | None
    colourfulness: float
    phash: int
    phash_mirror: int

    @property
    def quality_class(self) -> str:
        return quality_class(self.width, self.height, self.format, self.jpeg_quality, self.lossless)


def photo_facts(data: bytes) -> PhotoFacts:
    """Facts about a photo given as its file's bytes. Raises ImageReadError if Pillow cannot decode it."""
    try:
        im = Image.open(io.BytesIO(data))
        fmt, (w, h) = im.format or "", im.size
        quality = jpeg_quality(im)
        lossless = True if fmt == "PNG" else webp_lossless(data) if fmt == "WEBP" else False if fmt == "JPEG" else None
        im.load()
        small = im.convert("RGB")
        small.thumbnail((256, 256))
        hashes = phashes(im)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise ImageReadError(f"cannot decode photo: {err}") from err
    t = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    return PhotoFacts(w, h, fmt, quality, lossless, round(float(colourfulness(t)[0]), 2), *hashes)
