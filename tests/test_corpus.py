"""The training photo corpus: the committed manifest (scripts/photo-corpus.json), the helpers that built it, and the
split the trainers read. Runs offline; only the checks that need the fetched photos (``make photos``) skip."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from enhancers.errors import InvalidInputError, MissingDataError
from enhancers.training import corpus, corpus_sources, data
from enhancers.training.photo_facts import (
    QUALITY_CLASSES,
    hamming,
    jpeg_quality,
    phash,
    phashes,
    photo_facts,
    quality_class,
    webp_lossless,
)

MANIFEST = corpus.load_manifest()
PHOTOS = MANIFEST["photos"]
NEW = [r for r in PHOTOS if r["package"] in corpus.NEW_PACKAGES]
SK = data.skimage_dir()
DIFFERENT = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
             "hubble_deep_field.jpg", "ihc.png", "retina.jpg")


def fetched() -> bool:
    return not corpus.missing_photos(MANIFEST)


# ---------------------------------------------------------------- the committed manifest


def test_manifest_is_written_deterministically():
    assert corpus.manifest_text(MANIFEST) == corpus.MANIFEST_PATH.read_text()
    assert [r["id"] for r in PHOTOS] == sorted(r["id"] for r in PHOTOS)


def test_every_record_is_complete_and_unique():
    for key in ("id", "sha256", "file"):
        values = [r[key] for r in PHOTOS]
        assert len(values) == len(set(values)), f"duplicate {key}"
    for r in PHOTOS:
        assert r["package"] in corpus.ALLOWED_SOURCES, r["id"]
        assert r["licence"].strip(), r["id"]
        assert r["width"] > 0 and r["height"] > 0 and r["bytes"] > 0, r["id"]
        assert re.fullmatch(r"[0-9a-f]{64}", r["sha256"]), r["id"]
        assert r["format"] in ("JPEG", "PNG", "WEBP"), r["id"]
        assert r["quality_class"] in QUALITY_CLASSES and r["split"] in ("train", "heldout"), r["id"]
        assert r["quality_class"] == quality_class(r["width"], r["height"], r["format"], r["jpeg_quality"],
                                                   r["lossless"]), r["id"]
        assert r["rotate"] in (0, 90, 180, 270), r["id"]


def test_new_photos_live_in_their_package_folder_under_safe_names():
    for r in NEW:
        assert r["file"].startswith(f"data/corpus/{r['package']}/"), r["id"]
        assert re.fullmatch(r"[A-Za-z0-9._-]+", Path(r["file"]).name), r["id"]
        assert r["id"] == f"{r['package']}/{Path(r['file']).name}"


def test_no_non_commercial_or_unknown_licence():
    for r in PHOTOS:
        text = f"{r['licence']} {r['credit']}"
        assert not re.search(r"\bNC\b|-NC-|NonCommercial|non-commercial", text, re.IGNORECASE), r["id"]
    gcompris = {r["licence"] for r in PHOTOS if r["package"] == "gcompris-qt-data"}
    assert gcompris <= {"public-domain", "CC0-1.0", "CC-BY-2.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-4.0",
                        "GPLv3", "GPLv2+"}, gcompris


def test_only_the_allowed_packages_and_the_expected_counts():
    by_package = defaultdict(int)
    for r in PHOTOS:
        by_package[r["package"]] += 1
    assert set(by_package) == set(corpus.ALLOWED_SOURCES)
    # The earlier corpus, unchanged: mate's nature folder, lomiri 16.04, two lomiri 20.04 photos, scikit-image's.
    assert by_package["mate-backgrounds"] == 12 and by_package["lomiri-wallpapers-16.04"] == 15
    assert by_package["lomiri-wallpapers-20.04"] == 2
    skimage_names = data.SKIMAGE_TRAIN + data.SKIMAGE_EVAL + corpus_sources.SKIMAGE_COLOR_EXTRA
    assert by_package["scikit-image"] == len(skimage_names)
    assert by_package["enlightenment-data"] == len(corpus_sources.ENLIGHTENMENT_PHOTOS)
    assert by_package["lxqt-themes"] == len(corpus_sources.LXQT_PHOTOS)
    assert by_package["gcompris-qt-data"] > 250


def test_the_fetch_script_downloads_exactly_the_sources():
    script = (corpus.REPO_DIR / "scripts" / "fetch_photos.sh").read_text()
    lists = re.findall(r"^(?:legacy|new)=\(([^)]*)\)", script, re.MULTILINE)
    named = {p for line in lists for p in line.split()} | set(re.findall(r"new\+=\((\S+)\)", script))
    assert named == set(corpus.LEGACY_PACKAGES + corpus.NEW_PACKAGES)
    assert "apt-get download" in script and "dpkg -x" in script


def test_every_duplicate_group_is_on_one_side():
    sides = defaultdict(set)
    for r in PHOTOS:
        sides[r["group"]].add(r["split"])
    assert all(len(s) == 1 for s in sides.values()), {g: s for g, s in sides.items() if len(s) > 1}
    assert MANIFEST["split_conflicts"] == []


def test_photos_of_one_subject_share_a_group():
    ids = {r["id"]: r for r in PHOTOS}
    dropped = {d["id"] for d in MANIFEST["dropped"]}
    for subject in corpus.SAME_SUBJECT:
        assert all(i in ids or i in dropped for i in subject), subject
        assert len({ids[i]["group"] for i in subject if i in ids}) == 1, subject
    assert ids["kphotoalbum/bar55.jpg"]["group"] == ids["kphotoalbum/bar55_2.jpg"]["group"]


def test_near_duplicates_by_hash_share_a_group():
    hashes = [(r, int(r["phash"], 16), int(r["phash_mirror"], 16)) for r in PHOTOS]
    for (a, ha, _), (b, hb, hbm) in itertools.combinations(hashes, 2):
        if min(hamming(ha, hb), hamming(ha, hbm)) <= corpus.NEAR_BITS:
            assert a["group"] == b["group"], (a["id"], b["id"])


def test_no_duplicates_kept_and_dropped_ones_recorded():
    new_hashes = [(r, int(r["phash"], 16), int(r["phash_mirror"], 16)) for r in NEW]
    for (a, ha, _), (b, hb, hbm) in itertools.combinations(new_hashes, 2):
        assert min(hamming(ha, hb), hamming(ha, hbm)) > corpus.DUPLICATE_BITS, (a["id"], b["id"])
    kept = {r["sha256"] for r in PHOTOS}
    for d in MANIFEST["dropped"]:
        assert d["sha256"] not in kept and d["reason"], d
        assert d["id"].split("/")[0] in corpus.NEW_PACKAGES, d


def test_heldout_share_of_new_photos_is_sane():
    share = sum(r["split"] == "heldout" for r in NEW) / len(NEW)
    assert 0.10 <= share <= 0.22, share
    clean = [r for r in PHOTOS if r["quality_class"] == "clean"]
    assert any(r["split"] == "heldout" for r in clean) and any(r["split"] == "train" for r in clean)


def test_new_groups_follow_the_hash_rule():
    members = defaultdict(list)
    for r in PHOTOS:
        members[r["group"]].append(r)
    for group, rs in members.items():
        if any(r["package"] not in corpus.NEW_PACKAGES for r in rs):
            continue
        key = min(r["sha256"] for r in rs)
        assert group == f"g-{key[:12]}"
        assert rs[0]["split"] == ("heldout" if corpus.heldout_by_hash(key) else "train"), group


def test_earlier_sources_keep_the_split_of_data_split():
    by_file = sorted((r for r in PHOTOS if r["file"].startswith("data/photos/")), key=lambda r: Path(r["file"]).name)
    assert len(by_file) == 27
    for i, r in enumerate(by_file):
        assert r["split"] == ("heldout" if i % data.HELDOUT_EVERY == 1 else "train"), r["id"]
    sk = {Path(r["path"]).name: r["split"] for r in PHOTOS if r["package"] == corpus.SKIMAGE}
    assert {n for n, s in sk.items() if s == "heldout"} == set(data.SKIMAGE_EVAL)
    assert all(r["split"] == "train" for r in PHOTOS if r["package"] == "lomiri-wallpapers-20.04")


def test_earlier_split_matches_data_split_on_disk():
    if not data.corpus_photos():
        pytest.skip("data/photos is empty: `make photos` has not run here, so data.split() has nothing to compare")
    old = data.split()
    where = {corpus.local_path(r): r["split"] for r in PHOTOS}
    assert {p: "train" for p in old.train} | {p: "heldout" for p in old.heldout} == {
        p: s for p, s in where.items() if p in set(old.train) | set(old.heldout)}
    assert set(old.train) | set(old.heldout) <= set(where)


def test_no_new_photo_is_near_a_check_photo():
    if not data.photos_in(corpus.CHECK_DIR):
        pytest.skip("data/check-photos is empty: scripts/fetch_color_photos.sh has not run here")
    check = corpus.check_photo_facts()
    for r in NEW:
        h = int(r["phash"], 16)
        for name, f in check.items():
            d = min(hamming(h, f.phash), hamming(h, f.phash_mirror))
            assert d > corpus.NEAR_BITS, (r["id"], name, d)


def test_fetched_photos_match_the_manifest():
    if not fetched():
        pytest.skip("the corpus photos are not fetched here (`make photos`); their sha256 cannot be checked")
    for r in PHOTOS:
        if r["package"] == corpus.SKIMAGE:
            continue
        p = corpus.local_path(r)
        assert hashlib.sha256(p.read_bytes()).hexdigest() == r["sha256"], r["id"]
    for r in [r for r in NEW if r["format"] == "WEBP"][:20] + [r for r in PHOTOS if r["rotate"]]:
        with Image.open(corpus.local_path(r)) as im:
            assert im.size == (r["width"], r["height"]), r["id"]


# ---------------------------------------------------------------- perceptual hash and photo facts


def test_phash_identical_copy_is_zero():
    im = Image.open(SK / "astronaut.png")
    assert hamming(phash(im), phash(Image.open(SK / "astronaut.png").copy())) == 0
    png = io.BytesIO()
    im.save(png, "PNG")
    assert hamming(phash(im), phash(Image.open(io.BytesIO(png.getvalue())))) == 0


@pytest.mark.parametrize("name", DIFFERENT)
def test_phash_resized_and_recompressed_copy_is_a_duplicate(name):
    im = Image.open(SK / name).convert("RGB")
    small = im.resize((im.width // 2, im.height // 2), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=40)
    assert hamming(phash(im), phash(Image.open(io.BytesIO(buf.getvalue())))) <= corpus.DUPLICATE_BITS


@pytest.mark.parametrize("name", DIFFERENT[:4])
def test_phash_mirror_hash_finds_a_mirrored_copy(name):
    im = Image.open(SK / name).convert("RGB")
    plain, mirrored = phashes(im)
    flipped = phash(ImageOps.mirror(im))
    assert hamming(mirrored, flipped) <= 2
    assert hamming(plain, flipped) > corpus.NEAR_BITS  # the plain hash alone would miss it


def test_phash_different_photos_are_far_apart():
    hashes = {n: phash(Image.open(SK / n)) for n in DIFFERENT}
    for a, b in itertools.combinations(DIFFERENT, 2):
        assert hamming(hashes[a], hashes[b]) > corpus.NEAR_BITS, (a, b)


@pytest.mark.parametrize("quality", [30, 71, 80, 90, 99])
def test_jpeg_quality_recovers_the_encoder_setting(quality):
    buf = io.BytesIO()
    Image.open(SK / "coffee.png").convert("RGB").save(buf, "JPEG", quality=quality)
    assert jpeg_quality(Image.open(io.BytesIO(buf.getvalue()))) == quality


def test_jpeg_quality_is_none_for_other_formats():
    assert jpeg_quality(Image.open(SK / "coffee.png")) is None


@pytest.mark.parametrize("lossless", [True, False])
def test_webp_lossless_reads_the_chunk_type(lossless):
    buf = io.BytesIO()
    Image.open(SK / "coffee.png").save(buf, "WEBP", lossless=lossless)
    assert webp_lossless(buf.getvalue()) is lossless
    assert webp_lossless(b"\x89PNG\r\n\x1a\n" + bytes(20)) is None


def test_quality_classes():
    assert quality_class(320, 240, "WEBP", None, False) == "small"
    assert quality_class(1920, 1080, "WEBP", None, False) == "lossy"
    assert quality_class(1920, 1080, "WEBP", None, True) == "clean"
    assert quality_class(800, 600, "JPEG", 80, False) == "lossy"
    assert quality_class(3840, 2160, "JPEG", 99, False) == "clean"
    assert quality_class(512, 512, "PNG", None, True) == "clean"


def test_photo_facts_of_a_gray_and_a_colour_photo():
    gray = photo_facts((SK / "camera.png").read_bytes())
    colour = photo_facts((SK / "astronaut.png").read_bytes())
    assert gray.colourfulness < corpus.COLOUR_THRESHOLD < colour.colourfulness
    assert (colour.width, colour.height, colour.format, colour.quality_class) == (512, 512, "PNG", "clean")


# ---------------------------------------------------------------- credits, split rule, building


README = """Copyright: Timothée Giet, 2022
License: CC-BY-SA 4.0
Files:
transparent_square.svg

