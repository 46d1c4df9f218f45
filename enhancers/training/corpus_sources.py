"""Where the training photos come from: the Debian packages and the files chosen in each, their licences and
credits, and photos of one subject that must share a side of the split.

Each package is read as ``dpkg -x`` unpacks it. The choices were made by looking at contact sheets: drawings,
renders, paintings and puzzle pieces are left out (see :data:`GCOMPRIS_ACTIVITIES`, :data:`LXQT_PHOTOS`,
:data:`ENLIGHTENMENT_PHOTOS` and the selectors). A photo's licence comes from its own credits entry where the
package has one (GCompris' ``README`` files, the DEP-5 copyright files of the earlier sources), else from the
package's Debian copyright file (:data:`PACKAGE_LICENCES`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from ..errors import ArchiveReadError, InvalidInputError, MissingDataError
from . import data
from .eet import list_eet
from .qt_rcc import iter_rcc

NEW_PACKAGES = ("gcompris-qt-data", "kphotoalbum", "kalzium-data", "tuxpaint-data", "gnome-control-center-data",
                "dde-account-faces", "lxqt-themes", "enlightenment-data")
LEGACY_PACKAGES = ("mate-backgrounds", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04")
SKIMAGE = "scikit-image"
ALLOWED_SOURCES = NEW_PACKAGES + LEGACY_PACKAGES + (SKIMAGE,)
OPTIONAL_PACKAGES = ("enlightenment-data",)  # a 400 MB .deb: CORPUS_4K=0 make photos leaves it out
SKIMAGE_PREFIX = "scikit-image:"
LOMIRI_2004_PHOTOS = ("Kleiber_by_Lukas_Baubkus.jpg", "Infinite-Sea_by_Aury88.jpg")
SKIMAGE_COLOR_EXTRA = ("motorcycle_right.png",)  # colorize.SKIMAGE_EXTRA_TRAIN: a training photo
SKIMAGE_LICENCES = {
    "astronaut.png": "public-domain (NASA)", "coffee.png": "CC0-1.0 (Rachel Michetti)",
    "chelsea.png": "CC0-1.0 (Stefan van der Walt)", "rocket.jpg": "public-domain (SpaceX)",
    "hubble_deep_field.jpg": "public-domain (NASA)", "ihc.png": "no known copyright restrictions",
    "motorcycle_left.png": "BSD-3-Clause (scikit-image data; Middlebury 2014 stereo)",
    "motorcycle_right.png": "BSD-3-Clause (scikit-image data; Middlebury 2014 stereo)",
    "retina.jpg": "CC0-1.0", "camera.png": "CC0-1.0 (Lav Varshney)", "brick.png": "CC0-1.0 (CC0Textures)",
    "grass.png": "CC0-1.0 (CC0Textures)", "gravel.png": "CC0-1.0 (CC0Textures)",
    "moon.png": "BSD-3-Clause (scikit-image data)", "horse.png": "CC0-1.0 (Andreas Preuss)",
}

# GCompris: photographs inside the activities' Qt resource bundles, as fnmatch patterns relative to
# gcompris/src/activities/<activity>/. Left out after looking at contact sheets: the letter and number drawings
# of categorization, the fish sprites of clickgame, the 74-pixel puzzle pieces and the eight Van Gogh paintings
# of details, louis-braille's painted portrait, drawn chart and drawing, and leftright's hands (cut out onto
# black with colour fringes left from their old mask: not a natural photo).
GCOMPRIS_ACTIVITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "categorization": (("resource/images/fishes/*.webp", "resource/images/monuments/*.webp",
                        "resource/images/others/*.webp", "resource/images/renewable/*.webp",
                        "resource/images/tools/*.webp"), ()),
    "clickgame": (("resource/sea*.webp",), ()),
    "details": (("resource/image/*_background.webp",),
                ("*/Eglise_dAuvers-sur-Oise_*", "*/Gogh4_*", "*/PortraitOfPereTanguy_*", "*/Van_Gogh_*",
                 "*/VincentVanGogh*")),
    "erase": (("resource/*.webp",), ()),
    "explore_farm_animals": (("resource/animals/*.webp",), ()),
    "explore_monuments": (("resource/*/*.webp",), ()),
    "explore_world_animals": (("resource/animals/*.webp",), ()),
    "explore_world_music": (("resource/music/*.webp",), ()),
    "louis-braille": (tuple(f"resource/{n}.webp" for n in ("braille", "braille_ball", "fireplace", "rnib",
                                                            "statue", "teach", "workshop")), ()),
}
# Misspelt names in GCompris' README files: the photo's path -> the name its credits paragraph gives.
GCOMPRIS_CREDIT_NAMES = {
    "categorization/resource/images/tools/screwDriver.webp": "screDriver.webp",
    "explore_monuments/resource/germany/aulaPalatina.webp": "germany/audaPalatina.webp",
}
# lxqt-themes' photographs (the rest are drawn: origami, triangles, waves, logos).
LXQT_PHOTOS = ("Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png", "beam.png",
               "butterfly.png", "cloud.png", "drop.png", "flowers.png", "fog.jpg", "this-is-not-windows.jpg")
# Enlightenment's photographic backgrounds (the others are flat artwork: Dunes, Flat-*, Paper-Flower,
# Squiggle*, Sunset-Hills); each .edj holds the photo at several sizes, the largest is taken.
ENLIGHTENMENT_PHOTOS = ("Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Peaks",
                        "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles", "Sunset-Clouds",
                        "White-Flower", "Yellow-Flower")
# Photos of one subject too different for the hash to pair (other shots of one monument, found on the contact
# sheets): kept on one side of the split. Ids as in the manifest. KPhotoAlbum's photos of one event
# (bar55, bar55_2) are paired by name in subject_groups.
_GC = "gcompris-qt-data/"
SAME_SUBJECT: tuple[tuple[str, ...], ...] = tuple(tuple(_GC + n + ".webp" for n in names) for names in (
    ("categorization__images__monuments__eiffelTower", "explore_monuments__france__eiffelTower",
     "details__image__TourEiffel_background"),
    ("categorization__images__monuments__tajMahal", "explore_monuments__wonders__tajMahal",
     "details__image__TajMahal_background"),
    ("categorization__images__monuments__statueOfLiberty", "explore_monuments__usa__statueofLiberty"),
    ("categorization__images__monuments__christTheRedeemer", "explore_monuments__wonders__christTheRedeemer"),
    ("categorization__images__monuments__greatWall", "explore_monuments__wonders__greatWallofChina"),
    ("categorization__images__monuments__mountRushmore", "explore_monuments__usa__mountRushmore"),
    ("categorization__images__monuments__kutubMinar", "explore_monuments__india__qutubMinar"),
    ("categorization__images__monuments__operaHouse", "details__image__OperaSidney_background"),
    ("categorization__images__monuments__leMusee", "details__image__Louvre_2007_02_24_c_background"),
    ("details__image__Chenonceau_background", "explore_monuments__france__chateaudeChenonceau"),
    ("details__image__Neuschwanstein_background", "explore_monuments__germany__neuschwansteinCastle"),
    ("details__image__GizahPyramids_background", "explore_monuments__egypt__greatPyramidOfGiza"),
))
# Licences of packages whose Debian copyright file has no per-file entry for the photos.
PACKAGE_LICENCES = {
    "kphotoalbum": "GPL-2+", "kalzium-data": "GPL-2.0-or-later", "tuxpaint-data": "GPL-2+",
    "gnome-control-center-data": "GPL-2+ / GPL-3+ / LGPL-2+ / LGPL-2.1+ / CC0-1.0 (Debian copyright, Files: *)",
    "dde-account-faces": "GPL-3.0-or-later (Unsplash photos)", "lxqt-themes": "CC-BY-SA-3.0",
    "enlightenment-data": "BSD-2-Clause",
}


@dataclass(frozen=True)
class Candidate:
    """One photo file found in a source: its package, path inside the package (``bundle:inner/path`` for a file
    inside a Qt resource bundle or an Eet file), where it is installed (repository-relative ``file``), its bytes,
    licence and credit line."""

    package: str
    path: str
    file: str
    data: bytes
    licence: str
    credit: str = ""
    rotate: int = 0  # degrees clockwise that show the photo upright (KPhotoAlbum's index.xml "angle")

    @property
    def id(self) -> str:
        return f"{self.package}/{PurePosixPath(self.file.removeprefix(SKIMAGE_PREFIX)).name}"


# ---------------------------------------------------------------- credits (DEP-5 and GCompris README files)

_FIELD = re.compile(r"^([A-Za-z][A-Za-z-]*):\s*(.*)$")
_BARE_FILE = re.compile(r"^[^\s:]+\.[A-Za-z0-9]{2,5}$")
_KNOWN_FIELDS = ("files", "license", "copyright", "source", "comment", "comments", "format", "upstream-name",
                 "upstream-contact", "disclaimer")


def parse_credits(text: str) -> list[dict[str, str]]:
    """Paragraphs of a Debian machine-readable copyright file or a GCompris ``README`` credits file, as
    ``{field: value}`` with field names lower-cased. Paragraphs are separated by blank lines; a line that does
    not start a ``Field:`` continues the previous field, except that an unindented bare file name
    (``alpaca.webp``) always joins ``files`` (some GCompris paragraphs list their files with no ``Files:``)."""
    out: list[dict[str, str]] = []
    para: dict[str, str] = {}
    key = ""
    for line in text.splitlines() + [""]:
        if not line.strip():
            if para:
                out.append(para)
            para, key = {}, ""
            continue
        indented = line[0].isspace()
        m = None if indented else _FIELD.match(line)
        if m and m.group(1).lower() in _KNOWN_FIELDS:
            key = m.group(1).lower()
            para[key] = m.group(2).strip()
        elif not indented and _BARE_FILE.match(line.strip()) and key != "files":
            key = "files"
            para[key] = (para.get(key, "") + "\n" + line.strip()).strip()
        elif key:
            para[key] = (para[key] + "\n" + line.strip()).strip()
    return out


def normalise_licence(name: str) -> str:
    """A licence name with the spaces GCompris puts before version numbers turned into hyphens
    (``CC-BY-SA 4.0`` → ``CC-BY-SA-4.0``) and ``Public domain`` spelled ``public-domain``."""
    name = " ".join(name.split())
    if name.lower() in ("public domain", "public-domain"):
        return "public-domain"
    return re.sub(r"\s+(?=v?\d)", "-", name)


def credits_for(paragraphs: list[dict[str, str]], relpath: str) -> tuple[str, str] | None:
    """``(licence, credit)`` of the last paragraph whose ``Files`` lists ``relpath`` (a path relative to the
    credits file, or its file name; fnmatch patterns allowed), or ``None``. Credit: ``Copyright``, ``Source``
    and ``Comment`` when given, on one line."""
    name = PurePosixPath(relpath).name
    found = None
    for p in paragraphs:
        if "files" not in p or "license" not in p:
            continue
        for pattern in p["files"].replace(",", " ").split():
            if pattern in ("*",):
                continue
            if fnmatch.fnmatchcase(relpath, pattern) or pattern == name or pattern.endswith("/" + name):
                found = p
    if found is None:
        return None
    credit = "; ".join(" ".join(found[k].split()) for k in ("copyright", "source", "comment", "comments")
                       if found.get(k))
    return normalise_licence(found["license"].splitlines()[0]), credit


# ---------------------------------------------------------------- sources


def _safe(name: str) -> str:
    """A file name safe on any file system: ``/`` becomes ``__``, anything but letters, digits, ``._-`` ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("/", "__"))


