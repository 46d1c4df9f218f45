"""Faces: MTCNN detection, FFHQ alignment, feathered paste-back, the [−1, 1] restorer adapter, and GFPGAN
end to end from a local fake Hub (random weights)."""

from __future__ import annotations

import inspect
import re
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import enhancers.archs
import enhancers.registry
from enhancers import faces, imageio, loader
from enhancers.archs import BuiltModel
from enhancers.archs.face_restorers import FaceRestorer, build_gfpgan
from enhancers.errors import InvalidInputError, ModelUnavailableError, UnsafeWeightsError
from enhancers.registry import get_spec
from enhancers.specs import ModelSpec, Tiling
from enhancers.training.data import skimage_dir
from fake_hub import FakeHub

GFPGAN_ID = "face/gfpgan-v1.4"


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    """scikit-image's astronaut (Eileen Collins, NASA, public domain), 512×512, one face."""
    return imageio.open_image(skimage_dir() / "astronaut.png").rgb


@pytest.fixture(scope="module")
def astronaut_face(astronaut: torch.Tensor) -> faces.Face:
    found = faces.detect_faces(astronaut)
    assert len(found) == 1
    return found[0]


# --- Detection --------------------------------------------------------------------------------------------------


def test_detects_the_astronauts_face(astronaut_face: faces.Face) -> None:
    face = astronaut_face
    x0, y0, x1, y1 = face.box
    assert 150 < x0 < x1 < 300 and 30 < y0 < y1 < 200  # her face, upper middle of the photo
    assert 60 < x1 - x0 < 130 and 80 < y1 - y0 < 150
    assert face.confidence > 0.99
    lm = face.landmarks
    assert lm.shape == (5, 2) and not lm.flags.writeable
    left_eye, right_eye, nose, mouth_left, mouth_right = lm
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])  # eyes above the mouth
    assert 25 < face.eye_distance < 60
    assert ((lm >= [x0, y0]) & (lm <= [x1, y1])).all()


def test_detection_thresholds_and_empty_images(astronaut: torch.Tensor, astronaut_face: faces.Face) -> None:
    assert faces.detect_faces(astronaut, min_eye_distance=astronaut_face.eye_distance + 1) == []
    assert faces.detect_faces(torch.full((1, 3, 96, 128), 0.5)) == []
    assert faces.detect_faces(torch.rand(1, 3, 12, 12)) == []  # below MTCNN's smallest face
    with pytest.raises(InvalidInputError, match=r"min_confidence must be in \[0, 1\], got 1.5"):
        faces.detect_faces(astronaut, min_confidence=1.5)
    with pytest.raises(InvalidInputError, match="channels"):
        faces.detect_faces(torch.rand(1, 4, 64, 64))


def test_large_photos_are_searched_downscaled_in_photo_pixels(astronaut: torch.Tensor, astronaut_face: faces.Face,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faces, "DETECT_MAX_SIDE", 320)  # the 512 px photo is searched at 320 px
    (face,) = faces.detect_faces(astronaut)
    assert np.abs(face.landmarks - astronaut_face.landmarks).max() < 4
    assert np.abs(np.subtract(face.box, astronaut_face.box)).max() < 8


def test_a_face_crossing_the_border_keeps_its_place(astronaut: torch.Tensor, astronaut_face: faces.Face) -> None:
    """The face's top and left edges cut off: the crops are filled with black (the authors' release), so the box and
    landmarks stay where they were in the full photo."""
    (face,) = faces.detect_faces(astronaut[..., 60:, 180:])
    shift = np.array([180.0, 60.0])
    assert np.abs(face.landmarks + shift - astronaut_face.landmarks).max() < 4
    assert np.abs(np.add(face.box, np.tile(shift, 2)) - np.array(astronaut_face.box)).max() < 6


def test_mtcnn_weights_are_bundled_and_checked() -> None:
    from enhancers.archs import mtcnn

    from enhancers.loader import read_state_dict, weights_path

    net = mtcnn.build(read_state_dict(weights_path(get_spec(faces.DETECTOR)))).module
    assert sum(p.numel() for p in net.parameters()) == 495_850  # P-Net 6,632, R-Net 100,178, O-Net 389,040
    assert net.scales(19, 640) == [] and net.scales(20, 20) == [pytest.approx(0.6)]
    state = net.state_dict()
    with pytest.raises(UnsafeWeightsError, match="not MTCNN weights"):
        mtcnn.build({k: v for k, v in state.items() if not k.startswith("onet.")})
    with pytest.raises(UnsafeWeightsError, match="not MTCNN weights"):
        mtcnn.build({**state, "pnet.conv1.weight": torch.zeros(10, 3, 5, 5)})
    with pytest.raises(UnsafeWeightsError, match="needs its weights"):
        mtcnn.build(None)


