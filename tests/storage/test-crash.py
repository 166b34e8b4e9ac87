#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash test: a writer doing random writes, discards, zeroes, flushes and
# snapshot create/delete is killed with SIGKILL at random moments. After every
# kill qemu-img check must find no corruption (leaks are allowed and then
# repaired by `mimic-img check -r leaks`), and every write flushed before the
# kill must read back (read by qemu-img, not by Mimic). Prints TAP.
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

MIMIC_IMG = os.environ["MIMIC_IMG"]
BLK_IO = os.environ["BLK_IO"]
KILLS = int(os.environ.get("CRASH_KILLS", "54"))
BLOCK = 4096

count = 0
failed = False


def tap(ok, desc, detail=""):
    global count, failed
    count += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (count, desc), flush=True)
    if not ok:
        failed = True
        for line in detail.splitlines()[:30]:
            print("# " + line, flush=True)


def run(*args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class LogModel:
    """Per block: the states possible at the last flush, and every state an
    operation issued after it may have left. The log is read incrementally."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.current = {}
        self.flushed = {}
        self.after = {}

    def update(self):
        with open(self.path) as f:
            f.seek(self.pos)
            for line in f:
                if not line.endswith("\n"):
                    break
                self.pos += len(line)
                self.apply(line.split())

    def apply(self, parts):
        if not parts:
            return
        if parts[0] == "F":
            self.flushed = {b: set(s) for b, s in self.current.items()}
            self.after = {}
            return
        if parts[0] == "S":
            # The previous run was killed: what it issued after its last
            # flush may or may not have reached the image.
            for b, values in self.after.items():
                self.current[b] = self.flushed.get(b, {0}) | values
            return
        b = int(parts[1])
        if parts[0] == "W":
            value = int(parts[2])
            self.current[b] = {value}
        elif parts[0] == "Z":
            value = 0
            self.current[b] = {0}
        else:
            value = 0
            self.current[b] = self.current.get(b, {0}) | {0}
        self.after.setdefault(b, set()).add(value)

    def allowed(self, b):
        return self.flushed.get(b, {0}) | self.after.get(b, set())


def block_state(data, b):
    chunk = data[b * BLOCK:(b + 1) * BLOCK]
    if chunk == bytes(BLOCK):
        return 0
    blk, gen = struct.unpack_from("<QQ", chunk)
    if blk != b or chunk != struct.pack("<QQ", blk, gen) * (BLOCK // 16):
        return None
    return gen


def main():
    if run("sh", "-c", "command -v qemu-img").returncode != 0:
        print("1..0 # SKIP qemu-img not installed")
        return 0
    rng = random.Random(int(os.environ.get("CRASH_SEED", "12345")))
    with tempfile.TemporaryDirectory() as tmp:
        configs = [("65536", "16", 8192), ("4096", "64", 4096), ("512", "1", 1024)]
        for cs, rbits, blocks in configs:
            img = os.path.join(tmp, "crash-%s.qcow2" % cs)
            log = os.path.join(tmp, "crash-%s.log" % cs)
            model = LogModel(log)
            raw = os.path.join(tmp, "crash.raw")
            r = run(MIMIC_IMG, "create", "-q", "-f", "qcow2", "-o",
                    "cluster_size=%s,refcount_bits=%s" % (cs, rbits), img, str(blocks * BLOCK))
            tap(r.returncode == 0, "create crash image (cluster_size=%s)" % cs, r.stdout)
            for i in range(KILLS // len(configs)):
                seed = rng.randrange(1, 1 << 30)
                p = subprocess.Popen([BLK_IO, img, "crash-writer", str(seed), log, str(blocks),
                                      str(BLOCK)], stderr=subprocess.PIPE)
                time.sleep(rng.uniform(0.02, 0.25))
                still_running = p.poll() is None
                p.send_signal(signal.SIGKILL)
                err = p.communicate()[1].decode(errors="replace")
                if not still_running:
                    tap(False, "writer ran until killed (cluster_size=%s, kill %d)" % (cs, i), err)
                    continue
                t0 = time.time()
                r = run("qemu-img", "check", img)
                tap(r.returncode in (0, 3) and not re.search(r"^\d+ errors were found", r.stdout, re.M),
                    "qemu-img check: no corruption after kill %d (cluster_size=%s)" % (i, cs),
                    "exit status %d\n%s" % (r.returncode, r.stdout))
                if r.returncode == 3:
                    r = run(MIMIC_IMG, "check", "-r", "leaks", img)
                    r2 = run("qemu-img", "check", img)
                    tap(r.returncode == 0 and r2.returncode == 0,
                        "mimic-img check -r leaks repairs the leaks (kill %d)" % i,
                        r.stdout + r2.stdout)
                r = run("qemu-img", "convert", "-O", "raw", img, raw)
                data = open(raw, "rb").read() if r.returncode == 0 else b""
                model.update()
                bad = []
                for b in range(blocks):
                    allowed = model.allowed(b)
                    got = block_state(data, b) if data else None
                    if got not in allowed:
                        bad.append("block %d: read %r, allowed %r" % (b, got, sorted(allowed)))
                tap(not bad, "flushed writes read back after kill %d (cluster_size=%s)" % (i, cs),
                    "\n".join(bad[:20]))
    print("1..%d" % count)
    return 1 if failed else 0


sys.exit(main())
