#!/usr/bin/env bash
# Fetches the training/evaluation photo corpus from Debian packages into data/photos/.
# Sources: mate-backgrounds (nature folder) and lomiri-wallpapers-16.04.
# Licenses are copied next to the photos (data/photos/<pkg>.copyright).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/data/photos"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
if [ -n "$(ls "$dest"/*.jpg "$dest"/*.png 2>/dev/null | head -1)" ]; then
  echo "photos already in $dest"; exit 0
fi
cd "$work"
if ! apt-get download mate-backgrounds lomiri-wallpapers-16.04 >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  apt-get download mate-backgrounds lomiri-wallpapers-16.04
fi
for deb in *.deb; do dpkg -x "$deb" extracted; done
for pkg in mate-backgrounds lomiri-wallpapers-16.04; do
  cp "extracted/usr/share/doc/$pkg/copyright" "$dest/$pkg.copyright"
done
n=0
# mate: the nature folder only (the others are drawings); lomiri: the photos at the top level.
for f in extracted/usr/share/backgrounds/mate/nature/* extracted/usr/share/backgrounds/*; do
  [ -f "$f" ] || continue
  case "$f" in *.jpg|*.jpeg|*.png|*.JPG) ;; *) continue ;; esac
  pkg=lomiri; case "$f" in */mate/nature/*) pkg=mate ;; esac
  cp "$f" "$dest/${pkg}-$(basename "$f")"; n=$((n+1))
done
echo "fetched $n photos into $dest"
