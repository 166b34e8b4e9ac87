# SPDX-License-Identifier: GPL-2.0-or-later
# Normalise `map --output=json` to one line per 4 KiB block (present, data,
# depth, host offset) so that Mimic's and qemu-img's maps compare even when
# they split extents at different holes of the image file.
import json
import sys

for entry in json.load(sys.stdin):
    for pos in range(entry["start"], entry["start"] + entry["length"], 4096):
        off = entry.get("offset")
        host = off + pos - entry["start"] if off is not None and entry["data"] else None
        print(pos, entry["present"], entry["data"], entry["depth"], host)
