#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Interoperability with Debian's qemu-img/qemu-io, both directions, data
# checked byte by byte; prints TAP. Every image Mimic writes must pass
# `qemu-img check` with no errors and no leaks.
set -u
MIMIC_IMG=${MIMIC_IMG:?}
BLK_IO=${BLK_IO:?}
NORMALIZE="$(dirname "$0")/map-normalize.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
# check DESCRIPTION COMMAND...: the command must succeed.
check() {
    desc=$1; shift
    if "$@" >"$T/out" 2>&1; then ok "$desc"; else not_ok "$desc"; sed 's/^/# /' "$T/out"; fi
}
# check_fails DESCRIPTION COMMAND...: the command must fail.
check_fails() {
    desc=$1; shift
    if "$@" >"$T/out" 2>&1; then not_ok "$desc"; sed 's/^/# /' "$T/out"; else ok "$desc"; fi
}
qcheck() { check "qemu-img check $(basename "$1") is clean" qemu-img check "$1"; }
# Same bytes as read by QEMU and by Mimic.
same_content() {
    qemu-img convert -O raw "$1" "$T/q.raw" && "$MIMIC_IMG" convert -O raw "$1" "$T/m.raw" &&
        cmp "$T/q.raw" "$T/m.raw"
}

if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
    echo "1..0 # SKIP qemu-utils not installed"
    exit 0
fi

# --- Mimic writes, QEMU reads; QEMU writes, Mimic reads -------------------
for cs in 512 65536 2M; do
    for compat in 0.10 1.1; do
        img="$T/m-$cs-$compat.qcow2"
        check "create cluster_size=$cs compat=$compat" \
            "$MIMIC_IMG" create -q -f qcow2 -o cluster_size=$cs,compat=$compat "$img" 16M
        qcheck "$img"
        check "mimic writes patterns ($cs, $compat)" "$BLK_IO" \
            -c "write -P 0x11 0 4k" -c "write -P 0x22 1000 3000" -c "write -P 0x33 65000 200000" \
            -c "write -P 0x44 3M 2M" -c "write -P 0x55 16776704 512" \
            -c "zero 3M 64k" -c "discard 4M 2M" -c "write -P 0x66 8M 1" "$img"
        check "qemu-io reads mimic's data ($cs, $compat)" qemu-io -r \
            -c "read -P 0x11 0 1000" -c "read -P 0x22 1000 3000" -c "read -P 0x11 4000 96" \
            -c "read -P 0x33 65000 200000" -c "read -P 0 3M 64k" -c "read -P 0x44 3211264 851968" \
            -c "read -P 0 6M 1M" -c "read -P 0x66 8M 1" -c "read -P 0x55 16776704 512" "$img"
        qcheck "$img"
        check "mimic-img check agrees ($cs, $compat)" "$MIMIC_IMG" check "$img"
        check "qemu-io overwrites part of mimic's image ($cs, $compat)" qemu-io \
            -c "write -P 0x77 2000 70000" -c "discard 3M 1M" "$img"
        check "mimic reads qemu's writes back ($cs, $compat)" "$BLK_IO" -r \
            -c "read -P 0x11 0 1000" -c "read -P 0x22 1000 1000" -c "read -P 0x77 2000 70000" \
            -c "read -P 0x33 72000 193000" -c "read -P 0x66 8M 1" "$img"
        check "both tools read the same bytes ($cs, $compat)" same_content "$img"
        check "map output matches qemu-img ($cs, $compat)" sh -c \
            "qemu-img map --output=json '$img' | python3 '$NORMALIZE' > '$T/qmap' && '$MIMIC_IMG' map --output=json '$img' | python3 '$NORMALIZE' > '$T/mmap' && cmp '$T/qmap' '$T/mmap'"

        qimg="$T/q-$cs-$compat.qcow2"
        qemu-img create -q -f qcow2 -o cluster_size=$cs,compat=$compat "$qimg" 16M
        check "qemu-io writes patterns ($cs, $compat)" qemu-io \
            -c "write -P 0xa1 0 4k" -c "write -P 0xa2 12345 100000" -c "write -z 1M 1M" \
            -c "write -P 0xa3 15M 1M" "$qimg"
        check "mimic reads qemu's image ($cs, $compat)" "$BLK_IO" -r \
            -c "read -P 0xa1 0 4k" -c "read -P 0 4096 8249" -c "read -P 0xa2 12345 100000" \
            -c "read -P 0 1M 1M" -c "read -P 0xa3 15M 1M" "$qimg"
        check "mimic writes into qemu's image ($cs, $compat)" "$BLK_IO" \
            -c "write -P 0xb1 100 10000" -c "discard 15M 1M" "$qimg"
        qcheck "$qimg"
        check "qemu reads it ($cs, $compat)" qemu-io -r -c "read -P 0xb1 100 10000" \
            -c "read -P 0xa2 12345 100000" "$qimg"
    done
