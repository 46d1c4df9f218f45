"""Tests for the image contract in enhancers/imageio.py."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, ImageFile

from enhancers import imageio
from enhancers.errors import ImageReadError, ImageTooLargeError, InvalidInputError

W, H = 16, 12
TOL = 1 / 255 + 1e-6


def _palette_image() -> Image.Image:
    im = Image.fromarray((np.arange(W * H).reshape(H, W) % 8).astype(np.uint8), "P")
    im.putpalette([v for i in range(8) for v in (i * 30, 255 - i * 30, i * 10)])
    return im


def _sources() -> dict[str, Image.Image]:
    y, x = np.mgrid[0:H, 0:W]
    rgb = Image.fromarray(np.stack([x * 15, y * 20, (x * 7 + y * 11) % 256], axis=2).astype(np.uint8), "RGB")
    alpha = Image.fromarray(((x + y * W) * 255 // (W * H - 1)).astype(np.uint8), "L")
    gray = rgb.convert("L")
    rgba, la, p_trans = rgb.copy(), gray.copy(), _palette_image()
    rgba.putalpha(alpha)
    la.putalpha(alpha)
    p_trans.info["transparency"] = 0
    return {"RGB": rgb, "RGBA": rgba, "L": gray, "LA": la, "P": _palette_image(), "P_trans": p_trans,
            "1": gray.point(lambda v: 255 if v > 100 else 0).convert("1"), "CMYK": rgb.convert("CMYK")}


JPEG, LOSSLESS_WEBP = {"quality": 95}, {"lossless": True, "exact": True}
# (source, extension, save kwargs, lossy, expect alpha)
CASES = [
    ("RGB", "png", {}, False, False), ("RGBA", "png", {}, False, True),
    ("L", "png", {}, False, False), ("LA", "png", {}, False, True),
    ("P", "png", {}, False, False), ("P_trans", "png", {"transparency": 0}, False, True),
    ("1", "png", {}, False, False), ("RGB", "jpg", JPEG, True, False),
    ("L", "jpg", JPEG, True, False), ("CMYK", "jpg", JPEG, True, False),
    ("RGB", "webp", {"quality": 90}, True, False), ("RGBA", "webp", LOSSLESS_WEBP, False, True),
    ("RGB", "tif", {}, False, False), ("RGB", "bmp", {}, False, False),
]


@pytest.mark.parametrize("key,ext,kwargs,lossy,has_alpha", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_reads_every_mode_and_format(tmp_path, key, ext, kwargs, lossy, has_alpha):
    src = _sources()[key]
    path = tmp_path / f"img.{ext}"
    src.save(path, **kwargs)
    reference = (Image.open(path) if lossy else src).convert("RGBA")
    loaded = imageio.open_image(path)
    assert loaded.rgb.shape == (1, 3, H, W)
    assert loaded.rgb.dtype == torch.float32
    assert 0.0 <= loaded.rgb.min() and loaded.rgb.max() <= 1.0
    ref = torch.from_numpy(np.asarray(reference, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    assert (loaded.rgb - ref[:, :3]).abs().max() <= TOL
    assert (loaded.alpha is not None) == has_alpha
    if has_alpha:
        assert loaded.alpha.shape == (1, 1, H, W) and loaded.alpha.dtype == torch.float32
        assert (loaded.alpha - ref[:, 3:]).abs().max() <= TOL
    assert loaded.source_format == Image.open(path).format


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_reads_16bit_gray(tmp_path, ext):
    arr = np.zeros((H, W), np.uint16)
    arr[0, 0], arr[0, 1], arr[0, 2], arr[0, 3] = 32768, 65535, 200, 0
    path = tmp_path / f"gray16.{ext}"
    Image.fromarray(arr).save(path)
    loaded = imageio.open_image(path)
    assert loaded.source_mode.startswith("I;16")
    assert loaded.rgb.shape == (1, 3, H, W) and loaded.rgb.dtype == torch.float32
    assert loaded.alpha is None
    px = loaded.rgb[0, :, 0, :4]
    assert torch.allclose(px, px[:1].expand(3, 4))
    assert px[0].tolist() == pytest.approx([32768 / 65535, 1.0, 200 / 65535, 0.0], abs=1e-6)


def test_gif_returns_first_frame(tmp_path):
    first = Image.fromarray(np.zeros((H, W, 3), np.uint8), "RGB")
    first.paste((255, 0, 0), (0, 0, W // 2, H))
    first.paste((0, 255, 0), (W // 2, 0, W, H))
    second = Image.new("RGB", (W, H), (0, 0, 255))
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100)
    assert Image.open(path).n_frames == 2
    loaded = imageio.open_image(path)
    assert loaded.rgb.shape == (1, 3, H, W)
    assert loaded.rgb[0, :, 0, 0].tolist() == [1.0, 0.0, 0.0]
    assert loaded.rgb[0, :, H - 1, W - 1].tolist() == [0.0, 1.0, 0.0]
    assert loaded.rgb[0, 2].max() == 0.0
    assert loaded.source_format == "GIF"


def test_accepts_bytes_and_pil_image(tmp_path):
    src = _sources()["RGB"]
    path = tmp_path / "a.png"
    src.save(path)
    from_bytes = imageio.open_image(path.read_bytes())
    from_pil = imageio.open_image(src)
    assert torch.equal(from_bytes.rgb, from_pil.rgb)
    assert torch.equal(from_pil.rgb, imageio.pil_to_tensor(src))


def _exif(orientation: int | None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_exif_orientation_applied_and_stripped(tmp_path, ext):
    arr = np.full((H, W, 3), 128, np.uint8)
    arr[:4, :4] = (255, 0, 0)
    path = tmp_path / f"rot.{ext}"
    Image.fromarray(arr, "RGB").save(path, exif=_exif(6), **({"quality": 95} if ext == "jpg" else {}))
    loaded = imageio.open_image(path)
    assert loaded.rgb.shape == (1, 3, W, H)
    assert (loaded.width, loaded.height) == (H, W)
    red = torch.tensor([1.0, 0.0, 0.0])
    gray = torch.full((3,), 128 / 255)
    assert (loaded.rgb[0, :, 1, H - 2] - red).abs().max() < 0.1
    for y, x in [(1, 1), (W - 2, 1), (W - 2, H - 2)]:
        assert (loaded.rgb[0, :, y, x] - gray).abs().max() < 0.1

    out = imageio.save_result(tmp_path / "out.png", loaded)
    saved = Image.open(out)
    assert saved.size == (H, W)
    exif = saved.getexif()
    assert 0x0112 not in exif
    assert exif[0x010F] == "TestCam"
    again = imageio.open_image(out)
    assert again.rgb.shape == (1, 3, W, H)
    assert (again.rgb - loaded.rgb).abs().max() <= TOL


@pytest.mark.parametrize("orientation", [None, 1])
def test_exif_kept_without_orientation(tmp_path, orientation):
    path = tmp_path / "plain.jpg"
    _sources()["RGB"].save(path, exif=_exif(orientation))
    loaded = imageio.open_image(path)
    assert loaded.rgb.shape == (1, 3, H, W)
    assert loaded.exif is not None
    exif = Image.open(imageio.save_result(tmp_path / "o.png", loaded)).getexif()
    assert exif[0x010F] == "TestCam" and 0x0112 not in exif
    assert imageio.open_image(_sources()["RGB"]).exif is None


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_rgb_icc_profile_kept(tmp_path):
    icc = _srgb_icc()
    assert icc[16:20] == b"RGB "
    path = tmp_path / "icc.png"
    _sources()["RGB"].save(path, icc_profile=icc)
    loaded = imageio.open_image(path)
    assert loaded.icc_profile == icc
    out = imageio.save_result(tmp_path / "out.png", loaded)
    assert Image.open(out).info.get("icc_profile") == icc


def test_non_rgb_icc_profile_dropped(tmp_path):
    cmyk_icc = bytearray(_srgb_icc())
    cmyk_icc[16:20] = b"CMYK"
    path = tmp_path / "cmyk.jpg"
    _sources()["CMYK"].save(path, icc_profile=bytes(cmyk_icc))
    assert Image.open(path).info.get("icc_profile") == bytes(cmyk_icc)
    loaded = imageio.open_image(path)
    assert loaded.source_mode == "CMYK"
    assert loaded.icc_profile is None
    out = imageio.save_result(tmp_path / "out.png", loaded)
    assert "icc_profile" not in Image.open(out).info


def test_alpha_round_trip(tmp_path):
    path = tmp_path / "rgba.png"
    src = _sources()["RGBA"]
    src.save(path)
    out = imageio.save_result(tmp_path / "out.png", imageio.open_image(path))
    back = Image.open(out)
    assert back.mode == "RGBA"
    diff = np.abs(np.asarray(back, np.int16) - np.asarray(src, np.int16))
    assert diff[..., 3].max() <= 1 and diff[..., :3].max() <= 1


def _half_jpeg() -> bytes:
    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(noise, "RGB").save(buf, "JPEG", quality=95)
    return buf.getvalue()[: len(buf.getvalue()) // 2]


@pytest.mark.parametrize("name,content,match", [
    ("cut.jpg", _half_jpeg, r"cut\.jpg: .*truncated"),
    ("empty.png", lambda: b"", r"empty\.png: file is empty"),
    ("notes.png", lambda: b"this is not an image\n", r"notes\.png: not a readable image"),
    ("nope.png", None, r"nope\.png: cannot read file"),
])
def test_hostile_files_raise_image_read_error(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content())
        with pytest.raises(ImageReadError):
            imageio.open_image(path.read_bytes())
    with pytest.raises(ImageReadError, match=match):
        imageio.open_image(path)


def test_one_pixel_image(tmp_path):
    path = tmp_path / "px.png"
    Image.new("RGB", (1, 1), (10, 20, 30)).save(path)
    loaded = imageio.open_image(path)
    assert loaded.rgb.shape == (1, 3, 1, 1)
    assert loaded.rgb.flatten().tolist() == pytest.approx([10 / 255, 20 / 255, 30 / 255])


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture
def no_decoding(monkeypatch):
    def fail(self, *a, **k):
        raise AssertionError("pixel data was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)


@pytest.mark.parametrize("side", [20000, 12000, 7000])
def test_decompression_bomb_refused_before_decoding(tmp_path, no_decoding, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    assert path.stat().st_size < 200
    with pytest.raises(ImageTooLargeError) as exc:
        imageio.open_image(path)
    msg = str(exc.value)
    assert "bomb.png" in msg and "limit" in msg
    assert f"{side}×{side}" in msg or str(side * side) in msg
    if side * side <= 2 * Image.MAX_IMAGE_PIXELS:
        assert "40.0 MP" in msg and "ENHANCERS_MAX_PIXELS" in msg


def test_env_var_lowers_limit(monkeypatch, no_decoding):
    header = _png_header_only(4000, 3000)
    monkeypatch.setenv("ENHANCERS_MAX_PIXELS", "10000000")
    assert imageio.max_pixels() == 10_000_000
    with pytest.raises(ImageTooLargeError, match=r"4000×3000 = 12\.0 MP, over the limit of 10\.0 MP"):
        imageio.open_image(header)
    monkeypatch.setenv("ENHANCERS_MAX_PIXELS", "not a number")
    assert imageio.max_pixels() == imageio.DEFAULT_MAX_PIXELS


def test_limit_argument(tmp_path, monkeypatch):
    path = tmp_path / "small.png"
    _sources()["RGB"].save(path)
    with pytest.raises(ImageTooLargeError, match=f"{W}×{H}"):
        imageio.open_image(path, limit=W * H - 1)
    assert imageio.open_image(path, limit=W * H).rgb.shape == (1, 3, H, W)
    monkeypatch.setenv("ENHANCERS_MAX_PIXELS", "1")
    assert imageio.open_image(path, limit=W * H).rgb.shape == (1, 3, H, W)
    with pytest.raises(ImageTooLargeError):
        imageio.open_image(path)


def test_raised_limit_above_pillow_warning_is_honoured():
    side = 10000
    assert Image.MAX_IMAGE_PIXELS < side * side <= 2 * Image.MAX_IMAGE_PIXELS
    # An ancillary chunk of 20 kB before IEND: a file of a few bytes declaring 100 MP is refused as a
    # decompression bomb whatever the limit.
    header_only = _png_header_only(side, side)
    padding = b"\0" * 20_000
    chunk = struct.pack(">I", len(padding)) + b"zzZz" + padding + struct.pack(">I", zlib.crc32(b"zzZz" + padding))
    data = header_only[:-12] + chunk + header_only[-12:]
    with pytest.raises(ImageReadError):
        imageio.open_image(data, limit=side * side)


def test_save_png_is_atomic(tmp_path, monkeypatch):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "result.png"
    target.write_bytes(b"previous")

    def broken_save(self, fp, *a, **k):
        fp.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        imageio.save_png(target, torch.rand(1, 3, H, W))
    assert target.read_bytes() == b"previous"
    target.unlink()
    with pytest.raises(OSError):
        imageio.save_png(target, torch.rand(1, 3, H, W))
    assert list(out_dir.iterdir()) == []


def test_save_png_success_leaves_no_temp_and_keeps_input(tmp_path):
    rgb = torch.rand(1, 3, H, W) * 1.2 - 0.1
    alpha = torch.rand(1, 1, H, W)
    before = (rgb.clone(), alpha.clone())
    target = imageio.save_png(tmp_path / "sub" / "x.png", rgb, alpha)
    assert torch.equal(rgb, before[0]) and torch.equal(alpha, before[1])
    rgb = rgb.clamp(0, 1)
    assert [p.name for p in target.parent.iterdir()] == ["x.png"]
    assert (imageio.open_image(target).rgb - rgb).abs().max() <= 0.5 / 255 + 1e-6


def test_check_image_tensor_messages():
    imageio.check_image_tensor(torch.zeros(1, 3, H, W))
    with pytest.raises(InvalidInputError, match=r"expected 3 channels, got 4 \(RGBA\?\)"):
        imageio.check_image_tensor(torch.zeros(1, 4, H, W))
    with pytest.raises(InvalidInputError, match=r"got 1 \(grayscale\?\)"):
        imageio.check_image_tensor(torch.zeros(1, 1, H, W))
    with pytest.raises(InvalidInputError, match="float32"):
        imageio.check_image_tensor(torch.zeros(1, 3, H, W, dtype=torch.float64))
    with pytest.raises(InvalidInputError, match="float32"):
        imageio.check_image_tensor(torch.zeros(1, 3, H, W, dtype=torch.uint8))
    with pytest.raises(InvalidInputError, match=r"expected shape \(1, 3, H, W\), got \(3, 12, 16\)"):
        imageio.check_image_tensor(torch.zeros(3, H, W))
    with pytest.raises(InvalidInputError, match="shape"):
        imageio.check_image_tensor(torch.zeros(2, 3, H, W))
    with pytest.raises(InvalidInputError, match="torch.Tensor"):
        imageio.check_image_tensor(np.zeros((1, 3, H, W), np.float32))


@pytest.mark.parametrize("size", [(32, 24), (8, 6), (20, 7)])
def test_resize_bicubic_matches_pillow(size):
    noise = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
    y, x = np.mgrid[0:H, 0:W]
    smooth = np.stack([x * 15, y * 20, x * 5 + y * 10], axis=2).astype(np.uint8)
    for arr, max_tol in [(noise, 0.1), (smooth, TOL + 1e-3)]:
        src = Image.fromarray(arr, "RGB")
        out = imageio.resize(imageio.pil_to_tensor(src), size, "bicubic")
        ref = imageio.pil_to_tensor(src.resize(size, Image.Resampling.BICUBIC))
        assert out.shape == (1, 3, size[1], size[0]) and out.dtype == torch.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
        diff = (out - ref).abs()
        assert diff.mean() < 0.01
        assert diff.max() <= max_tol


def test_resize_unknown_method():
    with pytest.raises(InvalidInputError, match="unknown resize method 'cubic'"):
        imageio.resize(torch.zeros(1, 3, H, W), (8, 6), "cubic")
