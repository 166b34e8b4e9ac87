#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Compare mimic-img with qemu-img in one run and print the ratios
# (qemu-img time / mimic-img time: above 1 means Mimic is faster).
#   1. convert raw -> qcow2 of a 1 GiB image half full of random data
#   2. convert -c (compressed) of the same image
#   3. bench: 100 000 4 KiB writes scattered over a fresh 1 GiB qcow2 image
# Each measurement is the best of RUNS (default 3).
# usage: bench/img-bench.sh [path/to/mimic-img] [work-dir]
set -eu
MIMIC_IMG=${1:-build/app/mimic-img}
DIR=${2:-$(mktemp -d)}
RUNS=${RUNS:-3}
mkdir -p "$DIR"

python3 - "$DIR/src.raw" <<'PY'
import os, sys
# 1 GiB: every 64 KiB block is random data or written zeros, about half each.
rnd = os.urandom(64 << 20)
zero = bytes(64 << 10)
with open(sys.argv[1], "wb") as f:
    for i in range(1 << 14):
        if (i * 2654435761) % 7 < 3 or i % 2:
            off = (i * 40503) % ((64 << 20) - (64 << 10))
            f.write(rnd[off:off + (64 << 10)])
        else:
            f.write(zero)
PY

# best_time COMMAND...: best wall time of RUNS runs, in seconds.
best_time() {
    best=""
    for _ in $(seq "$RUNS"); do
        rm -f "$DIR/out.qcow2"
        [ -n "${PREPARE:-}" ] && sh -c "$PREPARE"
        t=$(python3 -c 'import subprocess, sys, time
t = time.monotonic(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.monotonic() - t)' "$@")
        best=$(python3 -c "print(min(float('$t'), float('${best:-inf}')))")
    done
    echo "$best"
}

report() {
    ratio=$(python3 -c "print('%.2f' % ($2 / $3))")
    printf '%-40s qemu-img %7.3f s   mimic-img %7.3f s   ratio %sx (need >= %s)\n' \
        "$1" "$2" "$3" "$ratio" "$4"
}

q=$(best_time qemu-img convert -O qcow2 "$DIR/src.raw" "$DIR/out.qcow2")
m=$(best_time "$MIMIC_IMG" convert -O qcow2 "$DIR/src.raw" "$DIR/out.qcow2")
qemu-img compare -q "$DIR/src.raw" "$DIR/out.qcow2"
report "convert raw -> qcow2 (1 GiB, half random)" "$q" "$m" 1.0

q=$(best_time qemu-img convert -c -O qcow2 "$DIR/src.raw" "$DIR/out.qcow2")
m=$(best_time "$MIMIC_IMG" convert -c -O qcow2 "$DIR/src.raw" "$DIR/out.qcow2")
qemu-img compare -q "$DIR/src.raw" "$DIR/out.qcow2"
report "convert -c (compressed)" "$q" "$m" 1.5

PREPARE="rm -f '$DIR/b.qcow2'; qemu-img create -q -f qcow2 '$DIR/b.qcow2' 1G"
export PREPARE
q=$(best_time qemu-img bench -w -c 100000 -s 4096 -S 7345152 "$DIR/b.qcow2")
m=$(best_time "$MIMIC_IMG" bench -w -c 100000 -s 4096 -S 7345152 "$DIR/b.qcow2")
qemu-img check -q "$DIR/b.qcow2"
report "bench -w 100000 x 4 KiB scattered" "$q" "$m" 1.0
unset PREPARE

[ -z "${2:-}" ] && rm -rf "$DIR"
exit 0