done

# --- refcount widths -------------------------------------------------------
for bits in 1 2 8 32 64; do
    img="$T/rc$bits.qcow2"
    check "create refcount_bits=$bits" "$MIMIC_IMG" create -q -f qcow2 \
        -o refcount_bits=$bits,cluster_size=4k "$img" 64M
    check "write with refcount_bits=$bits" "$BLK_IO" -c "write -P 0x5a 0 40M" \
        -c "discard 1M 1M" -c "write -P 0x5b 1M 4k" "$img"
    qcheck "$img"
    check "qemu reads refcount_bits=$bits" qemu-io -r -c "read -P 0x5a 0 1M" \
        -c "read -P 0x5b 1M 4k" -c "read -P 0x5a 2M 38M" "$img"
    q="$T/qrc$bits.qcow2"
    qemu-img create -q -f qcow2 -o refcount_bits=$bits "$q" 8M
    qemu-io -c "write -P 0x5c 0 3M" "$q" >/dev/null
    check "mimic reads and writes qemu's refcount_bits=$bits" "$BLK_IO" \
        -c "read -P 0x5c 0 3M" -c "write -P 0x5d 3M 1M" "$q"
    qcheck "$q"
done

# --- compressed clusters, zlib and zstd, both ways ---------------------------
src="$T/src.qcow2"
qemu-img create -q -f qcow2 "$src" 32M
qemu-io -c "write -P 0x31 0 5M" -c "write -P 0x32 10M 3M" -c "write -P 0x33 31M 1M" "$src" >/dev/null
for ct in zlib zstd; do
    for cs in 512 65536 2M; do
        out="$T/c-$ct-$cs.qcow2"
        check "mimic convert -c ($ct, $cs)" "$MIMIC_IMG" convert -c -O qcow2 \
            -o compression_type=$ct,cluster_size=$cs "$src" "$out"
        qcheck "$out"
        check "qemu-img compares mimic's compressed image ($ct, $cs)" qemu-img compare "$src" "$out"
        check "qemu map says compressed ($ct, $cs)" sh -c \
            "qemu-img check '$out' | grep -q '100.00% compressed'"
        qout="$T/qc-$ct-$cs.qcow2"
        qemu-img convert -c -O qcow2 -o compression_type=$ct,cluster_size=$cs "$src" "$qout"
        check "mimic reads qemu's compressed image ($ct, $cs)" "$MIMIC_IMG" compare "$src" "$qout"
        check "mimic overwrites compressed clusters ($ct, $cs)" "$BLK_IO" \
            -c "write -P 0x34 100k 50k" -c "write -P 0x35 10M 100" "$qout"
        qcheck "$qout"
        check "qemu reads the result ($ct, $cs)" qemu-io -r -c "read -P 0x31 0 100k" \
            -c "read -P 0x34 100k 50k" -c "read -P 0x31 150k 4M" -c "read -P 0x35 10M 100" \
            -c "read -P 0x32 10485860 3145628" "$qout"
    done
done
check "mimic writes single compressed clusters" sh -c \
    "'$MIMIC_IMG' create -q -f qcow2 '$T/cw.qcow2' 4M && '$BLK_IO' -c 'write -c -P 0x41 0 64k' -c 'write -c -P 0x42 64k 64k' '$T/cw.qcow2' && qemu-io -r -c 'read -P 0x41 0 64k' -c 'read -P 0x42 64k 64k' '$T/cw.qcow2'"
qcheck "$T/cw.qcow2"

# --- backing chains ---------------------------------------------------------
base="$T/base.qcow2"
qemu-img create -q -f qcow2 "$base" 8M
qemu-io -c "write -P 0x61 0 8M" "$base" >/dev/null
check "mimic creates an overlay" "$MIMIC_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 \
    "$T/top.qcow2"
check "mimic writes the overlay (copy-on-write from the backing file)" "$BLK_IO" \
    -c "write -P 0x62 1000 2000" -c "zero 1M 64k" -c "discard 2M 64k" "$T/top.qcow2"
