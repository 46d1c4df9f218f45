"""Fuzz the image contract: mutated files of every supported format and mode through ``imageio.open_image``.

Every case must either load (an RGB float32 ``(1, 3, H, W)`` tensor in [0, 1], alpha ``(1, 1, H, W)`` or None)
or raise :class:`enhancers.errors.EnhancerError` (in practice ``ImageReadError`` / ``ImageTooLargeError``);
any other exception, a case over the time limit, or a result that breaks the contract is a failure.

The seed corpus is a crop of scikit-image's astronaut photo written as PNG (RGB, RGBA, P, L, LA, I;16),
JPEG (RGB, L, CMYK, progressive, with EXIF orientation and an ICC profile), WebP, TIFF (8 and 16 bit),
BMP and GIF. The mutations are seeded, so a case is reproducible from ``(seed, index)``.

Usage: ``python scripts/fuzz_images.py --cases 5000 [--seed 0] [--max-seconds 5]``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import signal
import struct
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fresh_process import peak_rss_mib  # noqa: E402
from enhancers import imageio  # noqa: E402
from enhancers.errors import EnhancerError  # noqa: E402

CROP = (96, 64)  # width, height of the seed photo: small enough for thousands of cases per minute


def _photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[40:40 + CROP[1], 150:150 + CROP[0]]


def _save(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def seed_corpus() -> dict[str, bytes]:
    """The unmutated files, by name: every format and mode that ``open_image`` supports."""
    rgb = Image.fromarray(_photo(), "RGB")
    rgba = rgb.copy()
    rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
    gray = rgb.convert("L")
    la = gray.copy().convert("LA")
    la.putalpha(Image.linear_gradient("L").resize(rgb.size))
    i16 = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)  # uint16 arrays become mode I;16
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise
    exif[0x010F] = "Fuzz camera"
    return {
        "png-rgb": _save(rgb, "PNG"),
        "png-rgba": _save(rgba, "PNG"),
        "png-p": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=64), "PNG"),
        "png-p-transparency": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG",
                                    transparency=0),
        "png-l": _save(gray, "PNG"),
        "png-la": _save(la, "PNG"),
        "png-i16": _save(i16, "PNG"),
        "png-rgb-icc-exif": _save(rgb, "PNG", icc_profile=srgb, exif=exif.tobytes()),
        "jpeg-rgb": _save(rgb, "JPEG", quality=85),
        "jpeg-l": _save(gray, "JPEG", quality=85),
        "jpeg-cmyk": _save(rgb.convert("CMYK"), "JPEG", quality=85),
        "jpeg-progressive": _save(rgb, "JPEG", quality=85, progressive=True),
        "jpeg-exif-icc": _save(rgb, "JPEG", quality=85, exif=exif.tobytes(), icc_profile=srgb),
        "webp-rgb": _save(rgb, "WEBP", quality=80),
        "webp-rgba-lossless": _save(rgba, "WEBP", lossless=True),
        "tiff-rgb": _save(rgb, "TIFF"),
        "tiff-rgb-deflate": _save(rgb, "TIFF", compression="tiff_adobe_deflate"),
        "tiff-i16": _save(i16, "TIFF"),
        "bmp-rgb": _save(rgb, "BMP"),
        "gif": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=32), "GIF"),
    }


# --- Mutations: (data, rng) -> bytes ---------------------------------------------------------------------------

Mutation = Callable[[bytes, random.Random], bytes]


def bit_flips(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 2, 4, 16, 64))):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def header_bit_flips(data: bytes, rng: random.Random) -> bytes:
    """Flips within the first 64 bytes, where the format's magic and dimensions live."""
    b = bytearray(data)
    for _ in range(rng.choice((1, 2, 3))):
        i = rng.randrange(min(64, len(b)))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.choice((0, 1, 4, 8, 16, 33, rng.randrange(len(data)), len(data) - 1))]


def overwrite_random_bytes(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    start = rng.randrange(len(b))
    n = min(len(b) - start, rng.choice((1, 4, 32, 256)))
    b[start:start + n] = bytes(rng.choice((0x00, 0xFF, rng.randrange(256))) for _ in range(n))
    return bytes(b)


def insert_or_delete(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    if rng.random() < 0.5:
        return data[:i] + bytes(rng.randrange(256) for _ in range(rng.choice((1, 7, 100)))) + data[i:]
    return data[:i] + data[i + rng.choice((1, 7, 100)):]


_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\x00\x00\x00\x00WEBP", b"II*\x00", b"MM\x00*",
           b"BM", b"GIF89a", b"GIF87a", b"%PDF-1.4", b"PK\x03\x04", b"<svg ", b"\x00\x00\x01\x00")


def wrong_header(data: bytes, rng: random.Random) -> bytes:
    """Another format's magic number in place of (or in front of) this one's."""
    magic = rng.choice(_MAGICS)
    return magic + data[len(magic):] if rng.random() < 0.7 else magic + data


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_join(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = [b"\x89PNG\r\n\x1a\n"]
    for kind, body in chunks:
        out.append(struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body)))
    return b"".join(out)


