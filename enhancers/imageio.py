"""The image contract: every conversion between files, PIL, numpy and tensors.

Inside the library an image is always an RGB float32 tensor of shape
``(1, 3, H, W)`` with values in [0, 1]; an alpha channel travels separately as
``(1, 1, H, W)``. This is the only module that touches PIL pixel data or numpy
image arrays.
"""

from __future__ import annotations

import errno
import io
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageReadError, ImageTooLargeError, InvalidInputError, OutputWriteError

DEFAULT_MAX_PIXELS = 40_000_000
_ORIENTATION_TAG = 0x0112
_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
             "bilinear": Image.Resampling.BILINEAR, "nearest": Image.Resampling.NEAREST}

# What Pillow's decoders and metadata parsers raise on malformed data (found by scripts/fuzz_images.py).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, ZeroDivisionError)
# Pillow re-encodes EXIF (exif_transpose, Exif.tobytes); values of the wrong type then raise TypeError.
_METADATA_ERRORS = (*_DECODE_ERRORS, TypeError)
# Checked above 1 MP only. The most pixels per byte measured for flat 6000×6000 images: JPEG 256 (gray,
# optimised), PNG 3207 (1-bit; deflate's ceiling is 8256), GIF 1341, deflated TIFF 209, lossless WebP 25140;
# RLE BMP cannot pass 128. Each limit leaves a margin of 1.2–8× over that.
_RATIO_CHECK_FROM = 1_000_000
_MAX_PIXELS_PER_BYTE = {"JPEG": 1000, "GIF": 5000, "BMP": 1000, "WEBP": 100_000, "": 10_000}