qcheck "$T/top.qcow2"
check "qemu reads through the chain" qemu-io -r -c "read -P 0x61 0 1000" \
    -c "read -P 0x62 1000 2000" -c "read -P 0x61 3000 1045576" -c "read -P 0 1M 64k" \
    -c "read -P 0x61 1114112 983040" -c "read -P 0 2M 64k" "$T/top.qcow2"
check "info shows the backing file" sh -c \
    "qemu-img info --output=json '$T/top.qcow2' | grep -q '\"backing-filename-format\": \"qcow2\"'"
prev=base.qcow2
for i in $(seq 1 30); do
    "$MIMIC_IMG" create -q -f qcow2 -b $prev -F qcow2 "$T/chain$i.qcow2"
    "$BLK_IO" -c "write -P $i $((i * 64))k 4k" "$T/chain$i.qcow2" >/dev/null
    prev=chain$i.qcow2
done
check "qemu reads a 30-deep chain made by mimic" qemu-io -r -c "read -P 0x61 0 64k" \
    -c "read -P 30 1920k 4k" -c "read -P 1 64k 4k" "$T/chain30.qcow2"
check "both tools read the same bytes through the chain" same_content "$T/chain30.qcow2"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/qmid.qcow2"
qemu-io -c "write -P 0x63 4M 64k" "$T/qmid.qcow2" >/dev/null
qemu-img create -q -f qcow2 -b qmid.qcow2 -F qcow2 "$T/qtop.qcow2"
qemu-io -c "write -P 0x64 4M 4k" "$T/qtop.qcow2" >/dev/null
check "mimic reads qemu's chain" "$BLK_IO" -r -c "read -P 0x64 4M 4k" \
    -c "read -P 0x63 4198400 60k" -c "read -P 0x61 0 4M" "$T/qtop.qcow2"

# --- commit and rebase --------------------------------------------------------
cp "$T/qtop.qcow2" "$T/ctop.qcow2"
cp "$T/qmid.qcow2" "$T/cmid.qcow2"
qemu-img rebase -u -b cmid.qcow2 -F qcow2 "$T/ctop.qcow2"
check "mimic commit" "$MIMIC_IMG" commit -q "$T/ctop.qcow2"
qcheck "$T/ctop.qcow2"
qcheck "$T/cmid.qcow2"
check "the base holds the committed data" qemu-io -r -c "read -P 0x64 4M 4k" \
    -c "read -P 0x63 4198400 60k" "$T/cmid.qcow2"
check "the top is empty after commit" sh -c \
    "qemu-img map --output=json '$T/ctop.qcow2' | grep -q '\"depth\": 0, \"present\": true' && exit 1 || exit 0"
cp "$T/qtop.qcow2" "$T/rtop.qcow2"
check "mimic rebase (safe) onto the base" "$MIMIC_IMG" rebase -b base.qcow2 -F qcow2 \
    "$T/rtop.qcow2"
qcheck "$T/rtop.qcow2"
check "rebase kept the content" qemu-img compare "$T/qtop.qcow2" "$T/rtop.qcow2"
check "mimic rebase -u" "$MIMIC_IMG" rebase -u -b qmid.qcow2 -F qcow2 "$T/rtop.qcow2"
check "qemu sees the new backing file" sh -c \
    "qemu-img info '$T/rtop.qcow2' | grep -q 'backing file: qmid.qcow2'"
cp "$T/qtop.qcow2" "$T/flat.qcow2"
check "mimic rebase -b '' flattens" "$MIMIC_IMG" rebase -b '' "$T/flat.qcow2"
check "flattened image has the same content" qemu-img compare "$T/qtop.qcow2" "$T/flat.qcow2"
qcheck "$T/flat.qcow2"

# --- snapshots both ways --------------------------------------------------------
s="$T/snap.qcow2"
"$MIMIC_IMG" create -q -f qcow2 "$s" 16M
"$BLK_IO" -c "write -P 0x71 0 1M" "$s" >/dev/null
check "mimic creates a snapshot" "$MIMIC_IMG" snapshot -c first "$s"
qcheck "$s"
check "mimic writes after the snapshot" "$BLK_IO" -c "write -P 0x72 0 64k" \
    -c "vmstate-write -P 0x99 0 300k" "$s"
