#!/usr/bin/env bash
# Fetches the training photo corpus listed in scripts/photo-corpus.json from Debian packages.
#
# Sources (enhancers/training/corpus.py says which files of each): the earlier corpus, mate-backgrounds (nature
# folder) and lomiri-wallpapers-16.04 into data/photos/ and two lomiri-wallpapers-20.04 photos into
# data/extra-photos/, where the training code has always read them; and gcompris-qt-data, kphotoalbum,
# kalzium-data, tuxpaint-data, gnome-control-center-data, dde-account-faces, lxqt-themes and enlightenment-data
# into data/corpus/<package>/. Each package's Debian copyright file is copied next to its photos
# (data/corpus/<package>/copyright; data/photos/<package>.copyright as before).
#
# Needs only `apt-get download` and `dpkg -x`; photos are copied byte for byte and checked against the manifest's
# sha256, so every machine gets the same files. Idempotent: when every photo is in place it downloads nothing.
#
# enlightenment-data (a 400 MB .deb; 14 clean 4K photos, the best restoration targets) is fetched by default;
# CORPUS_4K=0 leaves it out, and the training code then does without it.
# REBUILD=1 chooses the photos afresh and rewrites scripts/photo-corpus.json (needs data/check-photos, from
# scripts/fetch_color_photos.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3
cd "$root"

legacy=(mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04)
new=(gcompris-qt-data kphotoalbum kalzium-data tuxpaint-data gnome-control-center-data dde-account-faces lxqt-themes)
without=()
if [ "${CORPUS_4K:-1}" = "0" ]; then
  without=(--without enlightenment-data)
else
  new+=(enlightenment-data)
fi

if [ "${REBUILD:-0}" != "1" ] && "$python" -m enhancers.training corpus --check "${without[@]}" >/dev/null; then
  echo "corpus photos already in place (scripts/photo-corpus.json)"; exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pkgs=("${legacy[@]}" "${new[@]}")
(
  cd "$work"
  if ! apt-get download "${pkgs[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get download "${pkgs[@]}"
  fi
)
mkdir -p "$work/extracted"
for pkg in "${pkgs[@]}"; do
  deb="$(ls "$work/${pkg}"_*.deb)"
  dpkg -x "$deb" "$work/extracted/$pkg"
  copyright="$work/extracted/$pkg/usr/share/doc/$pkg/copyright"
  case "$pkg" in
    mate-backgrounds|lomiri-wallpapers-16.04) mkdir -p data/photos; cp "$copyright" "data/photos/$pkg.copyright" ;;
    lomiri-wallpapers-20.04) mkdir -p data/extra-photos; cp "$copyright" "data/extra-photos/$pkg.copyright" ;;
    *) mkdir -p "data/corpus/$pkg"; cp "$copyright" "data/corpus/$pkg/copyright" ;;
  esac
done
args=(--extracted "$work/extracted" "${without[@]}")
[ "${REBUILD:-0}" = "1" ] && args+=(--rebuild)
"$python" -m enhancers.training corpus "${args[@]}"