Copyright: Dietmar Rabich / Wikimedia Commons
Source: https://commons.wikimedia.org/wiki/File:Alpakas.jpg
License: CC-BY-SA-4.0
Comments: cropping, sharpening
Files: alpaca.webp

Copyright: 2000, 2008 Bruno Coudoin and others
License: CC-BY 4.0
EilanDonanCastle_background.webp
Comment: based on a photo by Guillaume Piolle

Copyright: Berthold Werner
License: Public Domain
Files:
germany/audaPalatina.webp
"""

DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2020 Someone
License: GPL-2+

Files: 16.04/aitzgorri_by_Aitzol_Berasategi.jpg
Copyright: Aitzol Berasategi
License: CC-BY-4.0

License: GPL-2+
 This package is free software; files.jpg mentioned in a licence text
 do not count.
"""


def test_credits_from_gcompris_readme_and_dep5():
    paras = corpus_sources.parse_credits(README)
    assert corpus_sources.credits_for(paras, "alpaca.webp") == (
        "CC-BY-SA-4.0",
        "Dietmar Rabich / Wikimedia Commons; https://commons.wikimedia.org/wiki/File:Alpakas.jpg; cropping, sharpening")
    assert corpus_sources.credits_for(paras, "EilanDonanCastle_background.webp")[0] == "CC-BY-4.0"  # no Files: line
    assert corpus_sources.credits_for(paras, "germany/audaPalatina.webp")[0] == "public-domain"
    assert corpus_sources.credits_for(paras, "missing.webp") is None
    dep5 = corpus_sources.parse_credits(DEP5)
    assert corpus_sources.credits_for(dep5, "aitzgorri_by_Aitzol_Berasategi.jpg")[0] == "CC-BY-4.0"
    assert corpus_sources.credits_for(dep5, "other.jpg") is None  # "Files: *" is not a per-photo licence