def max_pixels() -> int:
    """Pixel limit (width × height) for inputs, from ``ENHANCERS_MAX_PIXELS``."""
    raw = os.environ.get("ENHANCERS_MAX_PIXELS", "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class LoadedImage:
    """A decoded upload, split into what the models see and what is carried along.

    Attributes:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1], EXIF orientation applied.
        alpha: float32 ``(1, 1, H, W)`` in [0, 1], or None for opaque images.
        icc_profile: the source's ICC profile when it describes RGB data, else None.
        exif: the source's EXIF block without the orientation tag, else None.
        source_mode: Pillow mode of the file (e.g. ``"P"``, ``"CMYK"``, ``"I;16"``).
        source_format: Pillow format name (e.g. ``"JPEG"``), or None.
        jpeg_quality: for JPEG files, the IJG quality factor (1–100) that best explains the
            luminance quantisation table; None for other formats or non-standard tables.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor | None
    icc_profile: bytes | None
    exif: bytes | None
    source_mode: str
    source_format: str | None
    jpeg_quality: int | None = None

    @property
    def width(self) -> int:
        return int(self.rgb.shape[-1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[-2])

    def with_pixels(self, rgb: torch.Tensor, alpha: torch.Tensor | None) -> LoadedImage:
        """A copy with new pixels and the same metadata."""
        return replace(self, rgb=rgb, alpha=alpha)


def check_size(width: int, height: int, limit: int | None = None) -> None:
    """Raise :class:`ImageTooLargeError` when ``width × height`` exceeds the pixel limit."""
    limit = max_pixels() if limit is None else limit
    if width * height > limit:
        raise ImageTooLargeError(
            f"image is {width}×{height} = {width * height / 1e6:.1f} MP, over the limit of "
            f"{limit / 1e6:.1f} MP (set ENHANCERS_MAX_PIXELS to change it)")


def open_image(source: str | os.PathLike | bytes | Image.Image, limit: int | None = None) -> LoadedImage:
    """Decode a file, bytes or PIL image into the library's contract.

    Reads PNG, JPEG, WebP, TIFF (8 and 16 bit), BMP, GIF (first frame) and any
    Pillow mode (1, L, LA, P, PA, RGB, RGBA, CMYK, I;16, I, F, YCbCr, LAB, HSV).

    Raises:
        ImageReadError: empty, truncated, corrupt, or not an image. A corrupt EXIF block is dropped instead.
        ImageTooLargeError: more pixels than ``limit`` (default :func:`max_pixels`), or a decompression bomb
            (above 1 MP, more pixels per byte than the format can encode).
    """
    name = "image"
    if isinstance(source, Image.Image):
        im = source
    else:
        if isinstance(source, bytes):
            data = source
        else:
            name = Path(source).name
            try:
                data = Path(source).read_bytes()
            except OSError as e:
                raise ImageReadError(f"{name}: cannot read file ({e.strerror or e})") from e
        if not data:
            raise ImageReadError(f"{name}: file is empty (0 bytes)")
        try:
            with warnings.catch_warnings():
                # Between Pillow's warning and error thresholds, check_size decides.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as e:
            raise ImageTooLargeError(f"{name}: refused as a decompression bomb ({e})") from e
        except UnidentifiedImageError as e:
            raise ImageReadError(f"{name}: not a readable image (no image format recognised in its "
                                 f"{len(data)} bytes)") from e
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageReadError(f"{name}: not a readable image ({type(e).__name__}: {e})") from e
    try:
        check_size(*im.size, limit=limit)
    except ImageTooLargeError as e:
        raise ImageTooLargeError(f"{name}: {e}") from None
    if not isinstance(source, Image.Image):
        _check_declared_canvas(name, im, len(data))
    source_format = im.format  # exif_transpose returns a copy without it
    jpeg_quality = _ijg_quality(getattr(im, "quantization", None)) if source_format == "JPEG" else None
    try:
        im.seek(0)
        im.load()
        try:
            im = ImageOps.exif_transpose(im)
        except _METADATA_ERRORS:  # an unreadable EXIF block: keep the pixels as stored (the EXIF is dropped below)
            pass
        rgb, alpha = _split_channels(im)
    except _DECODE_ERRORS as e:
        raise ImageReadError(f"{name}: image data is corrupt or truncated ({type(e).__name__}: {e})") from e
    return LoadedImage(rgb=rgb, alpha=alpha, icc_profile=_rgb_icc(im), exif=_exif_without_orientation(im),
                       source_mode=im.mode, source_format=source_format, jpeg_quality=jpeg_quality)


def _check_declared_canvas(name: str, im: Image.Image, nbytes: int) -> None:
    """Refuse a small file that declares a canvas far larger than its format can encode in that many bytes, or
    (TIFF) whose strips cover only part of it.

    Such a file is a decompression bomb even under the pixel limit: decoders fill the missing data, which
    costs seconds and hundreds of MB for nothing (found by ``scripts/fuzz_images.py``).
    """
    pixels = im.size[0] * im.size[1]
    if pixels <= _RATIO_CHECK_FROM:
        return
    limit = _MAX_PIXELS_PER_BYTE.get(im.format or "", _MAX_PIXELS_PER_BYTE[""])
    if pixels > limit * nbytes:
        raise ImageTooLargeError(
            f"{name}: refused as a decompression bomb: its {nbytes} bytes declare {im.size[0]}×{im.size[1]} = "
            f"{pixels / 1e6:.1f} MP, more than {limit} pixels per byte, which no {im.format or 'image'} file can hold")
    if im.format == "TIFF":  # strips or tiles that cover a sliver of the canvas: Pillow would fill the rest with 0
        covered = sum((t[1][2] - t[1][0]) * (t[1][3] - t[1][1]) for t in im.tile)
        if covered < pixels:
            raise ImageReadError(f"{name}: its image data covers {covered} of the {pixels} pixels it declares "
                                 f"({im.size[0]}×{im.size[1]}); the file is corrupt")



def _split_channels(im: Image.Image) -> tuple[torch.Tensor, torch.Tensor | None]:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im).astype(np.float32)
        peak = 65535.0 if (mode.startswith("I;16") or arr.max(initial=0) > 255) else 255.0
        if mode == "F":
            peak = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        gray = np.clip(arr / peak, 0.0, 1.0)
        return _hwc_to_tensor(np.repeat(gray[..., None], 3, axis=2)), None
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode == "La":
        im = im.convert("LA")
    alpha = None
    if im.mode in ("RGBA", "LA"):
        alpha = _hwc_to_tensor(np.asarray(im.getchannel("A"), dtype=np.float32)[..., None] / 255.0)
        im = im.convert("RGB")
    elif im.mode != "RGB":
        im = im.convert("RGB")
    return _hwc_to_tensor(np.asarray(im, dtype=np.float32) / 255.0), alpha


def _rgb_icc(im: Image.Image) -> bytes | None:
    icc = im.info.get("icc_profile")
    # An ICC profile is only valid for the colour space it describes; a CMYK or
    # gray profile must not be attached to the RGB output.
    if icc and len(icc) >= 20 and icc[16:20] == b"RGB ":
        return bytes(icc)
    return None


def _exif_without_orientation(im: Image.Image) -> bytes | None:
    try:
        exif = im.getexif()
        if not exif:
            return None
        exif.pop(_ORIENTATION_TAG, None)
        return exif.tobytes() if len(exif) else None
    except _METADATA_ERRORS:  # corrupt EXIF: the result carries none
        return None


def _hwc_to_tensor(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)).unsqueeze(0)


def check_image_tensor(t: torch.Tensor, channels: int = 3, name: str = "image", allow_uint8: bool = False) -> None:
    """Validate the contract: float32 ``(1, channels, H, W)``.

    ``allow_uint8`` also accepts uint8 in [0, 255]: the 8-bit form a result takes
    on its way to a file (see :func:`save_png`).

    Raises:
        InvalidInputError: wrong type, rank, batch, channel count or dtype.
    """
    if not isinstance(t, torch.Tensor):
        raise InvalidInputError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.ndim != 4 or t.shape[0] != 1:
        raise InvalidInputError(f"{name}: expected shape (1, {channels}, H, W), got {tuple(t.shape)}")
    if t.shape[1] != channels:
        hint = " (RGBA?)" if t.shape[1] == 4 else " (grayscale?)" if t.shape[1] == 1 else ""
        raise InvalidInputError(f"{name}: expected {channels} channels, got {t.shape[1]}{hint}")
    if t.dtype != torch.float32 and not (allow_uint8 and t.dtype == torch.uint8):
        raise InvalidInputError(f"{name}: expected dtype float32, got {t.dtype}")


def pil_to_tensor(im: Image.Image) -> torch.Tensor:
    """PIL image (any mode, alpha dropped) → RGB float32 ``(1, 3, H, W)`` in [0, 1]."""
    return _split_channels(im)[0]


def to_uint8_hwc(t: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` float in [0, 1] (or uint8 in [0, 255]) → uint8 ``(H, W, C)`` numpy array.

    Floats are rounded and clipped, in strips of rows so that no whole-image
    float copy is made; the input is not modified.
    """
    src = t.detach()[0]
    if src.dtype == torch.uint8:
        return src.permute(1, 2, 0).contiguous().numpy()
    out = np.empty((src.shape[1], src.shape[2], src.shape[0]), dtype=np.uint8)
    for y in range(0, src.shape[1], 256):
        rows = src[:, y:y + 256].to("cpu", torch.float32).clamp(0, 1).mul_(255).round_().to(torch.uint8)
        out[y:y + 256] = rows.permute(1, 2, 0).numpy()
    return out


def tensor_to_pil(rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> Image.Image:
    """RGB ``(1, 3, H, W)`` float32 in [0, 1] or uint8 (+ optional alpha ``(1, 1, H, W)``) → PIL RGB/RGBA."""
    check_image_tensor(rgb, allow_uint8=True)
    im = Image.fromarray(to_uint8_hwc(rgb), "RGB")
    if alpha is not None:
        if alpha.shape[-2:] != rgb.shape[-2:]:
            raise InvalidInputError(f"alpha is {tuple(alpha.shape[-2:])}, image is {tuple(rgb.shape[-2:])}")
        im.putalpha(Image.fromarray(to_uint8_hwc(alpha)[..., 0], "L"))
    return im


def numpy_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W)``/``(H, W, 3)``/``(H, W, 4)`` or float in [0, 1] → RGB ``(1, 3, H, W)`` float32."""
    a = np.asarray(arr)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InvalidInputError(f"expected an (H, W, 3) array, got shape {a.shape}")
    a = a[..., :3]
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else np.clip(a.astype(np.float32), 0, 1)
    return _hwc_to_tensor(a)


def resize(t: torch.Tensor, size: tuple[int, int], method: str = "bicubic",
           out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Resize ``(1, C, H, W)`` float32 to ``size = (width, height)`` with Pillow's filter.

    Pillow's bicubic (a = −0.5, antialiased when shrinking) is the standard SR
    degradation and baseline. Float output is clipped to [0, 1]. With
    ``out_dtype=torch.uint8`` the image is quantised first and resized as 8-bit
    RGB (3 bytes per output pixel instead of 12), for display and files.
    """
    if method not in _RESAMPLE:
        raise InvalidInputError(f"unknown resize method {method!r}; expected one of {sorted(_RESAMPLE)}")
    w, h = size
    if out_dtype == torch.uint8:
        im = Image.fromarray(to_uint8_hwc(t), "RGB").resize((w, h), _RESAMPLE[method])
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).unsqueeze(0)
    out = torch.empty((1, t.shape[1], h, w), dtype=torch.float32)
    src = t.detach().to("cpu", torch.float32)
    for c in range(t.shape[1]):
        chan = Image.fromarray(src[0, c].numpy(), "F").resize((w, h), _RESAMPLE[method])
        out[0, c].numpy()[...] = np.asarray(chan)
    return out.clamp_(0, 1)


