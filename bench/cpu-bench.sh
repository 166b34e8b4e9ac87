#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The CPU benchmark guest (tests/guests/cpu-bench.S: integer loop plus 1 MiB
# of memory traffic) on Mimic's software CPU and on QEMU's TCG, same flat
# image, in one run. Prints each best-of-RUNS wall time, checks that both
# print the same checksum, and the ratio (QEMU time / Mimic time: above 1
# means Mimic is faster).
# usage: bench/cpu-bench.sh [build-dir]
set -eu
BUILD=${1:-build}
RUNS=${RUNS:-3}
IMAGE=$BUILD/tests/guests/cpu-bench.bin
ninja -C "$BUILD" tests/guests/cpu-bench.bin app/mimic-system >/dev/null

python3 - "$BUILD/app/mimic-system" "$IMAGE" "$RUNS" <<'PY'
import re, subprocess, sys, time
mimic, image, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
commands = {
    "mimic -accel jit": [mimic, "-accel", "jit", "-m", "16M", "-nographic",
                         "-bios", image, "-no-reboot"],
    "qemu -accel tcg": ["qemu-system-x86_64", "-accel", "tcg", "-M", "pc",
                        "-cpu", "qemu64,-apic", "-m", "16M", "-nographic",
                        "-bios", image, "-no-reboot",
                        "-device", "isa-debug-exit,iobase=0x501"],
}
best, sums = {}, {}
for name, cmd in commands.items():
    for _ in range(runs):
        t = time.monotonic()
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=600).stdout
        t = time.monotonic() - t
        best[name] = min(t, best.get(name, t))
        m = re.search(r"checksum ([0-9a-f]{16})", out)
        sums[name] = m.group(1) if m else "none"
    print(f"{name:18} {best[name]:8.2f} s   checksum {sums[name]}")
if len(set(sums.values())) != 1:
    print("checksums differ: a CPU computed something wrong")
    sys.exit(1)
ratio = best["qemu -accel tcg"] / best["mimic -accel jit"]
print(f"ratio (qemu / mimic) {ratio:.3f}x")
PY
