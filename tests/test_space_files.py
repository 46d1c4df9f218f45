"""The files a Hugging Face Space reads, checked without the Hub: README.md's front matter against requirements.txt and
the registry, .gitattributes against every binary file of the repository, and the links of README.md and docs/."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
from pathlib import Path

import pytest

from enhancers.registry import REGISTRY
from enhancers.specs import HubWeights

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
HUB_MAX_PLAIN_BYTES = 10 * 1024 * 1024  # the Hub refuses larger files pushed without LFS/Xet
SPACE_COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
MAX_README_LINES = 150


def front_matter() -> dict:
    """README.md's YAML front matter, parsed as the Hub does (huggingface_hub's card loader)."""
    from huggingface_hub import SpaceCard

    return SpaceCard.load(README).data.to_dict()


def pinned(name: str) -> str:
    """The version ``name`` is pinned to (``name==X``) in requirements.txt."""
    text = (ROOT / "requirements.txt").read_text()
    found = re.findall(rf"^{re.escape(name)}==([^\s#;]+)", text, flags=re.MULTILINE | re.IGNORECASE)
    assert len(found) == 1, f"{name} must be pinned exactly once (name==version) in requirements.txt"
    return found[0]


def registry_model_repos() -> list[str]:
    """Model repositories (not Spaces) the registry can download weights from, sorted."""
    return sorted({f.repo_id for spec in REGISTRY.values() for f in spec.weights_files
                   if isinstance(f, HubWeights) and f.repo_type == "model"})


# --- Front matter -------------------------------------------------------------------------------------------------


def test_front_matter_is_a_gradio_space_on_python_3_11() -> None:
    meta = front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and (ROOT / meta["app_file"]).is_file()
    assert meta["python_version"] == "3.11", "a string: unquoted, YAML would read 3.11 as a float"
    assert re.search(r'^python_version: "3\.11"$', README.read_text(), flags=re.MULTILINE)
    assert meta["colorFrom"] in SPACE_COLORS and meta["colorTo"] in SPACE_COLORS
    assert meta["title"] and len(meta["short_description"]) <= 60
    assert meta["license"] == "mit"


def test_sdk_version_is_the_pinned_gradio() -> None:
    version = pinned("gradio")
    assert front_matter()["sdk_version"] == version
    assert importlib.metadata.version("gradio") == version, "pin the Gradio that the tests run with"


def test_models_list_the_registrys_hub_repos() -> None:
    models = front_matter()["models"]
    assert models == registry_model_repos(), "update README.md's models: from enhancers.registry.REGISTRY"
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+", m) for m in models)


def test_readme_is_a_short_front_page() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines: move details into docs/"
    for section in ("make run", "make test", "hf upload", "docs/space.md", "docs/cli.md", "docs/enhance-tab.png"):
        assert section in README.read_text(), section


# --- Binary files -------------------------------------------------------------------------------------------------


def repository_files() -> list[str]:
    """Every file git would commit: tracked ones and untracked ones that are not ignored (paths relative to the root,
    existing on disk)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return sorted({p for p in out.split("\0") if p and (ROOT / p).is_file()})


def lfs_tracked(paths: list[str]) -> set[str]:
    """The paths whose ``filter`` attribute is ``lfs`` (.gitattributes, read by git itself; git-lfs not needed)."""
    out = subprocess.run(["git", "check-attr", "-z", "--stdin", "filter"], cwd=ROOT, input="\0".join(paths).encode(),
                         capture_output=True, check=True).stdout.decode().split("\0")
    return {out[i] for i in range(0, len(out) - 2, 3) if out[i + 2] == "lfs"}


def is_binary(path: Path) -> bool:
    """Git's own test: a NUL byte in the first 8000 bytes."""
    with path.open("rb") as f:
        return b"\0" in f.read(8000)


def test_gitattributes_sends_the_binary_types_through_lfs() -> None:
    text = (ROOT / ".gitattributes").read_text()
    for pattern in ("*.safetensors", "*.png", "*.jpg", "*.npz"):
        assert f"{pattern} filter=lfs diff=lfs merge=lfs -text" in text, pattern


def test_no_file_would_be_refused_by_the_hub() -> None:
    files = repository_files()
    assert "app.py" in files and "weights/mtcnn.safetensors" in files
    tracked = lfs_tracked(files)
    binary_outside = [p for p in files if p not in tracked and is_binary(ROOT / p)]
    large_outside = [p for p in files if p not in tracked and (ROOT / p).stat().st_size > HUB_MAX_PLAIN_BYTES]
    assert binary_outside == [], f"binary files outside the LFS patterns of .gitattributes: {binary_outside}"
    assert large_outside == [], f"files over 10 MB outside the LFS patterns: {large_outside}"
    assert "weights/color-unet.safetensors" in tracked and "docs/enhance-tab.png" in tracked


def test_text_files_stay_out_of_lfs() -> None:
    tracked = lfs_tracked(repository_files())
    assert not [p for p in tracked if p.endswith((".py", ".md", ".json", ".txt", ".toml"))]


# --- Links ----------------------------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code spans (links there are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file: lower case, punctuation dropped, spaces to hyphens, repeats
    numbered."""
    seen: dict[str, int] = {}
    out = set()
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_docs_exist_one_per_topic() -> None:
    names = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"sr.md", "enhance.md", "denoise.md", "dejpeg.md", "latent.md", "colorize.md", "style.md", "models.md",
            "cli.md", "benchmarks.md", "reliability.md", "training.md", "space.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(path: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(path.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert broken == [], f"{path.relative_to(ROOT)}: {broken}"
