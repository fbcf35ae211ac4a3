#!/bin/sh
# Regenerates every PNG in this folder (and ui/favicon.png) from one vector description.
# Needs ImageMagick 6 (`apt-get install -y imagemagick`); all outputs are RGBA (PNG32), as Tauri requires.
set -eu
cd "$(dirname "$0")"
MARK='
fill "#1677FF" stroke none
roundrectangle 16,16 496,496 112,112
fill none stroke "#FFFFFF" stroke-width 40 stroke-linecap butt
path "M 122,322 Q 256,78 390,322"
stroke none fill "#FFFFFF"
roundrectangle 64,300 448,344 22,22
roundrectangle 178,214 204,310 8,8
roundrectangle 243,190 269,310 8,8
roundrectangle 308,214 334,310 8,8
roundrectangle 116,330 152,420 12,12
roundrectangle 360,330 396,420 12,12
'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Draw at 4x and downscale for clean anti-aliasing.
convert -size 2048x2048 xc:none -draw "affine 4,0,0,4,0,0 $MARK" "PNG32:$tmp/mark.png"
convert "$tmp/mark.png" -resize 512x512 PNG32:icon.png
convert "$tmp/mark.png" -resize 256x256 PNG32:128x128@2x.png
convert "$tmp/mark.png" -resize 128x128 PNG32:128x128.png
convert "$tmp/mark.png" -resize 32x32 PNG32:32x32.png
convert "$tmp/mark.png" -resize 64x64 PNG32:../ui/favicon.png
# Tray variants: the mark plus a status dot (green connected, amber connecting/backoff, red error/stopped).
for pair in connected:#22C55E connecting:#F59E0B error:#EF4444; do
  name=${pair%%:*}
  colour=${pair#*:}
  convert "$tmp/mark.png" -fill "$colour" -stroke "#FFFFFF" -strokewidth 120 \
    -draw "circle 1640,1640 1640,1290" -resize 32x32 "PNG32:tray-$name.png"
done
