"""Fuzzing the image contract: mutated files of every format and mode either load or raise a typed input error.

The mutator is ``scripts/fuzz_images.py`` (seeded); the test runs a few hundred of its cases in a fresh process, so
that the peak RSS it reports belongs to the fuzzing alone, and checks known decompression bombs one by one.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from enhancers import imageio
from enhancers.errors import ImageTooLargeError

ROOT = Path(__file__).resolve().parents[1]
CASES = 600
MAX_CASE_SECONDS = 5.0
MAX_PEAK_RSS_MB = 1500  # torch + numpy + Pillow themselves take ~350 MB


def test_fuzzed_files_load_or_raise_typed_errors(tmp_path: Path) -> None:
    summary_path = tmp_path / "fuzz.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "fuzz_images.py"), "--cases", str(CASES),
                           "--seed", "7", "--max-seconds", str(MAX_CASE_SECONDS), "--json", str(summary_path)],
                          capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert summary_path.is_file(), proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads(summary_path.read_text())

    assert summary["failures"] == [], summary["failures"][:5]
    assert proc.returncode == 0
    outcomes = summary["outcomes"]
    assert sum(outcomes.values()) == CASES
    assert set(outcomes) <= {"ok", "ImageReadError", "ImageTooLargeError"}
    # The mutations are real ones: some files still load, most are refused, and the size mutations hit the limit.
    assert outcomes["ok"] > CASES // 10 and outcomes["ImageReadError"] > CASES // 3
    assert outcomes.get("ImageTooLargeError", 0) > 0
    assert summary["max_case_seconds"] < MAX_CASE_SECONDS
    assert summary["peak_rss_mb"] < MAX_PEAK_RSS_MB


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _gif_with_screen(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("P", (64, 48), 3).save(buf, format="GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", width, height)  # logical screen: Pillow's canvas size
    return bytes(data)


def _jpeg_with_size(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buf, format="JPEG", progressive=True)
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc2")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("name, data", [
    # The fuzzer's finds: a few kB that declare 36 MP took 5–7 s and ~1.5 GB to decode before the ratio check.
    ("progressive JPEG declaring 6000×6000", _jpeg_with_size(6000, 6000)),
    ("GIF with a 6000×6000 logical screen", _gif_with_screen(6000, 6000)),
    ("PNG declaring 60000×60000", _png(60000, 60000, zlib.compress(b"\x00" * 1000))),
    ("PNG declaring 2^31−1 × 1", _png(2**31 - 1, 1, zlib.compress(b"\x00" * 10))),
])
def test_decompression_bombs_are_refused_before_decoding(name: str, data: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="decompression bomb|over the limit"):
        imageio.open_image(data)
    assert time.perf_counter() - start < 0.5, name


def test_real_large_flat_png_is_not_mistaken_for_a_bomb() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1600, 1200), (90, 140, 200)).save(buf, format="PNG", optimize=True)  # ~340 px per byte

    image = imageio.open_image(buf.getvalue())

    assert (image.width, image.height) == (1600, 1200)


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_out_of_range_exif_orientation_loads_unrotated(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.new("RGB", (40, 24), (10, 200, 30)).save(buf, format="JPEG", exif=exif.tobytes())

    image = imageio.open_image(buf.getvalue())

    assert (image.width, image.height) == (40, 24)


def test_corrupt_exif_block_is_dropped_not_fatal() -> None:
    exif = Image.Exif()
    exif[0x010F] = "camera"
    raw = bytearray(exif.tobytes())
    raw[6:10] = b"MM\x08*"  # a TIFF header no parser accepts
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), (200, 30, 30)).save(buf, format="PNG", exif=bytes(raw))

    image = imageio.open_image(buf.getvalue())

    assert image.exif is None and (image.width, image.height) == (32, 16)


# Earlier finds of the fuzzer, as (seed, case): each raised something other than a typed error, or ran over 5 s.
FOUND = {
    (0, 833): "JPEG whose EXIF block has a broken TIFF header: SyntaxError from getexif()",
    (1, 2774): "GIF with a 6000×6000 logical screen in 3.5 kB: 5.8 s to fill the canvas",
    (3, 7823): "JPEG whose EXIF values have the wrong type: TypeError when exif_transpose re-encodes them",
    (3, 8165): "the same, struct.error when the EXIF block without orientation is re-encoded",
    (3, 21003): "16-bit TIFF declaring 96×262208 with one 96×64 strip: 6.3 s to convert a canvas of zeros",
}


@pytest.mark.parametrize("seed, index", sorted(FOUND))
def test_earlier_fuzz_finds_stay_fixed(seed: int, index: int) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fuzz_images
    finally:
        sys.path.remove(str(ROOT / "scripts"))

    outcome = fuzz_images.run_case(fuzz_images.case(index, seed).data, max_seconds=MAX_CASE_SECONDS)

    assert not outcome.failed and outcome.seconds < 1.0, (FOUND[(seed, index)], outcome)