check "mimic creates a snapshot with VM state" "$BLK_IO" -c "snapshot-create second 307200" "$s"
qcheck "$s"
check "qemu lists mimic's snapshots" sh -c \
    "qemu-img snapshot -l '$s' | grep -q first && qemu-img snapshot -l '$s' | grep -q '300 KiB'"
check "mimic reads the VM state back" "$BLK_IO" -r -c "vmstate-read -s second -P 0x99 0 300k" "$s"
check "qemu applies mimic's snapshot" qemu-img snapshot -a first "$s"
check "qemu reads the snapshot's data" qemu-io -r -c "read -P 0x71 0 1M" "$s"
check "qemu creates a snapshot" qemu-img snapshot -c third "$s"
qemu-io -c "write -P 0x73 0 64k" "$s" >/dev/null
check "mimic lists qemu's snapshot" sh -c "'$MIMIC_IMG' snapshot -l '$s' | grep -q third"
check "mimic applies 'second'" "$MIMIC_IMG" snapshot -a second "$s"
qcheck "$s"
check "data after applying 'second'" qemu-io -r -c "read -P 0x72 0 64k" -c "read -P 0x71 64k 960k" "$s"
check "mimic applies qemu's 'third'" "$MIMIC_IMG" snapshot -a third "$s"
check "data after applying 'third'" "$BLK_IO" -r -c "read -P 0x71 0 1M" "$s"
check "mimic deletes a snapshot" "$MIMIC_IMG" snapshot -d first "$s"
qcheck "$s"
check "qemu deletes a snapshot made by mimic" qemu-img snapshot -d second "$s"
qcheck "$s"
check "mimic writes after the deletes" "$BLK_IO" -c "write -P 0x74 0 2M" "$s"
qcheck "$s"
check "convert -l reads a snapshot" sh -c \
    "'$MIMIC_IMG' convert -l third -O raw '$s' '$T/snap.raw' && qemu-io -r -f raw -c 'read -P 0x71 0 1M' '$T/snap.raw'"

# --- resize, preallocation, measure ---------------------------------------------
r="$T/resize.qcow2"
"$MIMIC_IMG" create -q -f qcow2 "$r" 10M
"$BLK_IO" -c "write -P 0x81 0 10M" "$r" >/dev/null
check "mimic grows an image" "$MIMIC_IMG" resize "$r" +20M
qcheck "$r"
check "qemu sees 30 MiB" sh -c "qemu-img info '$r' | grep -q '(31457280 bytes)'"
check "grown area reads zero" qemu-io -r -c "read -P 0x81 0 10M" -c "read -P 0 10M 20M" "$r"
check_fails "shrinking needs --shrink" "$MIMIC_IMG" resize "$r" 5M
check "mimic shrinks with --shrink" "$MIMIC_IMG" resize --shrink "$r" 5M
qcheck "$r"
check "shrunk image keeps its data" qemu-io -r -c "read -P 0x81 0 5M" "$r"
for p in metadata falloc full; do
    check "create preallocation=$p" "$MIMIC_IMG" create -q -f qcow2 -o preallocation=$p \
        "$T/pre-$p.qcow2" 5M
    qcheck "$T/pre-$p.qcow2"
    check "preallocated image reads zero ($p)" qemu-io -r -c "read -P 0 0 5M" "$T/pre-$p.qcow2"
done
for f in "$src" "$T/top.qcow2"; do
    check "measure matches qemu-img for $(basename "$f")" sh -c \
        "qemu-img measure -O qcow2 '$f' > '$T/qm' && '$MIMIC_IMG' measure -O qcow2 '$f' > '$T/mm' && cmp '$T/qm' '$T/mm'"
done
check "measure --size matches qemu-img" sh -c \
    "qemu-img measure -O qcow2 --size 10G > '$T/qm' && '$MIMIC_IMG' measure -O qcow2 --size 10G > '$T/mm' && cmp '$T/qm' '$T/mm'"

# --- locking -------------------------------------------------------------------
l="$T/lock.qcow2"
"$MIMIC_IMG" create -q -f qcow2 "$l" 1M
"$BLK_IO" -c "sleep 3000" "$l" &
pid=$!
sleep 0.5
check_fails "qemu-io cannot write while mimic has the image open" qemu-io -c "write 0 4k" "$l"
check_fails "qemu-img info refuses without -U" qemu-img info "$l"
check "qemu-img info -U works" qemu-img info -U "$l"
wait $pid
(sleep 3 | qemu-io "$l" >/dev/null 2>&1) &
sleep 0.5
check_fails "mimic cannot write while qemu has the image open" "$BLK_IO" -c "write 0 4k" "$l"
check_fails "mimic-img info refuses without -U" "$MIMIC_IMG" info "$l"
check "mimic-img info -U works" "$MIMIC_IMG" info -U "$l"
wait

