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
# Tray variants, one per look of src-tauri/src/tray/look.rs: the mark plus a status dot.
#   connected: green dot · connecting: amber dot · reconnecting: hollow orange ring · degraded (auth or
#   quota): red dot · stopped (paused, unconfigured): grey mark, grey dot · demo: violet dot.
dot() { # dot NAME SOURCE FILL STROKE-WIDTH
  convert "$2" -fill "$3" -stroke "#FFFFFF" -strokewidth 120 \
    -draw "circle 1640,1640 1640,1290" -resize 32x32 "PNG32:tray-$1.png"
}
dot connected "$tmp/mark.png" "#22C55E"
dot connecting "$tmp/mark.png" "#F59E0B"
dot degraded "$tmp/mark.png" "#EF4444"
dot demo "$tmp/mark.png" "#8B5CF6"
convert "$tmp/mark.png" -fill "#F97316" -stroke "#FFFFFF" -strokewidth 120 \
  -draw "circle 1640,1640 1640,1290" -fill "#FFFFFF" -stroke none -draw "circle 1640,1640 1640,1500" \
  -resize 32x32 PNG32:tray-reconnecting.png
convert "$tmp/mark.png" -colorspace Gray -colorspace sRGB "PNG32:$tmp/grey.png"
dot stopped "$tmp/grey.png" "#6B7280"