def _corpus_file(package: str, name: str) -> str:
    return f"data/corpus/{package}/{_safe(name)}"


def gcompris_candidates(root: Path) -> Iterator[Candidate]:
    """The photographs in ``gcompris-qt-data`` unpacked at ``root``, with the licence and credit of each from
    the ``README`` credits file nearest to it in its bundle. Raises ArchiveReadError on a malformed bundle and
    MissingDataError when a bundle is missing or a chosen photo has no credits entry."""
    for activity, (include, exclude) in GCOMPRIS_ACTIVITIES.items():
        bundle = f"usr/share/gcompris-qt/rcc/{activity}.rcc"
        if not (root / bundle).is_file():
            raise MissingDataError(f"gcompris-qt-data has no {bundle}")
        base = f"gcompris/src/activities/{activity}/"
        files = {p: b for p, b in iter_rcc(root / bundle) if p.startswith(base)}
        readmes = {str(PurePosixPath(p).parent): parse_credits(b.decode("utf-8", errors="replace"))
                   for p, b in files.items() if PurePosixPath(p).name.lower() == "readme"}
        for inner in sorted(files):
            rel = inner[len(base):]
            if not any(fnmatch.fnmatchcase(rel, pat) for pat in include):
                continue
            if any(fnmatch.fnmatchcase(rel, pat) for pat in exclude):
                continue
            lic = None
            folder = PurePosixPath(inner).parent
            while lic is None and str(folder).startswith(base.rstrip("/")):
                if str(folder) in readmes:
                    here = str(PurePosixPath(inner).relative_to(folder))
                    listed = GCOMPRIS_CREDIT_NAMES.get(f"{activity}/{rel}", here)
                    lic = credits_for(readmes[str(folder)], listed)
                folder = folder.parent
            if lic is None:
                raise MissingDataError(f"gcompris-qt-data: no licence for {inner} in its README files")
            yield Candidate("gcompris-qt-data", f"{bundle}:{inner}",
                            _corpus_file("gcompris-qt-data", f"{activity}/{rel.removeprefix('resource/')}"),
                            files[inner], lic[0], lic[1])