# --- Alignment and paste-back -----------------------------------------------------------------------------------


def test_alignment_puts_the_landmarks_on_the_ffhq_template(astronaut: torch.Tensor,
                                                           astronaut_face: faces.Face) -> None:
    crop, affine = faces.align_face(astronaut, astronaut_face)
    assert crop.shape == (1, 3, 512, 512) and crop.dtype == torch.float32
    assert 0 <= float(crop.min()) and float(crop.max()) <= 1
    assert affine.shape == (2, 3)
    mapped = np.c_[astronaut_face.landmarks, np.ones(5)] @ affine.numpy().T
    assert np.abs(mapped - np.array(faces.FFHQ_TEMPLATE_512)).max() < 12  # least squares: close, not exact
    a, b = affine[0, 0].item(), affine[1, 0].item()
    assert affine[0, 1].item() == pytest.approx(-b) and affine[1, 1].item() == pytest.approx(a)  # a similarity
    small, affine_256 = faces.align_face(astronaut, astronaut_face, size=256)
    assert small.shape == (1, 3, 256, 256) and torch.allclose(affine_256[:, :2], affine[:, :2] / 2)


def test_align_then_paste_back_round_trip(astronaut: torch.Tensor, astronaut_face: faces.Face) -> None:
    crop, affine = faces.align_face(astronaut, astronaut_face)
    out = faces.paste_back(astronaut, crop, affine)
    mask = faces.face_mask(affine, 512, 512)[0, 0]
    inside = mask >= 1 - 1e-6  # bilinear weights summing to 1 in float32 can leave 1 − 1 ulp inside the crop
    xs, ys = np.round(astronaut_face.landmarks).astype(int).T
    assert inside[ys, xs].all()  # eyes, nose and mouth are fully replaced
    err = (out - astronaut).abs()[..., inside].flatten()
    # Bilinear up (×3) then down: a slight blur of single-pixel highlights, nothing more.
    assert float(err.mean()) < 0.012
    assert float(err.quantile(0.99)) < 0.06


def test_identity_restorer_changes_nothing_outside_the_mask(astronaut: torch.Tensor,
                                                            astronaut_face: faces.Face) -> None:
    crop, affine = faces.align_face(astronaut, astronaut_face)
    out = faces.paste_back(astronaut, crop, affine)
    mask = faces.face_mask(affine, 512, 512)
    outside = mask[0, 0] == 0
    assert outside.float().mean() > 0.5 and (mask >= 1).any()
    assert torch.equal(out[..., outside], astronaut[..., outside])


def test_mask_is_feathered_without_a_step(astronaut_face: faces.Face) -> None:
    _, affine = faces.align_face(torch.rand(1, 3, 512, 512), astronaut_face)
    mask = faces.face_mask(affine, 512, 512)
    assert float(mask.min()) == 0 and float(mask.max()) == 1
    step = max(float((mask[..., 1:, :] - mask[..., :-1, :]).abs().max()),
               float((mask[..., :, 1:] - mask[..., :, :-1]).abs().max()))
    # A hard box edge would step by 1. The feather spans 48 of 512 crop px, ~16 px here.
    assert step < 0.12
    ring = ((mask > 0) & (mask < 1)).sum() / (mask > 0).sum()
    assert ring > 0.3
    # paste_back blends exactly with this mask: white restored face on a black photo gives the mask itself.
    out = faces.paste_back(torch.zeros(1, 3, 512, 512), torch.ones(1, 3, 512, 512), affine)
    assert torch.allclose(out, mask.expand(1, 3, -1, -1), atol=1e-6)


def test_paste_back_of_a_face_leaving_the_photo(astronaut: torch.Tensor, astronaut_face: faces.Face) -> None:
    crop, affine = faces.align_face(astronaut, astronaut_face)
    shifted = affine.clone()
    shifted[:, 2] += affine[:, :2] @ torch.tensor([230.0, 0.0], dtype=torch.float64)  # face at x ≈ −10
    out = faces.paste_back(astronaut, crop, shifted)
    assert out.shape == astronaut.shape and torch.equal(out[..., :, 200:], astronaut[..., :, 200:])
    far = affine.clone()
    far[:, 2] += affine[:, :2] @ torch.tensor([5000.0, 0.0], dtype=torch.float64)
    assert torch.equal(faces.paste_back(astronaut, crop, far), astronaut)
    with pytest.raises(InvalidInputError, match="invertible"):
        faces.paste_back(astronaut, crop, torch.zeros(2, 3))