def save_png(path: str | os.PathLike, rgb: torch.Tensor, alpha: torch.Tensor | None = None,
             icc_profile: bytes | None = None, exif: bytes | None = None) -> Path:
    """Write a PNG atomically (temp file + rename), keeping ICC and EXIF.

    ``rgb`` is RGB ``(1, 3, H, W)``, float32 in [0, 1] or uint8 in [0, 255].
    A failure leaves no partial file at ``path`` and no temp file.

    Raises:
        OutputWriteError: the file system refused the write (no space left, no permission, read-only).
    """
    path = Path(path)
    im = tensor_to_pil(rgb, alpha)
    kwargs: dict = {"format": "PNG", "compress_level": 6}
    if icc_profile:
        kwargs["icc_profile"] = icc_profile
    if exif:
        kwargs["exif"] = exif
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".png.part", dir=path.parent)
    except OSError as e:
        raise _write_error(path, e) from e
    try:
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are ordinary shareable files
        with os.fdopen(fd, "wb") as fh:
            im.save(fh, **kwargs)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, OutputWriteError):
            raise _write_error(path, e) from e
        raise
    return path


def _write_error(path: Path, e: OSError) -> OutputWriteError:
    reason = "no space left on the device" if e.errno == errno.ENOSPC else (e.strerror or str(e))
    err = OutputWriteError(f"cannot write {path}: {reason}; nothing was written")
    err.errno = e.errno
    return err