def _declared_size(rng: random.Random) -> tuple[int, int]:
    return rng.choice(((0, 64), (96, 0), (0, 0), (65535, 65535), (2**31 - 1, 1), (1, 2**31 - 1), (100_000, 100_000),
                       (9000, 9000), (6000, 6000), (70_000, 1), (1, 70_000), (2**32 - 1, 2**32 - 1)))


def huge_or_zero_size(data: bytes, rng: random.Random) -> bytes:
    """Declared width × height set to zero, huge, or overflowing, with valid checksums where the format has them."""
    w, h = _declared_size(rng)
    b = bytearray(data)
    chunks = _png_chunks(data)
    if chunks:
        kind, body = chunks[0]
        if kind == b"IHDR" and len(body) >= 8:
            chunks[0] = (kind, struct.pack(">II", w & 0xFFFFFFFF, h & 0xFFFFFFFF) + body[8:])
        return _png_join(chunks)
    if data.startswith(b"\xff\xd8"):
        for marker in (b"\xff\xc0", b"\xff\xc2"):
            i = data.find(marker)
            if i > 0 and i + 9 <= len(b):
                b[i + 5:i + 9] = struct.pack(">HH", h & 0xFFFF, w & 0xFFFF)
        return bytes(b)
    if data.startswith(b"GIF"):
        b[6:10] = struct.pack("<HH", w & 0xFFFF, h & 0xFFFF)
        if rng.random() < 0.5:
            i = data.find(b"\x2c")  # image descriptor: left, top, width, height
            if i > 0 and i + 9 <= len(b):
                b[i + 5:i + 9] = struct.pack("<HH", w & 0xFFFF, h & 0xFFFF)
        return bytes(b)
    if data.startswith(b"BM") and len(b) >= 26:
        b[18:26] = struct.pack("<ii", min(w, 2**31 - 1), min(h, 2**31 - 1) * rng.choice((1, -1)))
        return bytes(b)
    if data.startswith(b"RIFF") and data[12:16] == b"VP8X" and len(b) >= 30:
        b[24:30] = struct.pack("<I", max(w - 1, 0) & 0xFFFFFF)[:3] + struct.pack("<I", max(h - 1, 0) & 0xFFFFFF)[:3]
        return bytes(b)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_set_size(data, w, h)
    return overwrite_random_bytes(data, rng)


def _tiff_set_size(data: bytes, w: int, h: int) -> bytes:
    """Rewrite the ImageWidth (256) and ImageLength (257) tags of the first IFD."""
    b = bytearray(data)
    end = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(end + "I", data[4:8])
    if ifd + 2 > len(b):
        return data
    (n,) = struct.unpack(end + "H", data[ifd:ifd + 2])
    for k in range(n):
        e = ifd + 2 + 12 * k
        if e + 12 > len(b):
            break
        tag, typ = struct.unpack(end + "HH", data[e:e + 4])
        if tag in (256, 257):
            value = (w if tag == 256 else h) & 0xFFFFFFFF
            b[e + 2:e + 12] = struct.pack(end + "HII", 4, 1, value)  # as LONG
    return bytes(b)


def odd_chunk_order(data: bytes, rng: random.Random) -> bytes:
    """PNG chunks shuffled, duplicated or dropped (checksums kept valid); JPEG segments swapped."""
    chunks = _png_chunks(data)
    if chunks:
        op = rng.choice(("shuffle", "duplicate", "drop", "ihdr-last", "idat-first"))
        if op == "shuffle":
            rng.shuffle(chunks)
        elif op == "duplicate":
            i = rng.randrange(len(chunks))
            chunks.insert(rng.randrange(len(chunks)), chunks[i])
        elif op == "drop" and len(chunks) > 1:
            chunks.pop(rng.randrange(len(chunks)))
        elif op == "ihdr-last":
            chunks.append(chunks.pop(0))
        else:
            idat = [c for c in chunks if c[0] == b"IDAT"]
            chunks = idat + [c for c in chunks if c[0] != b"IDAT"]
        return _png_join(chunks)
    if data.startswith(b"\xff\xd8"):
        segments = _jpeg_segments(data)
        if len(segments) > 3:
            i, j = rng.sample(range(1, len(segments) - 1), 2)
            segments[i], segments[j] = segments[j], segments[i]
            return b"".join(segments)
    return insert_or_delete(data, rng)


