"""Tests for the model registry (enhancers/registry.py) and tiled inference (enhancers/tiling.py)."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import pytest
import torch
from torch import nn

from enhancers import tiling
from enhancers.archs import BUILDERS
from enhancers.errors import EnhancerError, InvalidInputError, UnknownModelError
from enhancers.registry import REGISTRY, get_spec, list_specs
from enhancers.specs import WEIGHTS_DIR, BundledWeights, HubWeights

SPECS = list(REGISTRY.values())
BUNDLED = [s for s in SPECS if isinstance(s.source, BundledWeights)]
HUB = [s for s in SPECS if isinstance(s.source, HubWeights)]


# --- Registry -----------------------------------------------------------------------------------------------------


def test_registry_is_not_empty_and_has_every_kind() -> None:
    kinds = {s.source_kind for s in SPECS}
    assert kinds == {"algorithm", "bundled", "hub", "wheel"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_spec_id_is_task_slash_name(spec) -> None:
    assert re.fullmatch(r"[a-z0-9]+/[a-z0-9][a-z0-9.\-]*", spec.id)
    assert spec.id.split("/")[0] == spec.task
    assert REGISTRY[spec.id] is spec


@pytest.mark.parametrize("spec", [s for s in SPECS if s.variants], ids=lambda s: s.id)
def test_variants_are_registered_at_their_scale_and_point_back(spec) -> None:
    for scale, variant_id in spec.variants:
        variant = get_spec(variant_id)
        assert (variant.task, variant.scale) == (spec.task, scale)
        assert variant.variant_for(spec.scale) == spec.id
    assert spec.variant_for(spec.scale) is None


def test_a_variant_at_the_model_s_own_scale_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="another scale than 2"):
        replace(get_spec("enhance/compact-x2"), variants=((2, "enhance/compact-x1"),))


def test_spec_ids_unique() -> None:
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids))
    titles = [s.title for s in SPECS]
    assert len(titles) == len(set(titles))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_spec_metadata_complete(spec) -> None:
    assert spec.license.strip()
    assert spec.paper.strip().startswith("https://")
    assert spec.title.strip()
    assert spec.description.strip()
    assert spec.arch in BUILDERS
    assert spec.scale >= 1
    assert spec.min_size >= 1
    assert spec.tiling.overlap >= 0 and spec.tiling.multiple >= 1
    assert spec.tiling.tile is None or spec.tiling.tile > spec.tiling.overlap


@pytest.mark.parametrize("spec", HUB, ids=lambda s: s.id)
def test_hub_specs_pinned_with_size(spec) -> None:
    pinned = re.fullmatch(r"[0-9a-f]{40}", spec.source.revision) is not None
    assert pinned != bool(spec.source.unpinned_why), "pin a full commit hash, or say why not"
    assert spec.source.size_mb > 0
    assert re.fullmatch(r"[\w.\-]+/[\w.\-]+", spec.source.repo_id)
    assert spec.source.filename
    assert f"{spec.source.size_mb:.0f} MB" in spec.label


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda s: s.id)
def test_bundled_weights_exist(spec) -> None:
    assert spec.source.filename.endswith(".safetensors")
    assert spec.source.path.parent == WEIGHTS_DIR
    assert spec.source.path.is_file(), f"{spec.id}: {spec.source.path} is not committed"


def test_get_spec_known_ids() -> None:
    for spec in SPECS:
        assert get_spec(spec.id) is spec


def test_get_spec_unknown_lists_valid_ids() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_spec("sr/no-such-model")
    message = str(info.value)
    assert "sr/no-such-model" in message
    assert all(model_id in message for model_id in REGISTRY)
    assert isinstance(info.value, EnhancerError) and isinstance(info.value, KeyError)


def test_list_specs_filters_by_task_in_order() -> None:
    assert list_specs() == SPECS
    sr = list_specs("sr")
    assert sr and all(s.task == "sr" for s in sr)
    assert [s.id for s in sr] == [s.id for s in SPECS if s.task == "sr"]
    assert list_specs("no-such-task") == []


# --- tile_starts and axis_weights ---------------------------------------------------------------------------------

GRID = [(length, tile, overlap)
        for length, tile, overlap in itertools.product((1, 7, 32, 33, 64, 100, 257), (8, 16, 32, 48, 64, 200),
                                                       (0, 1, 3, 7, 15, 23))
        if overlap <= max(0, tile // 2 - 1)]


@pytest.mark.parametrize("length, tile, overlap", GRID)
def test_tile_starts_cover_with_overlap(length: int, tile: int, overlap: int) -> None:
    starts = tiling.tile_starts(length, tile, overlap)
    assert starts[0] == 0
    assert starts == sorted(set(starts))
    if tile >= length:
        assert starts == [0]
        return
    assert starts[-1] + tile == length
    for a, b in zip(starts, starts[1:]):
        assert a + tile - b >= overlap
        assert b > a


@pytest.mark.parametrize("length, tile, overlap", [(100, 32, 8), (257, 48, 15), (64, 16, 7)])
def test_tile_starts_uses_few_tiles(length: int, tile: int, overlap: int) -> None:
    starts = tiling.tile_starts(length, tile, overlap)
    assert len(starts) - 1 <= (length - overlap) / (tile - overlap)


def test_tile_starts_rejects_overlap_not_smaller_than_tile() -> None:
    with pytest.raises(InvalidInputError):
        tiling.tile_starts(100, 16, 16)


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
@pytest.mark.parametrize("length, tile, overlap", GRID[::3])
def test_axis_weights_partition_unity(length: int, tile: int, overlap: int, scale: int) -> None:
    starts = tiling.tile_starts(length, tile, overlap)
    weights = tiling.axis_weights(length, starts, tile, overlap, scale)

    assert len(weights) == len(starts)
    total = torch.zeros(length * scale, dtype=torch.float64)
    for s, w in zip(starts, weights):
        assert w.numel() == (min(s + tile, length) - s) * scale
        assert torch.isfinite(w).all() and (w >= 0).all() and (w <= 1 + 1e-6).all()
        total[s * scale:s * scale + w.numel()] += w.double()
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)


@pytest.mark.parametrize("length, tile, overlap, scale", [(100, 32, 15, 2), (257, 64, 24, 4), (90, 40, 18, 1)])
def test_axis_weights_ignore_tile_borders(length: int, tile: int, overlap: int, scale: int) -> None:
    starts = tiling.tile_starts(length, tile, overlap)
    weights = tiling.axis_weights(length, starts, tile, overlap, scale)
    margin = overlap * scale // 3
    assert margin > 0
    for i, w in enumerate(weights):
        if i > 0:
            assert (w[:margin] == 0).all()
        if i < len(weights) - 1:
            assert (w[-margin:] == 0).all()
    assert weights[0][0] == 1 and weights[-1][-1] == 1


# --- run_tiled ----------------------------------------------------------------------------------------------------

RADIUS = 6


def _conv_net(scale: int = 2, width: int = 12) -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
    for _ in range(RADIUS - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
    layers += [nn.Conv2d(width, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)]
    return nn.Sequential(*layers).eval()


@pytest.fixture(scope="module")
def net() -> nn.Module:
    return _conv_net()


def _apply(net: nn.Module):
    def fn(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(x)
    return fn


@pytest.mark.parametrize("shape", [(50, 70), (81, 47), (64, 64)])
@pytest.mark.parametrize("tile", [40, 48, 64, 500])
def test_run_tiled_matches_untiled(net: nn.Module, shape: tuple[int, int], tile: int) -> None:
    torch.manual_seed(1)
    image = torch.rand(1, 3, *shape)
    full = _apply(net)(image)
    assert full.std() > 0.01

    out = tiling.run_tiled(_apply(net), image, scale=2, tile=tile, overlap=3 * RADIUS)

    assert out.shape == (1, 3, shape[0] * 2, shape[1] * 2)
    assert out.dtype == torch.float32
    assert (out - full).abs().max() <= 1 / 255
    assert (out - full).abs().max() <= 1e-4


@pytest.mark.parametrize("shape", [(62, 62), (150, 45), (41, 200)])
def test_run_tiled_many_overlapping_rows(net: nn.Module, shape: tuple[int, int]) -> None:
    image = torch.rand(1, 3, *shape)
    full = _apply(net)(image)
    rows = tiling.tile_starts(shape[0], 40, 19)
    assert len(rows) >= 2

    out = tiling.run_tiled(_apply(net), image, scale=2, tile=40, overlap=19)

    assert (out - full).abs().max() <= 1e-4


def test_run_tiled_uint8_output(net: nn.Module) -> None:
    image = torch.rand(1, 3, 70, 90)
    full = _apply(net)(image)
    expected = full.clamp(0, 1).mul(255).round()
    assert (expected > 0).any() and (expected < 255).any()

    out = tiling.run_tiled(_apply(net), image, scale=2, tile=48, overlap=18, out_dtype=torch.uint8)

    assert out.dtype == torch.uint8
    assert out.shape == full.shape
    diff = (out.float() - expected).abs()
    assert diff.max() <= 1
    assert (diff > 0).float().mean() < 0.01


def test_run_tiled_rejects_other_out_dtype() -> None:
    with pytest.raises(InvalidInputError):
        tiling.run_tiled(lambda x: x, torch.rand(1, 3, 8, 8), scale=1, tile=8, overlap=0, out_dtype=torch.float16)


def test_run_tiled_without_enough_overlap_differs(net: nn.Module) -> None:
    image = torch.rand(1, 3, 60, 60)
    full = _apply(net)(image)
    out = tiling.run_tiled(_apply(net), image, scale=2, tile=20, overlap=0)
    assert (out - full).abs().max() > 1e-3


@pytest.mark.parametrize("scale", [1, 3])
def test_run_tiled_other_scales(scale: int) -> None:
    net = _conv_net(scale=scale)
    image = torch.rand(1, 3, 45, 58)
    full = _apply(net)(image)
    out = tiling.run_tiled(_apply(net), image, scale=scale, tile=40, overlap=3 * RADIUS)
    assert out.shape == full.shape
    assert (out - full).abs().max() <= 1e-4


def test_run_tiled_progress(net: nn.Module) -> None:
    calls: list[tuple[int, int]] = []
    image = torch.rand(1, 3, 70, 100)
    tiling.run_tiled(_apply(net), image, scale=2, tile=40, overlap=18, progress=lambda d, t: calls.append((d, t)))
    total = len(tiling.tile_starts(70, 40, 18)) * len(tiling.tile_starts(100, 40, 18))
    assert total > 1
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_run_tiled_pads_tiles_to_multiple() -> None:
    seen: list[tuple[int, int]] = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        assert x.shape[-2] % 8 == 0 and x.shape[-1] % 8 == 0
        return x.repeat_interleave(2, -2).repeat_interleave(2, -1)

    image = torch.rand(1, 3, 37, 53)
    out = tiling.run_tiled(fn, image, scale=2, tile=24, overlap=6, multiple=8)

    assert len(seen) > 1
    expected = image.repeat_interleave(2, -2).repeat_interleave(2, -1)
    assert out.shape == expected.shape
    assert torch.allclose(out, expected, atol=1e-6)


def test_run_tiled_changes_channel_count() -> None:
    image = torch.rand(1, 3, 30, 30)
    out = tiling.run_tiled(lambda x: x.mean(1, keepdim=True), image, scale=1, tile=16, overlap=4)
    assert out.shape == (1, 1, 30, 30)
    assert torch.allclose(out, image.mean(1, keepdim=True), atol=1e-6)


@pytest.mark.parametrize("shape, tile, overlap", [((3, 30, 30), 16, 4), ((2, 3, 30, 30), 16, 4),
                                                  ((1, 3, 30, 30), 0, 4), ((1, 3, 30, 30), 16, -1)])
def test_run_tiled_rejects_bad_input(shape, tile: int, overlap: int) -> None:
    with pytest.raises(InvalidInputError):
        tiling.run_tiled(lambda x: x, torch.rand(*shape), scale=1, tile=tile, overlap=overlap)


# --- OOM back-off -------------------------------------------------------------------------------------------------


def _oom_above(net: nn.Module, limit: int, tried: list[int]):
    def fn(x: torch.Tensor) -> torch.Tensor:
        edge = max(x.shape[-2:])
        tried.append(edge)
        if edge > limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return _apply(net)(x)
    return fn


def test_backoff_halves_tile_until_it_fits(net: nn.Module) -> None:
    image = torch.rand(1, 3, 90, 110)
    tried: list[int] = []

    out = tiling.run_tiled_with_backoff(_oom_above(net, 70, tried), image, scale=2, tile=256, overlap=18)

    assert tried[:2] == [110, 110]
    assert tried[2:] and max(tried[2:]) == 64
    assert len(tried[2:]) == len(tiling.tile_starts(90, 64, 18)) * len(tiling.tile_starts(110, 64, 18))
    assert (out - _apply(net)(image)).abs().max() <= 1e-4


def test_backoff_on_cpu_allocator_message(net: nn.Module) -> None:
    image = torch.rand(1, 3, 60, 60)
    tried: list[int] = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        tried.append(max(x.shape[-2:]))
        if max(x.shape[-2:]) > 40:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes")
        return _apply(net)(x)

    out = tiling.run_tiled_with_backoff(fn, image, scale=2, tile=64, overlap=18)
    assert tried[0] == 60 and max(tried[1:]) <= 32
    assert out.shape == (1, 3, 120, 120)


def test_backoff_gives_up_at_minimum_tile() -> None:
    image = torch.rand(1, 3, 300, 300)
    tried: list[int] = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        tried.append(max(x.shape[-2:]))
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(MemoryError) as info:
        tiling.run_tiled_with_backoff(fn, image, scale=2, tile=128, overlap=8)
    assert isinstance(info.value.__cause__, torch.OutOfMemoryError)
    assert tried == [tiling.fit_tile(300, t, 8) for t in (128, 64, 32)]
    assert tried[0] <= 128 and tried[1] <= 64 and tried[2] <= 32
    assert not isinstance(info.value, RuntimeError)


def test_backoff_propagates_other_errors_unchanged() -> None:
    err = RuntimeError("expected input to have 3 channels")
    calls: list[int] = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        raise err

    with pytest.raises(RuntimeError) as info:
        tiling.run_tiled_with_backoff(fn, torch.rand(1, 3, 100, 100), scale=2, tile=64, overlap=8)
    assert info.value is err
    assert calls == [1]


def test_is_oom() -> None:
    assert tiling.is_oom(torch.OutOfMemoryError("x"))
    assert tiling.is_oom(RuntimeError("CUDA out of memory. Tried to allocate"))
    assert not tiling.is_oom(RuntimeError("size mismatch"))
    assert not tiling.is_oom(ValueError("out of memory"))


# --- auto_tile ----------------------------------------------------------------------------------------------------


def test_auto_tile_grows_with_free_memory() -> None:
    frees = [2**k for k in range(20, 38)]
    tiles = [tiling.auto_tile(f, bytes_per_pixel=4096) for f in frees]
    assert tiles == sorted(tiles)
    assert tiles[-1] > tiles[0]
    assert all(t % 8 == 0 for t in tiles)


def test_auto_tile_respects_minimum_and_caps() -> None:
    assert tiling.auto_tile(0, bytes_per_pixel=4096) == tiling.MIN_TILE
    assert tiling.auto_tile(1024, bytes_per_pixel=10**9) == tiling.MIN_TILE
    assert tiling.auto_tile(2**50, bytes_per_pixel=1, cap_bytes=2**50) == 2048
    capped = tiling.auto_tile(2**40, bytes_per_pixel=1024)
    assert capped == tiling.auto_tile(2**40, bytes_per_pixel=1024, cap_bytes=tiling.AUTO_TILE_CAP_BYTES)
    assert capped * capped * 1024 <= tiling.AUTO_TILE_CAP_BYTES


def test_auto_tile_fits_budget() -> None:
    free, bpp = 8 * 2**30, 20_000
    tile = tiling.auto_tile(free, bpp, budget_fraction=0.25)
    assert tile * tile * bpp <= min(free * 0.25, tiling.AUTO_TILE_CAP_BYTES)
    assert (tile + 8) ** 2 * bpp > min(free * 0.25, tiling.AUTO_TILE_CAP_BYTES)
    assert tiling.auto_tile(free, bpp, multiple=16) % 16 == 0


@pytest.mark.parametrize(("length", "tile", "overlap"), [(1154, 392, 40), (866, 392, 40), (157, 64, 24),
                                                         (100, 64, 20), (300, 300, 24), (5000, 512, 32)])
def test_fit_tile_keeps_tile_count_and_trims_slack(length: int, tile: int, overlap: int) -> None:
    fitted = tiling.fit_tile(length, tile, overlap)
    starts = tiling.tile_starts(length, fitted, overlap)
    assert fitted <= tile
    assert len(starts) == len(tiling.tile_starts(length, tile, overlap))
    assert starts[0] == 0 and starts[-1] + fitted >= length
    assert all(fitted - (b - a) >= overlap for a, b in zip(starts, starts[1:]))
    assert len(starts) * fitted <= length + (len(starts) - 1) * overlap + 2 * len(starts)
