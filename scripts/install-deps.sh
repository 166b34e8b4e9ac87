#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian packages Mimic builds and tests with, if any is missing.
# Runs apt-get only as root; otherwise it names what is missing and stops.
set -e

PACKAGES="
  meson ninja-build pkg-config gcc binutils python3
  libglib2.0-dev libjson-glib-dev libpng-dev
  zlib1g-dev libzstd-dev
  qemu-utils qemu-system-x86 seabios xorriso
  clang libclang-rt-14-dev acpica-tools
  linux-image-amd64 busybox-static grub-rescue-pc isolinux syslinux-common
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages:$missing" >&2
    echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing
