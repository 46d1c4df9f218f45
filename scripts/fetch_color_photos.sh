#!/usr/bin/env bash
# Extra real colour photos for colorization training, from Debian's lomiri-wallpapers-20.04
# (the package's other files are drawings). Never evaluated on. Copyright file copied alongside.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/data/extra-photos"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
if [ -n "$(ls "$dest"/*.jpg 2>/dev/null | head -1)" ]; then
  echo "extra photos already in $dest"; exit 0
fi
cd "$work"
if ! apt-get download lomiri-wallpapers-20.04 >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  apt-get download lomiri-wallpapers-20.04
fi
dpkg -x lomiri-wallpapers-20.04_*.deb extracted
cp extracted/usr/share/doc/lomiri-wallpapers-20.04/copyright "$dest/lomiri-wallpapers-20.04.copyright"
for f in Kleiber_by_Lukas_Baubkus.jpg Infinite-Sea_by_Aury88.jpg; do
  cp "extracted/usr/share/backgrounds/$f" "$dest/lomiri2004-$f"
done
echo "fetched 2 photos into $dest"