def _jpeg_segments(data: bytes) -> list[bytes]:
    """SOI, each marker segment up to SOS, then the rest (scan data and EOI) as one piece."""
    out, pos = [data[:2]], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        out.append(data[pos:pos + 2 + length])
        pos += 2 + length
    out.append(data[pos:])
    return out


def bad_exif_orientation(data: bytes, rng: random.Random) -> bytes:
    """Re-encode with an EXIF orientation outside 1–8 (or of the wrong type), or a corrupt EXIF block."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        fmt = im.format
    except Exception:  # noqa: BLE001 - a seed that does not re-encode gets a byte mutation instead
        return bit_flips(data, rng)
    if fmt not in ("JPEG", "PNG", "WEBP", "TIFF"):
        return bit_flips(data, rng)
    exif = Image.Exif()
    exif[0x0112] = rng.choice((0, 9, 255, 65535, "8", 3.5, (1, 2)))
    try:
        raw = exif.tobytes()
        raw = raw if rng.random() < 0.7 else raw[:rng.randrange(1, 20)] + b"\x00" * 3
        if fmt == "TIFF":
            return _save(im, fmt, exif=raw)
        return _save(im if im.mode != "I;16" or fmt == "PNG" else im.convert("L"), fmt, exif=raw)
    except Exception:  # noqa: BLE001 - Pillow refused to write this value; fall back to a raw patch
        i = data.find(b"\x12\x01\x03\x00")  # little-endian orientation tag entry
        if i < 0:
            return bit_flips(data, rng)
        b = bytearray(data)
        b[i + 8:i + 10] = struct.pack("<H", rng.choice((0, 9, 0xFFFF)))
        return bytes(b)


def broken_icc(data: bytes, rng: random.Random) -> bytes:
    """Re-encode with an ICC profile that is truncated, garbage, claims the wrong colour space, or is huge."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        fmt = im.format
    except Exception:  # noqa: BLE001
        return bit_flips(data, rng)
    if fmt not in ("JPEG", "PNG", "WEBP", "TIFF"):
        return bit_flips(data, rng)
    good = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    choice = rng.randrange(5)
    if choice == 0:
        icc = good[:rng.randrange(1, len(good))]
    elif choice == 1:
        icc = bytes(rng.randrange(256) for _ in range(rng.choice((4, 128, 600))))
    elif choice == 2:
        icc = good[:16] + b"CMYK" + good[20:]
    elif choice == 3:
        icc = good[:16] + b"RGB " + bytes(rng.randrange(256) for _ in range(len(good) - 20))
    else:
        icc = good * 200  # ~100 kB, split over many APP2 segments in JPEG
    try:
        src = im if im.mode != "I;16" or fmt in ("PNG", "TIFF") else im.convert("L")
        return _save(src, fmt, icc_profile=icc)
    except Exception:  # noqa: BLE001
        return bit_flips(data, rng)


MUTATIONS: dict[str, Mutation] = {
    "bit_flips": bit_flips,
    "header_bit_flips": header_bit_flips,
    "truncate": truncate,
    "overwrite": overwrite_random_bytes,
    "insert_delete": insert_or_delete,
    "wrong_header": wrong_header,
    "huge_or_zero_size": huge_or_zero_size,
    "odd_chunk_order": odd_chunk_order,
    "bad_exif_orientation": bad_exif_orientation,
    "broken_icc": broken_icc,
}


@dataclass(frozen=True)
class Case:
    index: int
    source: str
    mutation: str
    data: bytes


def case(index: int, seed: int = 0, corpus: dict[str, bytes] | None = None) -> Case:
    """Case ``index`` of run ``seed``: its own seeded generator picks the source file; mutations take turns."""
    corpus = corpus or seed_corpus()
    rng = random.Random(f"{seed}-{index}")
    source = rng.choice(sorted(corpus))
    mutations = sorted(MUTATIONS)
    mutation = mutations[index % len(mutations)]
    data = MUTATIONS[mutation](corpus[source], rng)
    if rng.random() < 0.2:  # a second, byte-level mutation on top
        data = MUTATIONS[rng.choice(("bit_flips", "truncate", "overwrite"))](data, rng) if data else data
    return Case(index, source, mutation, data)


def cases(n: int, seed: int = 0, corpus: dict[str, bytes] | None = None) -> Iterator[Case]:
    """Cases 0 … n − 1 of run ``seed``."""
    corpus = corpus or seed_corpus()
    for i in range(n):
        yield case(i, seed, corpus)


class CaseTimeout(Exception):
    """A case ran past the time limit (raised by the watchdog signal)."""


@dataclass(frozen=True)
class Outcome:
    kind: str  # "ok", an EnhancerError subclass name, or "UNEXPECTED <type>", "TIMEOUT", "BAD RESULT"
    seconds: float
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.kind.startswith(("UNEXPECTED", "TIMEOUT", "BAD RESULT"))


