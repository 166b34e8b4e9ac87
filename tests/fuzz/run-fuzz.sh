#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the image-opener fuzzer briefly from a seed corpus of small valid images
# (plain, snapshots, compressed, backing file name, v2); prints TAP.
# usage: run-fuzz.sh FUZZER MIMIC_IMG BLK_IO [SECONDS]
set -u
FUZZER=$1 MIMIC_IMG=$2 BLK_IO=$3 SECONDS_TO_RUN=${4:-20}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/corpus"
c=$T/corpus
"$MIMIC_IMG" create -q -f qcow2 -o cluster_size=512 "$c/small.qcow2" 64k
"$MIMIC_IMG" create -q -f qcow2 -o cluster_size=512,compat=0.10 "$c/v2.qcow2" 32k
"$MIMIC_IMG" create -q -f qcow2 -o cluster_size=512,refcount_bits=1 "$c/rc1.qcow2" 16k
"$MIMIC_IMG" create -q -f qcow2 -o cluster_size=512 -b small.qcow2 -F qcow2 "$c/overlay.qcow2"
"$BLK_IO" -c "write -P 0x11 0 1k" -c "write -c -P 0x22 1k 512" -c "snapshot-create s1" \
    -c "write -P 0x33 512 512" "$c/small.qcow2" >/dev/null
"$BLK_IO" -c "write -P 0x44 0 2k" "$c/v2.qcow2" >/dev/null
echo "1..1"
if "$FUZZER" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "$T/corpus" >"$T/log" 2>&1; then
    echo "ok 1 - fuzzing the image opener for ${SECONDS_TO_RUN}s found nothing"
    grep -E "stat::number_of_executed_units|cov:" "$T/log" | tail -2 | sed 's/^/# /'
else
    echo "not ok 1 - the fuzzer found a crash"
    tail -40 "$T/log" | sed 's/^/# /'
    exit 1
fi