def _files(root: Path, folder: str, names: Iterable[str] | None = None, suffixes: tuple[str, ...] = (".jpg",)
           ) -> list[Path]:
    d = root / folder
    if not d.is_dir():
        raise MissingDataError(f"{root.name}: no folder {folder}")
    if names is not None:
        paths = [d / n for n in names]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise MissingDataError(f"{root.name}: {folder} lacks {', '.join(missing)}")
        return paths
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _plain(package: str, root: Path, paths: Iterable[Path], licence: str | None = None) -> Iterator[Candidate]:
    for p in paths:
        rel = str(p.relative_to(root))
        yield Candidate(package, rel, _corpus_file(package, p.name), p.read_bytes(),
                        licence or PACKAGE_LICENCES[package])


def kphotoalbum_candidates(root: Path) -> Iterator[Candidate]:
    """KPhotoAlbum's demo photos, each with the rotation its demo database (``index.xml``) gives it."""
    import xml.etree.ElementTree as ET

    folder = "usr/share/kphotoalbum/demo"
    angles: dict[str, int] = {}
    try:
        for el in ET.parse(root / folder / "index.xml").iter("image"):
            angles[el.get("file", "")] = int(el.get("angle", "0") or 0) % 360
    except (OSError, ET.ParseError, ValueError) as err:
        raise MissingDataError(f"kphotoalbum: cannot read {folder}/index.xml: {err}") from err
    for c in _plain("kphotoalbum", root, _files(root, folder)):
        yield Candidate(c.package, c.path, c.file, c.data, c.licence, c.credit, angles.get(Path(c.path).name, 0))