def test_normalise_licence():
    assert corpus_sources.normalise_licence("CC-BY-SA 4.0") == "CC-BY-SA-4.0"
    assert corpus_sources.normalise_licence("Public domain") == "public-domain"
    assert corpus_sources.normalise_licence("GPLv3") == "GPLv3"


def test_heldout_by_hash_is_stable_and_near_its_percentage():
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4000)]
    held = [corpus.heldout_by_hash(k) for k in keys]
    assert held == [corpus.heldout_by_hash(k) for k in keys]
    assert 0.12 < sum(held) / len(held) < 0.18


def _cand(package: str, name: str, data: bytes, file: str | None = None) -> corpus_sources.Candidate:
    return corpus_sources.Candidate(package, f"usr/share/{name}", file or f"data/corpus/{package}/{name}", data,
                                    "CC0-1.0")


def _jpeg(name: str, scale: float = 1.0, quality: int = 95) -> bytes:
    im = Image.open(SK / name).convert("RGB")
    im = im.resize((int(im.width * scale), int(im.height * scale)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_build_manifest_drops_duplicates_and_check_lookalikes_and_keeps_the_old_split():
    legacy = [_cand("mate-backgrounds", f"{n}", (SK / n).read_bytes(), f"data/photos/mate-{n}")
              for n in ("coffee.png", "rocket.jpg", "motorcycle_left.png", "retina.jpg", "ihc.png")]
    new = [_cand("lxqt-themes", "astro.png", (SK / "astronaut.png").read_bytes()),
           _cand("kphotoalbum", "astro_small.jpg", _jpeg("astronaut.png", 0.5, 60)),  # a lossy copy: dropped
           _cand("tuxpaint-data", "cat.jpg", _jpeg("chelsea.png")),  # a check photo's twin: dropped
           _cand("tuxpaint-data", "hubble.jpg", _jpeg("hubble_deep_field.jpg")),
           _cand("kalzium-data", "rocket_again.jpg", _jpeg("rocket.jpg", 0.7)),  # copy of an old held-out photo
           _cand("kalzium-data", "retina_shot.jpg", _jpeg("camera.png"))]  # same subject as an old held-out
    check = {"plasma-Cat.jpg": photo_facts((SK / "chelsea.png").read_bytes())}
    m = corpus.build_manifest(legacy + new, check, same_subject=[("mate-backgrounds/mate-motorcycle_left.png",
                                                                  "kalzium-data/retina_shot.jpg")])
    ids = {r["id"]: r for r in m["photos"]}
    dropped = {d["id"]: d["reason"] for d in m["dropped"]}
    assert "kphotoalbum/astro_small.jpg" in dropped and "lxqt-themes/astro.png" in ids
    assert dropped["tuxpaint-data/cat.jpg"].startswith("near-duplicate of check photo plasma-Cat.jpg")
    assert "kalzium-data/rocket_again.jpg" in dropped  # the earlier photo is kept, the copy dropped
    # data.split()'s rule over the sorted data/photos names: index 1 (mate-ihc.png) held out.
    order = sorted(r["file"] for r in m["photos"] if r["file"].startswith("data/photos/"))
    assert [ids[f"mate-backgrounds/{Path(f).name}"]["split"] for f in order] == [
        "heldout" if i % data.HELDOUT_EVERY == 1 else "train" for i in range(len(order))]
    assert ids["kalzium-data/retina_shot.jpg"]["group"] == ids["mate-backgrounds/mate-motorcycle_left.png"]["group"]
    assert ids["kalzium-data/retina_shot.jpg"]["split"] == ids["mate-backgrounds/mate-motorcycle_left.png"]["split"]
    assert json.loads(corpus.manifest_text(m)) == m


def test_build_manifest_refuses_unknown_subjects_and_twin_ids():
    c = _cand("lxqt-themes", "a.png", (SK / "astronaut.png").read_bytes())
    with pytest.raises(InvalidInputError, match="not candidates"):
        corpus.build_manifest([c], {}, same_subject=[("lxqt-themes/a.png", "lxqt-themes/nope.png")])
    with pytest.raises(InvalidInputError, match="share the ids"):
        corpus.build_manifest([c, c], {}, same_subject=[])


# ---------------------------------------------------------------- the split the trainers read


def _mini_corpus(tmp_path: Path) -> Path:
    """A repository folder with a two-package manifest and its photos; returns the manifest's path."""
    recs = []
    for pkg, name, split, source, q, rotate in (
            ("lxqt-themes", "a.png", "train", "astronaut.png", "clean", 0),
            ("kphotoalbum", "b.jpg", "heldout", "coffee.png", "lossy", 90),
            ("kphotoalbum", "c.png", "train", "camera.png", "small", 0),
            ("enlightenment-data", "d.jpg", "train", "rocket.jpg", "clean", 0)):
        blob = (SK / source).read_bytes()
        f = photo_facts(blob)
        path = tmp_path / "data/corpus" / pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        recs.append({"id": f"{pkg}/{name}", "package": pkg, "file": f"data/corpus/{pkg}/{name}",
                     "sha256": hashlib.sha256(blob).hexdigest(), "licence": "CC0-1.0", "width": f.width,
                     "height": f.height, "quality_class": q, "colourfulness": f.colourfulness, "group": name,
                     "split": split, "rotate": rotate})
    manifest = tmp_path / "photo-corpus.json"
    manifest.write_text(json.dumps({"photos": recs, "dropped": []}))
    return manifest


def test_corpus_split_by_use(tmp_path):
    manifest = _mini_corpus(tmp_path)
    color = corpus.corpus_split("color", manifest, tmp_path)
    assert [p.id for p in color.train] == ["lxqt-themes/a.png", "enlightenment-data/d.jpg"]  # camera is gray
    assert [p.id for p in color.heldout] == ["kphotoalbum/b.jpg"]
    restore = corpus.corpus_split("restore", manifest, tmp_path)
    assert {p.id: p.restore_scale for p in restore.train} == {"lxqt-themes/a.png": 1.0, "kphotoalbum/c.png": 0.5,
                                                              "enlightenment-data/d.jpg": 1.0}
    clean = corpus.corpus_split("clean", manifest, tmp_path)
    assert [p.id for p in clean.train] == ["lxqt-themes/a.png", "enlightenment-data/d.jpg"] and not clean.heldout
    assert clean.paths().train == (tmp_path / "data/corpus/lxqt-themes/a.png",
                                   tmp_path / "data/corpus/enlightenment-data/d.jpg")


def test_open_photo_turns_upright_and_halves_lossy_restoration_targets(tmp_path):
    split = corpus.corpus_split("restore", _mini_corpus(tmp_path), tmp_path)
    coffee = split.heldout[0]  # 600 × 400, rotated 90° clockwise, lossy
    assert corpus.open_photo(coffee, "color").size == (400, 600)
    assert corpus.open_photo(coffee, "restore").size == (200, 300)
    astronaut = split.train[0]
    assert corpus.open_photo(astronaut, "restore").size == (512, 512)


def test_corpus_split_needs_the_fetched_photos(tmp_path):
    manifest = _mini_corpus(tmp_path)
    (tmp_path / "data/corpus/kphotoalbum/b.jpg").write_bytes(b"altered")
    with pytest.raises(MissingDataError, match="make photos"):
        corpus.corpus_split("color", manifest, tmp_path)
    with pytest.raises(MissingDataError, match="make photos"):
        corpus.corpus_split("color", corpus.MANIFEST_PATH, tmp_path)  # nothing fetched under tmp_path
    with pytest.raises(InvalidInputError):
        corpus.corpus_split("sharpen", manifest, tmp_path)


def test_an_absent_optional_package_is_left_out(tmp_path):
    manifest = _mini_corpus(tmp_path)
    (tmp_path / "data/corpus/enlightenment-data/d.jpg").unlink()
    split = corpus.corpus_split("clean", manifest, tmp_path)
    assert [p.id for p in split.train] == ["lxqt-themes/a.png"]


def test_the_real_corpus_split():
    if not fetched():
        pytest.skip("the corpus photos are not fetched here (`make photos`), so corpus_split() cannot list them")
    color = corpus.corpus_split("color")
    assert len(color.train) > 300 and len(color.heldout) > 40
    assert not {p.group for p in color.train} & {p.group for p in color.heldout}
    clean = corpus.corpus_split("clean")
    assert all(p.restore_scale == 1.0 for p in clean.train + clean.heldout)
    assert set(data.split().heldout) <= {p.path for p in corpus.corpus_split("restore").heldout}


def test_cli_refuses_to_leave_out_a_required_package():
    with pytest.raises(InvalidInputError, match="optional"):
        corpus.main(None, False, True, ["gcompris-qt-data"])


def test_restore_clean_pool_halves_upright_photos_and_leaves_out_small_ones(tmp_path):
    import torch

    from enhancers.training.restore import clean_pool

    Image.new("RGB", (300, 200), (10, 20, 30)).save(tmp_path / "big.png")
    Image.new("RGB", (100, 80), (200, 0, 0)).save(tmp_path / "small.png")
    big = corpus.CorpusPhoto(tmp_path / "big.png", "pkg/big.png", "pkg", "MIT", 300, 200, "clean", 50.0, "g-0",
                             rotate=90)
    small = corpus.CorpusPhoto(tmp_path / "small.png", "pkg/small.png", "pkg", "MIT", 100, 80, "small", 50.0, "g-1")
    pool = clean_pool([big, small], min_side=60)
    assert len(pool) == 1  # the small photo halves to 50×40, under 60 px
    assert pool[0].dtype == torch.uint8 and tuple(pool[0].shape) == (3, 150, 100)  # turned upright, then halved
    assert pool[0][:, 75, 50].tolist() == [10, 20, 30]
