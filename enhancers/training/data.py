"""The photo corpus, its held-out split, and SR evaluation-image preparation.

Corpus: Debian's ``mate-backgrounds`` (nature) and ``lomiri-wallpapers-16.04``
photos, fetched by ``scripts/fetch_photos.sh`` into ``data/photos``, plus
scikit-image's bundled photographs. Evaluation uses only held-out photos.

:func:`split` is the split the shipped models were trained with and stays as it is. The enlarged corpus (these
photos plus eight more Debian packages, listed with licences and duplicate groups in ``scripts/photo-corpus.json``)
is read with :func:`enhancers.training.corpus.corpus_split`, which keeps this split for these photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .. import imageio
from ..errors import MissingDataError

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "photos"
# Never trained on: the four scikit-image photos the SR literature here reports on, and
# every fourth corpus photo (by sorted name).
SKIMAGE_EVAL = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")
SKIMAGE_TRAIN = ("hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png", "retina.jpg",
                 "camera.png", "brick.png", "grass.png", "gravel.png", "moon.png", "horse.png")
HELDOUT_EVERY = 4


def skimage_dir() -> Path:
    import skimage

    return Path(skimage.__file__).resolve().parent / "data"


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def photos_in(folder: Path) -> list[Path]:
    """The JPEG and PNG files directly in ``folder``, sorted by name; empty if it does not exist."""
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in PHOTO_SUFFIXES)


def corpus_photos() -> list[Path]:
    """Corpus photo paths, sorted by name; empty if ``scripts/fetch_photos.sh`` has not run."""
    return photos_in(DATA_DIR)


def require_corpus() -> list[Path]:
    """The corpus photos; raises MissingDataError when ``scripts/fetch_photos.sh`` has not run."""
    photos = corpus_photos()
    if not photos:
        raise MissingDataError(f"no corpus photos in {DATA_DIR}: run `make photos` (scripts/fetch_photos.sh) first")
    return photos


@dataclass(frozen=True)
class Split:
    train: tuple[Path, ...]
    heldout: tuple[Path, ...]


def split() -> Split:
    """The fixed train / held-out split over corpus and scikit-image photos."""
    corpus = corpus_photos()
    held = tuple(p for i, p in enumerate(corpus) if i % HELDOUT_EVERY == 1)
    train = tuple(p for i, p in enumerate(corpus) if i % HELDOUT_EVERY != 1)
    sk = skimage_dir()
    return Split(train=train + tuple(sk / n for n in SKIMAGE_TRAIN),
                 heldout=tuple(sk / n for n in SKIMAGE_EVAL) + held)


def prepare_hr(path: Path, crop: int | None = 512, multiple: int = 4) -> torch.Tensor:
    """Evaluation HR image, as DIV2K-style benchmarks make them.

    Downscale the original by 2 with Lanczos (removes sensor noise and JPEG
    blocking), centre-crop to at most ``crop`` pixels and to a multiple of
    ``multiple``, and quantise to 8 bits. RGB float32 ``(1, 3, H, W)`` in [0, 1].
    """
    im = Image.open(path)
    im = im.convert("RGB")
    im = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
    w, h = im.size
    if crop:
        w, h = min(w, crop), min(h, crop)
    w, h = w - w % multiple, h - h % multiple
    left, top = (im.width - w) // 2, (im.height - h) // 2
    return imageio.pil_to_tensor(im.crop((left, top, left + w, top + h)))


def degrade_bicubic(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The standard SR degradation: ``HR.resize((W//s, H//s), BICUBIC)`` on the 8-bit image."""
    im = imageio.tensor_to_pil(hr)
    lr = im.resize((im.width // scale, im.height // scale), Image.Resampling.BICUBIC)
    return imageio.pil_to_tensor(lr)
