"""The 512×512 face restorers behind one call signature (the MTCNN detector is :mod:`enhancers.archs.mtcnn`).

Every restorer is called as ``module(x, fidelity=None)`` on an aligned RGB face crop in [0, 1],
whatever the network's own convention. GFPGAN, RestoreFormer and CodeFormer were trained on
crops normalised to [−1, 1] (``(x − 0.5) / 0.5``) and return [−1, 1], usually inside a tuple;
spandrel's descriptor call converts neither way for GFPGAN and CodeFormer (ComfyUI issue #3594,
https://github.com/Comfy-Org/ComfyUI/issues/3594: gray faces), so :class:`FaceRestorer` wraps
the bare network and does the mapping itself for all three.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..errors import UnsafeWeightsError
from . import BuiltModel


class FaceRestorer(nn.Module):
    """A face restoration network that works in [−1, 1], seen from [0, 1].

    ``forward(x, fidelity=None)``: RGB float ``(N, 3, 512, 512)`` in [0, 1] → RGB float32
    ``(N, 3, 512, 512)`` in [0, 1]. The input is mapped to [−1, 1] (and cast to the network's
    dtype), the network runs with ``call_kwargs``, the first element of a tuple output is kept,
    and the result is mapped back and clamped to [0, 1].

    Args:
        net: the bare network.
        call_kwargs: fixed keyword arguments for every call (e.g. GFPGAN's ``return_rgb=False``).
        fidelity_kwarg: the network's keyword for a fidelity weight in [0, 1] (CodeFormer's
            ``weight``), or None when it has none; ``fidelity`` is then ignored.
        default_fidelity: the weight used when ``forward`` gets ``fidelity=None``.
    """

    def __init__(self, net: nn.Module, call_kwargs: Mapping[str, object] | None = None,
                 fidelity_kwarg: str | None = None, default_fidelity: float = 0.5) -> None:
        super().__init__()
        self.net = net
        self.call_kwargs = dict(call_kwargs or {})
        self.fidelity_kwarg = fidelity_kwarg
        self.default_fidelity = default_fidelity

    def forward(self, x: torch.Tensor, fidelity: float | None = None) -> torch.Tensor:
        kwargs = dict(self.call_kwargs)
        if self.fidelity_kwarg is not None:
            kwargs[self.fidelity_kwarg] = float(self.default_fidelity if fidelity is None else fidelity)
        param = next(self.net.parameters(), None)
        dtype = param.dtype if param is not None else x.dtype
        out = self.net((x * 2 - 1).to(dtype), **kwargs)
        if isinstance(out, (tuple, list)):
            out = out[0]
        return ((out.float() + 1) / 2).clamp_(0, 1)


def _spandrel_descriptor(state_dict: dict[str, torch.Tensor] | None, arch_id: str, extra: bool = False):
    import spandrel

    if state_dict is None:
        raise UnsafeWeightsError(f"{arch_id} needs a state dict")
    if extra:
        import spandrel_extra_arches

        loader = spandrel.ModelLoader(registry=spandrel_extra_arches.EXTRA_REGISTRY)
    else:
        loader = spandrel.ModelLoader()
    try:
        desc = loader.load_from_state_dict(state_dict)
    except spandrel.UnsupportedModelError as e:
        raise UnsafeWeightsError(f"spandrel does not recognise these weights as {arch_id} ({e})") from e
    if desc.architecture.id != arch_id:
        raise UnsafeWeightsError(f"expected {arch_id} weights, spandrel found {desc.architecture.id}")
    desc.model.eval()
    return desc


def _built(desc, restorer: FaceRestorer) -> BuiltModel:
    return BuiltModel(restorer.eval(), supports_half=desc.supports_half, supports_bfloat16=desc.supports_bfloat16)


def build_gfpgan(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    """GFPGAN v1.3/v1.4 ("clean" architecture, spandrel). Its StyleGAN2 decoder runs with the noise
    maps stored in the weights (``randomize_noise=False``), so a face restores the same way every
    time; the intermediate RGB outputs used in training are not computed.

    Raises:
        UnsafeWeightsError: no weights, or not GFPGAN.
    """
    desc = _spandrel_descriptor(state_dict, "GFPGAN")
    return _built(desc, FaceRestorer(desc.model, {"return_rgb": False, "randomize_noise": False}))


def build_restoreformer(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    """RestoreFormer (the CVPR 2022 model, spandrel; not RestoreFormer++).

    Raises:
        UnsafeWeightsError: no weights, or not RestoreFormer.
    """
    desc = _spandrel_descriptor(state_dict, "RestoreFormer")
    return _built(desc, FaceRestorer(desc.model))


def build_codeformer(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    """CodeFormer (spandrel_extra_arches), with its fidelity weight w (keyword ``weight``;
    0: the codebook's face, 1: closest to the input; 0.5 as in CodeFormer's own inference script).

    Raises:
        UnsafeWeightsError: no weights, or not CodeFormer.
    """
    desc = _spandrel_descriptor(state_dict, "CodeFormer", extra=True)
    return _built(desc, FaceRestorer(desc.model, fidelity_kwarg="weight", default_fidelity=0.5))
