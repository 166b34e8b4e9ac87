# SPDX-License-Identifier: GPL-2.0-or-later
# Thin wrapper: install missing Debian packages, configure build/ with meson,
# build, then run the main job (`make run`) or every test (`make check`).

BUILD ?= build
MESON ?= meson

.PHONY: all deps build run check clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	$(MESON) setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Until the GUI exists, the main job boots the long-mode demo guest on KVM
# (or on the JIT where KVM is missing) with its serial console on stdio.
run: build
	$(BUILD)/app/mimic-system -m 16M -nographic \
		-bios $(BUILD)/tests/guests/long-mode.bin

check: build
	@scripts/run-tests.sh $(BUILD)

clean:
	rm -rf $(BUILD)