def run_case(data: bytes, max_seconds: float = 5.0, limit: int | None = None) -> Outcome:
    """Decode ``data`` with ``open_image`` and classify the result.

    A case's time is the CPU time it used (``time.process_time``), so other jobs on the machine do not make a
    case look slow; a wall-clock watchdog (SIGALRM, main thread only) at 3 × ``max_seconds`` catches a hang.
    """
    def on_alarm(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 3 * max_seconds)
    start = time.process_time()
    try:
        try:
            image = imageio.open_image(data, limit=limit)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    except CaseTimeout:
        return Outcome("TIMEOUT", time.process_time() - start)
    except EnhancerError as e:
        return _timed(Outcome(type(e).__name__, time.process_time() - start, str(e)), max_seconds)
    except Exception as e:  # noqa: BLE001 - exactly what the fuzzer is looking for
        return Outcome(f"UNEXPECTED {type(e).__name__}", time.process_time() - start, repr(e)[:300])
    seconds = time.process_time() - start
    problem = _contract_problem(image)
    return Outcome("BAD RESULT", seconds, problem) if problem else _timed(Outcome("ok", seconds), max_seconds)


def _timed(outcome: Outcome, max_seconds: float) -> Outcome:
    """A case over ``max_seconds`` of CPU time is a failure, whatever it returned."""
    if outcome.seconds > max_seconds:
        return Outcome("TIMEOUT", outcome.seconds, f"{outcome.kind} after {outcome.seconds:.1f} s of CPU time")
    return outcome


def _contract_problem(image: imageio.LoadedImage) -> str:
    rgb, alpha = image.rgb, image.alpha
    if rgb.dtype != np.float32 and str(rgb.dtype) != "torch.float32":
        return f"rgb dtype {rgb.dtype}"
    if rgb.ndim != 4 or rgb.shape[:2] != (1, 3) or min(rgb.shape[-2:]) < 1:
        return f"rgb shape {tuple(rgb.shape)}"
    if not bool(rgb.isfinite().all()) or float(rgb.min()) < 0 or float(rgb.max()) > 1:
        return "rgb values outside [0, 1]"
    if alpha is not None and (tuple(alpha.shape) != (1, 1, *rgb.shape[-2:]) or float(alpha.min()) < 0
                              or float(alpha.max()) > 1):
        return f"alpha shape {tuple(alpha.shape)} or values outside [0, 1]"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=5.0, help="time limit per case")
    parser.add_argument("--show", type=int, default=10, help="failures to print in full")
    parser.add_argument("--json", type=Path, help="also write the summary here, as JSON")
    args = parser.parse_args(argv)

    import warnings

    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # Pillow warns about every corrupt EXIF block it meets
    corpus = seed_corpus()
    kinds: Counter[str] = Counter()
    by_mutation: dict[str, Counter[str]] = {m: Counter() for m in MUTATIONS}
    failures: list[tuple[Case, Outcome]] = []
    slowest = (0.0, "")
    started = time.perf_counter()
    for case in cases(args.cases, args.seed, corpus):
        outcome = run_case(case.data, args.max_seconds)
        kinds[outcome.kind] += 1
        by_mutation[case.mutation][outcome.kind] += 1
        if outcome.seconds > slowest[0]:
            slowest = (outcome.seconds, f"case {case.index} ({case.source}, {case.mutation})")
        if outcome.failed:
            failures.append((case, outcome))
    total = time.perf_counter() - started

    print(f"fuzzed {args.cases} cases (seed {args.seed}, {len(corpus)} seed files, {len(MUTATIONS)} mutations) "
          f"in {total:.1f} s")
    print(f"  loaded ok: {kinds['ok']}")
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        if kind != "ok":
            print(f"  {kind}: {n}")
    print(f"  max seconds per case: {slowest[0]:.3f} ({slowest[1]})")
    print(f"  peak RSS: {peak_rss_mib():.0f} MB")
    print("  by mutation: " + "; ".join(f"{m} {c['ok']}/{sum(c.values())} ok" for m, c in by_mutation.items()))
    print(f"  failures (unexpected exception, timeout or broken contract): {len(failures)}")
    for case, outcome in failures[:args.show]:
        print(f"    case {case.index} ({case.source}, {case.mutation}): {outcome.kind} after {outcome.seconds:.2f} s "
              f"{outcome.detail}")
    if args.json:
        args.json.write_text(json.dumps({
            "cases": args.cases, "seed": args.seed, "seconds": total, "outcomes": dict(kinds),
            "max_case_seconds": slowest[0], "peak_rss_mb": peak_rss_mib(),
            "failures": [{"index": c.index, "source": c.source, "mutation": c.mutation, "kind": o.kind,
                          "detail": o.detail} for c, o in failures]}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
