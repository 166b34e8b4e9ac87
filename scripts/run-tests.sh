#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every test of the build and finish with one line: N passed, N failed, N skipped.
# TAP test programs count one per test case; other tests count one each.
BUILD=${1:-build}
meson test -C "$BUILD" --print-errorlogs --num-processes 2
status=$?
python3 "$(dirname "$0")/summarize-tests.py" "$BUILD/meson-logs/testlog.json" || status=1
exit $status
