#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Count test cases from meson's testlog.json; print 'N passed, N failed[, N skipped]'.

A TAP program counts one case per `ok`/`not ok` line; a program that fails
without a failing TAP line (crash, timeout) counts one more failure.
"""
import json
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b(.*)$')


def main(path):
    passed = failed = skipped = 0
    skip_reasons = []
    try:
        lines = open(path, encoding='utf-8').read().splitlines()
    except OSError as e:
        print(f'summarize-tests: cannot read {path}: {e}')
        print('0 passed, 1 failed')
        return 1
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        result = t.get('result', 'FAIL')
        p = f = s = 0
        for out in (t.get('stdout') or '').splitlines():
            m = TAP.match(out.strip())
            if not m:
                continue
            rest = m.group(2)
            if re.search(r'#\s*skip', rest, re.I):
                s += 1
                skip_reasons.append(f"{t['name']}: {rest.strip()}")
            elif m.group(1) == 'ok':
                p += 1
            else:
                f += 1
        if p + f + s == 0:
            if result == 'OK':
                p = 1
            elif result == 'SKIP':
                s = 1
                skip_reasons.append(f"{t['name']}: skipped (see its log)")
            else:
                f = 1
        elif result not in ('OK', 'SKIP') and f == 0:
            f = 1
        passed += p
        failed += f
        skipped += s
    for r in skip_reasons:
        print(f'skipped: {r}')
    tail = f', {skipped} skipped' if skipped else ''
    print(f'{passed} passed, {failed} failed{tail}')
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'build/meson-logs/testlog.json'))