# --- The [−1, 1] adapter ----------------------------------------------------------------------------------------


class _RecordingNet(nn.Module):
    """Records its input range and keyword arguments; returns its input (times ``gain``) in a tuple, as GFPGAN does."""

    def __init__(self, gain: float = 1.0, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1, dtype=dtype), requires_grad=False)
        self.gain = gain
        self.seen: list[tuple[float, float, torch.dtype, dict]] = []

    def forward(self, x: torch.Tensor, weight: float = 0.5, **kwargs: object) -> tuple[torch.Tensor, None]:
        self.seen.append((float(x.min()), float(x.max()), x.dtype, {"weight": weight, **kwargs}))
        return x * self.gain, None


def test_adapter_maps_to_minus_one_one_and_back() -> None:
    net = _RecordingNet()
    x = torch.rand(1, 3, 16, 16)
    x[..., 0, 0], x[..., 0, 1] = 0.0, 1.0
    out = FaceRestorer(net, {"return_rgb": False})(x)
    lo, hi, _, kwargs = net.seen[0]
    assert (lo, hi) == (-1.0, 1.0)  # the network sees [−1, 1], not [0, 1]
    assert kwargs == {"weight": 0.5, "return_rgb": False}  # no fidelity keyword for restorers without one
    assert out.dtype == torch.float32 and torch.allclose(out, x, atol=1e-6)  # tuple unpacked, mapped back


def test_adapter_clamps_and_passes_fidelity_and_dtype() -> None:
    net = _RecordingNet(gain=3.0, dtype=torch.bfloat16)
    adapter = FaceRestorer(net, fidelity_kwarg="weight", default_fidelity=0.7)
    x = torch.rand(1, 3, 8, 8)
    out = adapter(x)
    assert 0 <= float(out.min()) and float(out.max()) <= 1 and out.dtype == torch.float32
    assert (out == 0).any() and (out == 1).any()  # 3·(2x − 1) leaves [−1, 1] on both sides: clamped
    adapter(x, fidelity=0.2)
    assert [s[3]["weight"] for s in net.seen] == [0.7, 0.2]
    assert net.seen[0][2] == torch.bfloat16


def test_adapter_keywords_exist_on_spandrels_networks() -> None:
    from spandrel.architectures.GFPGAN import GFPGAN
    from spandrel_extra_arches.architectures.CodeFormer import CodeFormer

    # A misspelt keyword would vanish into **kwargs (A1111 passes CodeFormer ``w=``, which this version ignores).
    assert {"return_rgb", "randomize_noise"} <= set(inspect.signature(GFPGAN.forward).parameters)
    assert "weight" in inspect.signature(CodeFormer.forward).parameters


def test_restorer_builders_refuse_other_weights() -> None:
    from spandrel.architectures.Compact import Compact

    state = Compact(num_feat=8, num_conv=2, upscale=2).state_dict()
    with pytest.raises(UnsafeWeightsError, match="expected GFPGAN weights, spandrel found"):
        build_gfpgan(state)
    with pytest.raises(UnsafeWeightsError, match="state dict"):
        build_gfpgan(None)


# --- Registry, validation, offline --------------------------------------------------------------------------------


def test_face_specs_are_pinned_and_say_their_licenses() -> None:
    restorers = faces.model_ids()
    assert restorers == ["face/gfpgan-v1.4", "face/restoreformer", "face/codeformer"]
    for model_id in restorers:
        src = get_spec(model_id).source
        assert re.fullmatch(r"[0-9a-f]{40}", src.revision) and src.size_mb > 100
    codeformer = get_spec("face/codeformer")
    assert "NON-COMMERCIAL" in codeformer.license and "NON-COMMERCIAL" in codeformer.description
    assert faces.takes_fidelity("face/codeformer") and not faces.takes_fidelity(GFPGAN_ID)
    assert "NVIDIA" in get_spec(GFPGAN_ID).license
    assert get_spec(faces.DETECTOR).source.path.name == "mtcnn.safetensors"