# --- dirty bit, lazy refcounts, header extensions, bitmaps -------------------
d="$T/dirty.qcow2"
qemu-img create -q -f qcow2 -o lazy_refcounts=on "$d" 4M
qemu-io -c "write -P 0x91 0 1M" -c "sigraise 9" "$d" >/dev/null 2>&1
check "qemu left the dirty bit set" sh -c "qemu-img info --output=json -U '$d' | grep -q '\"dirty-flag\": true'"
check "mimic reads a dirty image" "$BLK_IO" -r -c "read -P 0x91 0 1M" "$d"
check "mimic repairs a dirty image when opening it for writing" "$BLK_IO" \
    -c "write -P 0x92 1M 64k" "$d"
qcheck "$d"
check "the dirty bit is clear" sh -c "qemu-img info --output=json '$d' | grep -q '\"dirty-flag\": false'"
check "mimic creates lazy_refcounts=on images" "$MIMIC_IMG" create -q -f qcow2 \
    -o lazy_refcounts=on "$T/lazy.qcow2" 4M
check "qemu sees lazy refcounts" sh -c "qemu-img info '$T/lazy.qcow2' | grep -q 'lazy refcounts: true'"
e="$T/ext.qcow2"
"$MIMIC_IMG" create -q -f qcow2 "$e" 4M
python3 - "$e" <<'PY'
import struct, sys
# Insert an unknown header extension (type 0x12345678, "mimic-keeps-me").
path = sys.argv[1]
with open(path, "r+b") as f:
    head = bytearray(f.read(65536))
    hlen = struct.unpack_from(">I", head, 100)[0]
    data = b"mimic-keeps-me"
    ext = struct.pack(">II", 0x12345678, len(data)) + data + bytes((8 - len(data) % 8) % 8)
    head[hlen:hlen] = ext
    f.seek(0)
    f.write(bytes(head[:65536]))
PY
check "mimic opens an image with an unknown header extension" "$BLK_IO" \
    -c "write -P 0x93 0 64k" "$e"
check "mimic keeps the unknown extension when rewriting the header" sh -c \
    "'$MIMIC_IMG' rebase -u -b '' '$e' && grep -q mimic-keeps-me '$e'"
qcheck "$e"
bm="$T/bitmap.qcow2"
qemu-img create -q -f qcow2 "$bm" 4M
qemu-io -c "write -P 0x94 0 64k" "$bm" >/dev/null
qemu-img bitmap --add "$bm" b0
check "mimic reads an image with persistent bitmaps" "$BLK_IO" -r -c "read -P 0x94 0 64k" "$bm"
check_fails "mimic refuses to write an image with persistent bitmaps" "$BLK_IO" \
    -c "write 0 4k" "$bm"
qcheck "$bm"
check "check -r all on a clean image" "$MIMIC_IMG" check -r all "$T/top.qcow2"
qcheck "$T/top.qcow2"

# --- info, sizes, check exit codes ---------------------------------------------------
check "info --output=json has qemu-img's fields" sh -c \
    "'$MIMIC_IMG' info --output=json '$T/top.qcow2' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"virtual-size\"]==8388608 and d[\"format\"]==\"qcow2\" and d[\"backing-filename\"]==\"base.qcow2\" and d[\"format-specific\"][\"data\"][\"compat\"]==\"1.1\" and d[\"cluster-size\"]==65536'"
check "sizes take qemu-img's suffixes" sh -c \
    "'$MIMIC_IMG' create -q -f raw '$T/s.raw' 1.5G && test \$(stat -c %s '$T/s.raw') = 1610612736"
check "every command has --help" sh -c \
    "for c in create info check convert snapshot resize commit rebase compare map measure bench; do '$MIMIC_IMG' \$c --help >/dev/null || exit 1; done"
check "compare exit code 1 on mismatch" sh -c "'$MIMIC_IMG' compare '$T/qtop.qcow2' '$base' >/dev/null; test \$? = 1"
check "raw files are never probed as qcow2" sh -c \
    "'$MIMIC_IMG' info '$T/s.raw' | grep -q 'file format: raw'"

echo "1..$n"
exit $failed
