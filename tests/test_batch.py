"""``python -m enhancers batch``: step chains, the local and Ray engines, the manifest, resumption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from enhancers import batch, cli, imageio, steps
from enhancers.errors import InvalidInputError, UnknownModelError

ROOT = Path(__file__).resolve().parents[1]
CHAIN = "dejpeg,denoise,sr:x2"


# --- step chains (pure parsing) ------------------------------------------------------------------------

def test_parse_steps_reads_flags_options_and_aliases():
    chain = steps.parse_steps(" dejpeg:qf=30 , denoise:sigma=15:model=denoise/unet,sr:x2,enhance:x1:tone ")
    assert [s.task for s in chain] == ["dejpeg", "denoise", "sr", "enhance"]
    assert dict(chain[0].options) == {"quality": 30.0}
    assert dict(chain[1].options) == {"sigma": 15.0, "model": "denoise/unet"}
    assert dict(chain[2].options) == {"scale": 2}
    assert dict(chain[3].options) == {"scale": 1, "tone": True}
    assert str(chain[2]) == "sr:scale=2" and str(chain[3]) == "enhance:scale=1:tone=true"
    assert steps.parse_steps(str(chain[1]))[0] == chain[1]
    strength = steps.parse_steps("enhance:tone_strength=0.6")[0]  # a strength alone asks for auto-tone
    assert dict(strength.options) == {"tone_strength": 0.6} and ("tone/curves-cautious", None) in strength.models()
    full = steps.parse_steps("enhance:x1:tone_model=tone/curves")[0]  # a model alone asks too
    assert ("tone/curves", None) in full.models() and ("tone/curves-cautious", None) not in full.models()
    assert steps.parse_steps(str(full))[0] == full


@pytest.mark.parametrize("text, message", [
    ("", "no steps"),
    ("sharpen", "unknown step 'sharpen'"),
    ("sr:x5", "'x5' is not name=value"),
    ("denoise:sigma=abc", "sigma expects a number, got 'abc'"),
    ("dejpeg:strength=2", "unknown option 'strength'"),
    ("enhance:tone_model=color/unet", "not an auto-tone model"),
    ("sr:self_ensemble=maybe", "self_ensemble expects true or false"),
    ("enhance:tone_strength=half", "tone_strength expects a number, got 'half'"),
])
def test_parse_steps_says_what_was_expected(text, message):
    with pytest.raises(InvalidInputError, match=message):
        steps.parse_steps(text)


def test_parse_steps_rejects_unknown_model_ids():
    with pytest.raises(UnknownModelError):
        steps.parse_steps("sr:model=sr/nope")


def test_each_step_names_the_models_it_loads():
    chain = steps.parse_steps("dejpeg,denoise,sr:x4,enhance:tone,colorize,style")
    assert [m for s in chain for m, _ in s.models()] == [
        "dejpeg/fbcnn-lite", "denoise/unet", "sr/compact-x4", "enhance/distilled-x2", "tone/curves-cautious",
        "color/unet",
        "style/rhythm"]


# --- discovery, output names, completeness ---------------------------------------------------------------

def test_discover_recurses_keeps_relative_paths_and_skips_hidden(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".cache").mkdir()
    for rel in ("x.jpg", "a/y.PNG", "a/b/z.tif", "a/notes.txt", ".cache/h.png"):
        (tmp_path / rel).write_bytes(b"")
    items = batch.discover([tmp_path])
    assert [str(i.rel) for i in items] == ["a/b/z.tif", "a/y.PNG", "x.jpg"]
    assert all(i.input.is_absolute() for i in items)
    assert [str(i.rel) for i in batch.discover([tmp_path / "a" / "notes.txt"])] == ["notes.txt"]
    with pytest.raises(InvalidInputError, match="no such file"):
        batch.discover([tmp_path / "missing"])


def test_output_paths_keep_suffix_only_where_names_collide(tmp_path):
    items = [batch.BatchItem(Path("/i/a.jpg"), Path("a.jpg")), batch.BatchItem(Path("/i/a.png"), Path("a.png")),
             batch.BatchItem(Path("/i/s/b.jpg"), Path("s/b.jpg"))]
    out = batch.output_paths(items, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in out] == ["a.jpg.png", "a.png.png", "s/b.png"]


def test_is_complete_needs_the_whole_png(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (8, 8), "red").save(path)
    assert batch.is_complete(path)
    whole = path.read_bytes()
    path.write_bytes(whole[:-5])
    assert not batch.is_complete(path)
    assert not batch.is_complete(tmp_path / "missing.png")


# --- real photos -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Six held-out photos (scikit-image), JPEG-compressed at QF 35, two in sub-folders, one with alpha
    (PNG), one gray; plus one broken file."""
    root = tmp_path_factory.mktemp("archive")
    (root / "1950s" / "summer").mkdir(parents=True)
    photos = {"astronaut.jpg": data.astronaut(), "1950s/chelsea.jpg": data.chelsea(), "coffee.jpg": data.coffee(),
              "1950s/summer/rocket.jpg": data.rocket(), "camera.jpg": data.camera(),
              "tissue.png": data.immunohistochemistry()}
    for rel, arr in photos.items():
        im = Image.fromarray(arr).crop((40, 40, 200, 160))
        if rel.endswith(".png"):
            im = im.convert("RGBA")
            im.putalpha(Image.linear_gradient("L").resize(im.size))
            im.save(root / rel)
        else:
            im.save(root / rel, quality=35)
    (root / "1950s" / "broken.jpg").write_bytes((root / "coffee.jpg").read_bytes()[:600])
    return root


