#!/usr/bin/env bash
# Extra real colour photos for colorization training, from Debian's lomiri-wallpapers-20.04
# (the package's other files are drawings). Never evaluated on. Copyright file copied alongside.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/data/extra-photos"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
cd "$work"
if [ -n "$(ls "$dest"/*.jpg 2>/dev/null | head -1)" ]; then
  echo "extra photos already in $dest"
else
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
fi

# Independent check photos for colorization (never trained on, never used to choose anything):
# the photographs among KDE Plasma's wallpapers (Debian plasma-workspace-wallpapers, LGPL-3 /
# CC-BY-SA per its copyright file), largest size of each.
check="$root/data/check-photos"
mkdir -p "$check"
if [ -n "$(ls "$check"/*.jpg 2>/dev/null | head -1)" ]; then
  echo "check photos already in $check"
else
  if ! apt-get download plasma-workspace-wallpapers >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get download plasma-workspace-wallpapers
  fi
  dpkg -x plasma-workspace-wallpapers_*.deb plasma
  cp plasma/usr/share/doc/plasma-workspace-wallpapers/copyright "$check/plasma-workspace-wallpapers.copyright"
  for n in BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path \
           summer_1am Volna; do
    f="$(ls "plasma/usr/share/wallpapers/$n/contents/images/" | sort -t x -k1 -n | tail -1)"
    cp "plasma/usr/share/wallpapers/$n/contents/images/$f" "$check/plasma-$n.${f##*.}"
  done
  echo "fetched 12 check photos into $check"
fi