def test_restore_faces_validates_inputs(astronaut: torch.Tensor) -> None:
    with pytest.raises(InvalidInputError, match="not a face restoration model"):
        faces.restore_faces(astronaut, "sr/bicubic")
    with pytest.raises(InvalidInputError, match=r"fidelity w must be in \[0, 1\], got 1.5"):
        faces.restore_faces(astronaut, "face/codeformer", fidelity=1.5)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_offline_restore_says_what_it_would_download(astronaut: torch.Tensor, hf_home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", _closed_port_url())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())

    with pytest.raises(ModelUnavailableError) as info:
        faces.restore_faces(astronaut, "face/codeformer")
    message = str(info.value)
    assert "fofr/comfyui" in message and "codeformer.pth" in message and "377 MB" in message

    # Detection needs no download, and a photo without faces needs no restorer.
    assert len(faces.detect_faces(astronaut)) == 1
    gray = torch.full((1, 3, 64, 64), 0.5)
    result = faces.restore_faces(gray, "face/codeformer")
    assert torch.equal(result.image, gray) and result.faces == ()


def build_identity(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    """An identity "restorer" behind the real adapter, for :func:`test_restore_faces_all_or_only_the_largest`."""
    return BuiltModel(FaceRestorer(_RecordingNet()).eval())


def test_restore_faces_all_or_only_the_largest(astronaut: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ModelSpec(id="face/test-identity", title="Identity (test)", task="face", arch="face-identity",
                     source=None, license="n/a", paper="https://example.invalid/identity",
                     tiling=Tiling(enabled=False))
    monkeypatch.setitem(enhancers.registry.REGISTRY, spec.id, spec)
    monkeypatch.setitem(enhancers.archs.BUILDERS, "face-identity", "test_faces:build_identity")
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())
    photo = torch.zeros(1, 3, 512, 768)  # the astronaut, and a half-size copy on the right
    photo[..., :, :512] = astronaut
    photo[..., 128:384, 512:] = torch.nn.functional.interpolate(astronaut, size=(256, 256), mode="area")

    calls: list[tuple[int, int]] = []
    both = faces.restore_faces(photo, spec.id, progress=lambda done, total: calls.append((done, total)))
    largest = faces.restore_faces(photo, spec.id, only_largest=True)

    assert calls == [(1, 2), (2, 2)]
    assert [round(f.eye_distance / 10) for f in both.faces] == [4, 2]  # largest first: 42 px, then 21 px eyes
    assert len(largest.faces) == 1 and largest.faces[0].box == both.faces[0].box
    small_face = faces.face_mask(faces.align_face(photo, both.faces[1])[1], 512, 768)[0, 0] > 0
    assert torch.equal(largest.image[..., small_face], photo[..., small_face])  # the small face was left alone
    assert float((both.image - photo).abs().mean()) < 0.002  # an identity restorer: only resampling blur


# --- GFPGAN end to end from the fake Hub ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_gfpgan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GFPGAN v1.4's architecture (spandrel's GFPGANv1Clean, 86M parameters) with random weights, saved as float16
    ``.pth`` (175 MB) under the Hub file name, nested under ``params_ema`` as BasicSR-trained releases are."""
    from spandrel.architectures.GFPGAN import GFPGAN

    torch.manual_seed(0)
    net = GFPGAN(out_size=512, num_style_feat=512, channel_multiplier=2, decoder_load_path=None, fix_decoder=False,
                 num_mlp=8, input_is_latent=True, different_w=True, narrow=1, sft_half=True)
    root = tmp_path_factory.mktemp("served")
    path = root / get_spec(GFPGAN_ID).source.filename
    path.parent.mkdir(parents=True)
    torch.save({"params_ema": {k: v.half() for k, v in net.state_dict().items()}}, path)
    return root


def test_gfpgan_from_the_fake_hub_restores_the_astronaut(random_gfpgan_file: Path, astronaut: torch.Tensor,
                                                         hf_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spandrel.architectures.GFPGAN import GFPGAN

    spec = get_spec(GFPGAN_ID)
    hub = FakeHub(random_gfpgan_file, lfs_redirect=False, repo=spec.source.repo_id, commit=spec.source.revision)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())
    calls: list[tuple[int, int]] = []
    try:
        result = faces.restore_faces(astronaut, GFPGAN_ID, progress=lambda done, total: calls.append((done, total)))
    finally:
        hub.close()

    assert hub.count() > 0
    model = loader.load_model(GFPGAN_ID)
    assert isinstance(model.module, FaceRestorer) and isinstance(model.module.net, GFPGAN)  # spandrel loaded it
    assert calls == [(1, 1)] and len(result.faces) == 1
    out = result.image
    assert out.shape == astronaut.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all() and 0 <= float(out.min()) and float(out.max()) <= 1
    _, affine = faces.align_face(astronaut, result.faces[0])
    mask = faces.face_mask(affine, 512, 512)[0, 0]
    assert torch.equal(out[..., mask == 0], astronaut[..., mask == 0])
    assert float((out - astronaut).abs()[..., mask >= 1].mean()) > 0.01  # random weights: the face did change
