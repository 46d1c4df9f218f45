"""Model builders, keyed by ``ModelSpec.arch``.

Each builder is ``build(state_dict | None, **arch_kwargs) -> BuiltModel`` and is
imported only when a model of that architecture is first loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..errors import InvalidInputError


@dataclass(frozen=True)
class BuiltModel:
    """A ready ``nn.Module`` built from a spec's weights.

    Image-to-image models (super-resolution) map RGB float32 ``(1, 3, h, w)`` in
    [0, 1] to ``(1, 3, h·s, w·s)``; other tasks document their own inputs and
    outputs on the module (e.g. the latent explorer's encoders, decoders,
    generator and classifier on 28×28 digits, see :mod:`enhancers.archs.mnist_nets`).

    Attributes:
        module: the network, in eval mode.
        supports_half: float16 inference is safe.
        supports_bfloat16: bfloat16 inference is safe.
    """

    module: torch.nn.Module
    supports_half: bool = False
    supports_bfloat16: bool = False


BUILDERS: dict[str, str] = {
    "spandrel": "enhancers.archs.spandrel_any:build",
    "srcnn": "enhancers.archs.srcnn:build",
    "resize": "enhancers.archs.resize:build",
    "vae2d": "enhancers.archs.mnist_nets:build_vae",
    "ae2d": "enhancers.archs.mnist_nets:build_ae",
    "dcgan": "enhancers.archs.mnist_nets:build_generator",
    "digit-classifier": "enhancers.archs.mnist_nets:build_classifier",
    "denoise-unet": "enhancers.archs.restore_unet:build_denoiser",
    "dejpeg-unet": "enhancers.archs.restore_unet:build_dejpeg",
    "nlm": "enhancers.archs.nlm:build",
    "drunet": "enhancers.archs.restore_adapters:build_drunet",
    "scunet": "enhancers.archs.restore_adapters:build_scunet",
    "fbcnn": "enhancers.archs.restore_adapters:build_fbcnn",
    "color-unet": "enhancers.archs.color_unet:build",
    "color-class-unet": "enhancers.archs.color_class_unet:build",
    "color-vgg-unet": "enhancers.archs.color_vgg_unet:build",
    "ddcolor": "enhancers.archs.ddcolor:build",
    "johnson": "enhancers.archs.johnson:build",
    "style-hybrid": "enhancers.archs.style_features:build_hybrid",
    "style-random-vgg19": "enhancers.archs.style_features:build_random_vgg19",
    "style-vgg19": "enhancers.archs.style_features:build_vgg19",
    "style-vgg16": "enhancers.archs.style_features:build_vgg16",
    "tone-curves": "enhancers.archs.tone_curves:build",
    "mtcnn": "enhancers.archs.mtcnn:build",
    "gfpgan": "enhancers.archs.face_restorers:build_gfpgan",
    "restoreformer": "enhancers.archs.face_restorers:build_restoreformer",
    "codeformer": "enhancers.archs.face_restorers:build_codeformer",
}


def get_builder(arch: str) -> Callable[..., BuiltModel]:
    """Import and return the builder for ``arch``.

    Raises:
        InvalidInputError: no such architecture key.
    """
    try:
        target = BUILDERS[arch]
    except KeyError:
        raise InvalidInputError(f"unknown architecture {arch!r}; known: {', '.join(sorted(BUILDERS))}") from None
    module_name, func = target.split(":")
    return getattr(importlib.import_module(module_name), func)
