#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Assemble one test guest into a flat 64 KiB firmware image and check that it
# is exactly 64 KiB with the reset vector's far jump at offset 0xfff0.
# Usage: build-guest.sh AS LD OBJCOPY SOURCE LINKER-SCRIPT OUTPUT
set -eu
as=$1 ld=$2 objcopy=$3 source=$4 script=$5 output=$6
base=${output%.bin}

"$as" --64 -I "$(dirname "$source")" -o "$base.o" "$source"
"$ld" -m elf_x86_64 -T "$script" -o "$base.elf" "$base.o"
"$objcopy" -O binary -j .text "$base.elf" "$base.tmp"

size=$(wc -c < "$base.tmp")
if [ "$size" -ne 65536 ]; then
    echo "$source: image is $size bytes, not 65536" >&2
    exit 1
fi
jump=$(od -An -tx1 -j 65520 -N 1 "$base.tmp" | tr -d ' ')
if [ "$jump" != "ea" ]; then
    echo "$source: no far jump at the reset vector (found 0x$jump)" >&2
    exit 1
fi
mv "$base.tmp" "$output"
