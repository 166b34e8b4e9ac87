#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Time from process start to the GRUB menu of Debian's grub-rescue ISO, and to
the Linux userspace marker of the busybox initramfs, on Mimic's software CPU
and on QEMU's TCG, in one run. Prints each best-of-RUNS time and the ratio
(QEMU time / Mimic time: above 1 means Mimic is faster).

usage: bench/boot-bench.py [build-dir]
Environment: RUNS (3), LIMIT seconds per boot (600), ONLY=grub|linux.
The GRUB menu is read from the VGA text screen: over QMP x-query-text-screen
on Mimic, from guest memory (pmemsave of 0xB8000) on QEMU.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

GRUB_ISO = "/usr/lib/grub-rescue/grub-rescue-cdrom.iso"
MARKER = "MIMIC-USERSPACE-READY"
LIMIT_S = int(os.environ.get("LIMIT", "600"))


class Qmp:
    def __init__(self, path, start):
        while not os.path.exists(path):
            if time.monotonic() - start > 30:
                raise RuntimeError("no QMP socket")
            time.sleep(0.01)
        self.sock = socket.socket(socket.AF_UNIX)
        for _ in range(300):
            try:
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.01)
        self.file = self.sock.makefile("rwb")
        self.file.readline()
        self.call("qmp_capabilities")

    def call(self, command, **arguments):
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.file.write((json.dumps(message) + "\n").encode())
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply or "error" in reply:
                return reply


def screen(qmp, emulator, scratch):
    if emulator == "mimic":
        return qmp.call("x-query-text-screen").get("return", {}).get("text", "")
    qmp.call("pmemsave", val=0xB8000, size=4000, filename=scratch)
    with open(scratch, "rb") as f:
        return f.read()[0::2].decode("latin1")


def time_grub(cmd, emulator):
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "qmp.sock")
        start = time.monotonic()
        proc = subprocess.Popen(cmd + ["-qmp", f"unix:{sock},server,nowait"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            qmp = Qmp(sock, start)
            while time.monotonic() - start < LIMIT_S:
                if "GNU GRUB" in screen(qmp, emulator, os.path.join(tmp, "vga")):
                    return time.monotonic() - start
                time.sleep(0.05)
            return None
        finally:
            proc.kill()
            proc.wait()


def time_linux(cmd):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    seen = b""
    try:
        while time.monotonic() - start < LIMIT_S:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                return None
            seen = (seen + chunk)[-4096:]
            if MARKER.encode() in seen:
                return time.monotonic() - start
        return None
    finally:
        proc.kill()
        proc.wait()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(os.environ.get("RUNS", "3"))
    mimic = os.path.join(build, "app", "mimic-system")
    fixtures = os.path.join(build, "tests", "fixtures")
    subprocess.run(["ninja", "-C", build, "app/mimic-system", "tests/fixtures/status"],
                   check=True, stdout=subprocess.DEVNULL)
    grub = {
        "mimic": [mimic, "-accel", "jit", "-m", "128M", "-display", "none",
                  "-serial", "null", "-cdrom", GRUB_ISO, "-boot", "d"],
        "qemu": ["qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "128M",
                 "-display", "none", "-serial", "null", "-cdrom", GRUB_ISO,
                 "-boot", "d"],
    }
    kernel = ["-kernel", os.path.join(fixtures, "vmlinuz"), "-initrd",
              os.path.join(fixtures, "initramfs.cpio.gz"), "-append",
              "console=ttyS0 quiet", "-m", "256M", "-nographic"]
    linux = {
        "mimic": [mimic, "-accel", "jit"] + kernel,
        "qemu": ["qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-no-reboot"] + kernel,
    }
    only = os.environ.get("ONLY")
    for what, table, timer in (("GRUB menu", grub, time_grub),
                               ("Linux userspace", linux, time_linux)):
        if only and not what.lower().startswith(only):
            continue
        best = {}
        for name, cmd in table.items():
            for _ in range(runs):
                t = timer(cmd, name) if timer is time_grub else timer(cmd)
                if t is not None:
                    best[name] = min(t, best.get(name, t))
            shown = f"{best[name]:7.2f} s" if name in best else f"  not within {LIMIT_S} s"
            print(f"{what:16} {name:6} {shown}", flush=True)
        if len(best) == 2:
            print(f"{what:16} ratio (qemu / mimic) {best['qemu'] / best['mimic']:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