def _records(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"), dtype=np.int16)


def _check_manifest(records: list[dict], archive: Path, out: Path) -> None:
    assert len(records) == 7
    by_input = {Path(r["input"]).relative_to(archive).as_posix(): r for r in records}
    broken = by_input.pop("1950s/broken.jpg")
    assert broken["status"] == "error" and broken["output"] is None and "broken.jpg" in broken["error"]
    assert not list(out.rglob("broken*"))
    for rel, r in by_input.items():
        assert r["status"] == "ok" and r["error"] is None, r
        assert Path(r["output"]) == out / Path(rel).with_suffix(".png")
        assert [s["step"] for s in r["steps"]] == ["dejpeg", "denoise", "sr:scale=2"]
        dejpeg, denoise, sr = r["steps"]
        assert dejpeg["model"] == "dejpeg/fbcnn-lite" and 1 <= dejpeg["qf_used"] <= 100
        assert dejpeg["qf_header"] == (None if rel.endswith(".png") else 35)
        assert denoise["model"] == "denoise/unet" and denoise["sigma_estimated"] >= 0
        assert sr["model"] == "sr/compact-x2" and sr["scale"] == 2
        assert r["output_size"] == [320, 240] and r["seconds"] > 0 and r["worker"]


def test_local_engine_restores_archive_and_loads_models_once(archive, tmp_path):
    from enhancers.loader import model_cache

    model_cache().clear()
    loads = model_cache().loads
    summary = batch.run_batch([archive], tmp_path / "out", CHAIN)
    assert (summary.ok, summary.skipped, summary.error, summary.exit_code) == (6, 0, 1, 1)
    assert model_cache().loads - loads == 3
    _check_manifest(_records(summary.manifest), archive, tmp_path / "out")
    with Image.open(tmp_path / "out" / "tissue.png") as im:
        assert im.mode == "RGBA" and im.size == (320, 240)
    assert not list((tmp_path / "out").rglob("*.part"))


def test_chain_equals_the_single_commands_run_one_after_another(archive, tmp_path):
    src = archive / "1950s" / "chelsea.jpg"
    assert cli.main(["dejpeg", str(src), "--output-dir", str(tmp_path / "1")]) == 0
    assert cli.main(["denoise", str(tmp_path / "1" / "chelsea.png"), "--output-dir", str(tmp_path / "2")]) == 0
    assert cli.main(["sr", str(tmp_path / "2" / "chelsea.png"), "--scale", "2", "--output-dir",
                     str(tmp_path / "3")]) == 0
    assert cli.main(["batch", str(src), "--output-dir", str(tmp_path / "chain"), "--steps", CHAIN]) == 0
    assert np.array_equal(_pixels(tmp_path / "3" / "chelsea.png"), _pixels(tmp_path / "chain" / "chelsea.png"))


def test_as_saved_is_what_the_png_file_reads_back_as(archive, tmp_path):
    image = imageio.open_image(archive / "tissue.png")
    half = image.with_pixels(image.rgb * 0.5 + 0.001, image.alpha)
    again = imageio.open_image(imageio.save_result(tmp_path / "t.png", half))
    saved = imageio.as_saved(half)
    assert saved.source_format == again.source_format == "PNG" and saved.jpeg_quality is None
    assert np.array_equal(saved.rgb.numpy(), again.rgb.numpy())
    assert np.array_equal(saved.alpha.numpy(), again.alpha.numpy())


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    batch.start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


def test_ray_engine_gives_the_local_pixels_and_a_complete_manifest(archive, tmp_path, local_ray):
    local = batch.run_batch([archive], tmp_path / "local", CHAIN)
    summary = batch.run_batch([archive], tmp_path / "ray", CHAIN, engine="ray", workers=2)
    assert (summary.ok, summary.skipped, summary.error) == (6, 0, 1)
    records = _records(summary.manifest)
    _check_manifest(records, archive, tmp_path / "ray")
    assert all(str(os.getpid()) != r["worker"].rsplit(":", 1)[1] for r in records if r["status"] == "ok")
    assert len({r["worker"] for r in records}) <= 2  # actors keep their models across photos
    for r in _records(local.manifest):
        if r["status"] == "ok":
            ours = _pixels(Path(r["output"]))
            theirs = _pixels(tmp_path / "ray" / Path(r["output"]).relative_to(tmp_path / "local"))
            assert np.abs(ours - theirs).max() <= 1


def _wait_for_ok_lines(manifest: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if manifest.exists() and sum('"status": "ok"' in ln for ln in manifest.read_text().splitlines()) >= n:
            return
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    raise AssertionError("no progress")


def test_killed_run_resumes_with_only_the_rest(archive, tmp_path):
    out = tmp_path / "out"
    # Self-ensemble ×4 makes each photo take long enough to be killed in the middle of the run.
    cmd = [sys.executable, "-m", "enhancers", "batch", str(archive), "--output-dir", str(out),
           "--steps", "dejpeg,sr:x4:self_ensemble=true"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_ok_lines(out / batch.MANIFEST, 2, proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    first = _records(out / batch.MANIFEST)
    done = {r["input"] for r in first if r["status"] == "ok"}
    assert 2 <= len(done) < 6
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    second = _records(out / batch.MANIFEST)[len(first):]
    assert {r["input"] for r in second if r["status"] == "skipped"} == done
    assert len([r for r in second if r["status"] == "ok"]) == 6 - len(done)
    assert [r["status"] for r in second].count("error") == 1
    outputs = [p for p in out.rglob("*.png")]
    assert len(outputs) == 6 and all(batch.is_complete(p) for p in outputs)
    assert not list(out.rglob("*.part"))


def test_cli_ray_engine_restores_a_folder_on_a_local_ray(archive, tmp_path):
    out = tmp_path / "restored"
    res = subprocess.run([sys.executable, "-m", "enhancers", "batch", str(archive / "1950s"), "--output-dir",
                          str(out), "--steps", CHAIN, "--engine", "ray", "--workers", "2", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    lines = [json.loads(ln) for ln in res.stdout.splitlines()]
    assert sorted(r["status"] for r in lines) == ["error", "ok", "ok"]
    assert "error: broken.jpg" in res.stderr and "restored 2, skipped 0 (already done), failed 1" in res.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["chelsea.png", "summer/rocket.png"]


def test_cli_batch_usage_errors_exit_non_zero_without_traceback(tmp_path):
    for args in (["--steps", "sharpen"], ["--steps", "sr", "--address", "auto"], ["--steps", "sr", "--workers", "0"]):
        res = subprocess.run([sys.executable, "-m", "enhancers", "batch", str(ROOT / "examples" / "coffee.png"),
                              "--output-dir", str(tmp_path), *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 1 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert not (tmp_path / batch.MANIFEST).exists()