def save_result(path: str | os.PathLike, image: LoadedImage) -> Path:
    """Save a processed :class:`LoadedImage` as PNG with its alpha, ICC and EXIF."""
    return save_png(path, image.rgb, image.alpha, image.icc_profile, image.exif)


def as_saved(image: LoadedImage) -> LoadedImage:
    """What :func:`open_image` returns for the PNG that :func:`save_result` writes for ``image``.

    The pixels are quantised to 8 bits exactly as in the file (alpha too), and the metadata is what
    the file carries (format PNG, no JPEG quality). Encoded in memory with fast compression, which
    changes the file size only, not the pixels.
    """
    kwargs: dict = {"format": "PNG", "compress_level": 1}
    if image.icc_profile:
        kwargs["icc_profile"] = image.icc_profile
    if image.exif:
        kwargs["exif"] = image.exif
    buf = io.BytesIO()
    tensor_to_pil(image.rgb, image.alpha).save(buf, **kwargs)
    return open_image(buf.getvalue(), limit=image.width * image.height)


def jpeg_compress(rgb: torch.Tensor, quality: int, grayscale: bool = False) -> torch.Tensor:
    """Round-trip an image through Pillow's JPEG encoder and decoder.

    The JPEG protocol of the artifact-removal models: ``save(format="JPEG",
    quality=q)`` with Pillow's default chroma subsampling (4:2:0).

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1], or uint8.
        quality: JPEG quality factor, 1–100.
        grayscale: encode the BT.601 luma as a one-channel JPEG (returned as three equal channels).

    Returns:
        The decoded JPEG, RGB float32 ``(1, 3, H, W)`` in [0, 1].

    Raises:
        InvalidInputError: ``quality`` outside 1–100, or ``rgb`` breaks the contract.
    """
    check_image_tensor(rgb, allow_uint8=True)
    if not 1 <= int(quality) <= 100:
        raise InvalidInputError(f"JPEG quality must be 1–100, got {quality}")
    im = Image.fromarray(to_uint8_hwc(rgb), "RGB")
    if grayscale:
        im = im.convert("L")
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as decoded:
        return pil_to_tensor(decoded)


def ijg_luma_table(quality: int) -> np.ndarray:
    """The IJG (libjpeg, Pillow) luminance quantisation table for a quality factor 1–100, 64 steps in row order."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((IJG_LUMA * scale + 50) / 100), 1, 255)


def _ijg_quality(tables: dict | None) -> int | None:
    """The IJG quality factor whose scaled standard luminance table (ITU-T T.81 Annex K) is
    closest to the file's table; None without a table or when none comes within 1 per entry."""
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    table = np.sort(np.asarray(tables[0], dtype=np.float64))  # sorted: independent of zigzag order
    best, best_err = None, np.inf
    for q in range(1, 101):
        ref = np.sort(ijg_luma_table(q))
        err = float(np.abs(ref - table).mean())
        if err < best_err:
            best, best_err = q, err
    return best if best_err <= 1.0 else None


# The standard JPEG luminance quantisation table (ITU-T T.81, Annex K), quality 50.
IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)