def tuxpaint_candidates(root: Path) -> Iterator[Candidate]:
    """Tux Paint's photo templates, and the two photographic starter backgrounds (NOAA, public domain, per
    the ``.txt`` file beside each)."""
    yield from _plain("tuxpaint-data", root, _files(root, "usr/share/tuxpaint/templates"))
    starters = "usr/share/tuxpaint/starters"
    for name, txt in (("reef-back.png", "reef.txt"), ("skyline-sf-dusk-back.jpeg", "skyline-sf-dusk.txt")):
        (p,) = _files(root, starters, [name])
        note = (root / starters / txt).read_text(errors="replace") if (root / starters / txt).is_file() else ""
        credit = "; ".join(line.lstrip("# ").strip() for line in note.splitlines()[1:] if line.strip())
        yield Candidate("tuxpaint-data", str(p.relative_to(root)), _corpus_file("tuxpaint-data", name),
                        p.read_bytes(), "public-domain (NOAA)", credit)


def gnome_faces_candidates(root: Path) -> Iterator[Candidate]:
    """The 512 × 512 user pictures of ``gnome-control-center-data`` (the 96-pixel ones are old thumbnails)."""
    for p in _files(root, "usr/share/pixmaps/faces"):
        with Image.open(p) as im:
            if min(im.size) >= 512:
                yield from _plain("gnome-control-center-data", root, [p])


def dde_faces_candidates(root: Path) -> Iterator[Candidate]:
    """Deepin's numbered user pictures, all photographs but ``9.png`` (a rendered interior)."""
    names = [f"{i}.png" for i in range(1, 15) if i != 9]
    yield from _plain("dde-account-faces", root, _files(root, "var/lib/AccountsService/icons/bigger", names))


def enlightenment_candidates(root: Path) -> Iterator[Candidate]:
    """The largest JPEG stored in each photographic Enlightenment background (``.edj``, an Eet file)."""
    folder = "usr/share/enlightenment/data/backgrounds"
    for stem in ENLIGHTENMENT_PHOTOS:
        (p,) = _files(root, folder, [f"{stem}.edj"])
        buf = p.read_bytes()
        jpegs = [e for e in list_eet(buf) if e.name.startswith("edje/images/") and e.compression == "none"
                 and not e.ciphered and buf[e.offset:e.offset + 2] == b"\xff\xd8"]
        if not jpegs:
            raise ArchiveReadError(f"{p.name}: no stored JPEG image")
        best = max(jpegs, key=lambda e: (e.size, e.name))
        yield Candidate("enlightenment-data", f"{folder}/{p.name}:{best.name}",
                        _corpus_file("enlightenment-data", f"{stem}.jpg"), buf[best.offset:best.offset + best.size],
                        PACKAGE_LICENCES["enlightenment-data"])


