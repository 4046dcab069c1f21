# Two entry points for a fresh Debian 12 machine:
#   make demo   install what is missing, build, boot the default example under QEMU
#   make test   install what is missing, build, run every test (unit, namespace, QEMU)
BUILD    ?= build
OUT      ?= $(BUILD)/out
IMAGES   ?= $(BUILD)/test-images
PORT     ?= 8080
BERTH     = $(BUILD)/builder/berth

.PHONY: all deps build images demo test unit-test qemu-test bench clean

all: build

deps:
	@tools/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Test payload images made from Debian's busybox-static.
images: build
	@examples/images/make-busybox-image $(IMAGES)/busybox >/dev/null

demo: images
	$(BERTH) build -o $(OUT) --images $(IMAGES) examples/web.yml
	@echo
	@echo "Booting examples/web.yml. When you see 'boot complete', open another terminal and run:"
	@echo "    curl http://localhost:$(PORT)/"
	@echo "Leave QEMU with Ctrl-a x (or run 'kill -USR2 1' style poweroff from a service)."
	@echo
	$(BERTH) run qemu --publish $(PORT):80 $(OUT)/web

unit-test: build
	meson test -C $(BUILD) --print-errorlogs

qemu-test: images
	python3 qemu-tests/run_tests.py --berth $(BERTH) --images $(IMAGES) --out $(BUILD)/qemu-tests

test: unit-test qemu-test

bench: images
	bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# arm64: the PID 1 and the unit tests cross-built (cross/aarch64-linux-gnu.ini) in a
# second build tree next to the host one, an arm64 busybox image, and the QEMU suite
# booted under qemu-system-aarch64 -M virt (TCG). `make test` runs both.
ARM64_BUILD  ?= $(BUILD)-arm64
ARM64_IMAGES ?= $(BUILD)/test-images-arm64

.PHONY: arm64 arm64-unit-test arm64-qemu-test

$(ARM64_BUILD)/build.ninja:
	meson setup --cross-file cross/aarch64-linux-gnu.ini $(ARM64_BUILD)

arm64: deps $(ARM64_BUILD)/build.ninja
	ninja -C $(ARM64_BUILD)

$(ARM64_IMAGES)/busybox/bin/busybox:
	@examples/images/make-busybox-image --arch arm64 $(ARM64_IMAGES)/busybox >/dev/null

# The unit tests run under qemu-user (the cross file's exe_wrapper); the
# namespace integration tests need the host kernel's view and run natively only.
# qemu-user refuses seccomp filters (they would confine the emulator itself), so
# the tests of test_seccomp.cpp run natively only; the arm64 boot loads real ones.
arm64-unit-test: arm64
	meson test -C $(ARM64_BUILD) --suite unit --print-errorlogs --test-args '-# ~[#test_seccomp]'

arm64-qemu-test: images arm64 $(ARM64_IMAGES)/busybox/bin/busybox
	python3 qemu-tests/run_tests.py --arch arm64 --berth $(BERTH) --images $(ARM64_IMAGES) \
	    --host-images $(IMAGES) --init $(ARM64_BUILD)/init/berth-init \
	    --out $(BUILD)/qemu-tests-arm64 --boot-timeout 300

test: arm64-unit-test arm64-qemu-test