def _dep5(root: Path, package: str) -> list[dict[str, str]]:
    p = root / "usr/share/doc" / package / "copyright"
    return parse_credits(p.read_text(errors="replace")) if p.is_file() else []


def _legacy(package: str, root: Path, paths: Iterable[Path], file_of: Callable[[Path], str]) -> Iterator[Candidate]:
    paras = _dep5(root, package)
    for p in paths:
        lic = credits_for(paras, p.name)
        if lic is None:
            raise MissingDataError(f"{package}: no licence for {p.name} in its Debian copyright file")
        yield Candidate(package, str(p.relative_to(root)), file_of(p), p.read_bytes(), lic[0], lic[1])


def legacy_candidates(package: str, root: Path) -> Iterator[Candidate]:
    """The earlier corpus's photos of ``package`` where :mod:`enhancers.training.data` and ``colorize`` read them:
    ``data/photos/mate-*``, ``data/photos/lomiri-*`` and ``data/extra-photos/lomiri2004-*``."""
    if package == "mate-backgrounds":
        paths = _files(root, "usr/share/backgrounds/mate/nature", suffixes=data.PHOTO_SUFFIXES)
        yield from _legacy(package, root, paths, lambda p: f"data/photos/mate-{p.name}")
    elif package == "lomiri-wallpapers-16.04":
        paths = _files(root, "usr/share/backgrounds", suffixes=data.PHOTO_SUFFIXES)
        yield from _legacy(package, root, paths, lambda p: f"data/photos/lomiri-{p.name}")
    elif package == "lomiri-wallpapers-20.04":
        paths = _files(root, "usr/share/backgrounds", LOMIRI_2004_PHOTOS)
        yield from _legacy(package, root, paths, lambda p: f"data/extra-photos/lomiri2004-{p.name}")
    else:
        raise InvalidInputError(f"{package} is not one of the earlier sources {LEGACY_PACKAGES}")


def skimage_candidates() -> Iterator[Candidate]:
    """scikit-image's bundled photographs that the earlier split and colorization use."""
    sk = data.skimage_dir()
    for name in data.SKIMAGE_TRAIN + data.SKIMAGE_EVAL + SKIMAGE_COLOR_EXTRA:
        yield Candidate(SKIMAGE, f"skimage/data/{name}", SKIMAGE_PREFIX + name, (sk / name).read_bytes(),
                        SKIMAGE_LICENCES[name])


SELECTORS: dict[str, Callable[[Path], Iterator[Candidate]]] = {
    "gcompris-qt-data": gcompris_candidates,
    "kphotoalbum": kphotoalbum_candidates,
    "kalzium-data": lambda r: _plain("kalzium-data", r, _files(r, "usr/share/kalzium/data/toolpics")),
    "tuxpaint-data": tuxpaint_candidates,
    "gnome-control-center-data": gnome_faces_candidates,
    "dde-account-faces": dde_faces_candidates,
    "lxqt-themes": lambda r: _plain("lxqt-themes", r, _files(r, "usr/share/lxqt/wallpapers", LXQT_PHOTOS)),
    "enlightenment-data": enlightenment_candidates,
    **{pkg: (lambda r, pkg=pkg: legacy_candidates(pkg, r)) for pkg in LEGACY_PACKAGES},
}


def candidates(extracted: Path, packages: Iterable[str]) -> Iterator[Candidate]:
    """Every candidate photo of ``packages``, each unpacked (``dpkg -x``) at ``extracted/<package>``; the
    scikit-image photos when :data:`SKIMAGE` is among them. Raises MissingDataError for a package not unpacked."""
    for pkg in packages:
        if pkg == SKIMAGE:
            yield from skimage_candidates()
            continue
        if pkg not in SELECTORS:
            raise InvalidInputError(f"{pkg} is not a corpus source; the sources are {ALLOWED_SOURCES}")
        root = extracted / pkg
        if not root.is_dir():
            raise MissingDataError(f"{pkg} is not unpacked at {root}: run scripts/fetch_photos.sh")
        yield from SELECTORS[pkg](root)
