# Two entry points for a fresh Debian 12 machine:
#   make demo   install what is missing, build, boot the default example under QEMU
#               (ARCH=arm64: the same Redis OS built and booted for arm64)
#   make test   install what is missing, build, run every test (unit, namespace, QEMU)
#   make test-loaded   the same with stress-ng loading every CPU twice over beside it:
#               how timing-sensitive tests are checked to hold on a busy machine
BUILD    ?= build
ARCH     ?= $(shell dpkg --print-architecture)
IMAGES   ?= $(BUILD)/test-images
PORT     ?= 6379
BERTH     = $(BUILD)/builder/berth

.PHONY: all deps build images redis-images demo demo-stop test test-loaded unit-test fuzz-test qemu-test bench clean

# Each phase of `make test` runs under tools/timed, which prints its elapsed seconds
# ("== qemu-amd64: 412 s") and records it under this run's id; `make test` ends with
# the table of its phases (docs/testing.md lists typical figures).
ifndef TEST_RUN
TEST_RUN := $(shell date +%Y%m%d-%H%M%S)-$(shell echo $$PPID)
endif
export TEST_RUN
PHASE_LOG = $(BUILD)/test-phases.log
TIMED     = tools/timed $(PHASE_LOG) $(TEST_RUN)

all: build

deps:
	@$(TIMED) deps tools/install-deps

$(BUILD)/build.ninja:
	$(TIMED) setup meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	@$(TIMED) build ninja -C $(BUILD)

# Test payload images made from Debian's busybox-static, and Debian's cloud kernel as
# the LinuxKit kernel image the examples name (`kernel: image: debian-kernel:cloud`),
# an OCI layout found through --images (made once; the .deb is cached in
# ~/.cache/berth/kernels).
KERNEL_PACKAGE ?= linux-image-cloud-amd64
KERNEL_IMAGE   ?= debian-kernel:cloud
# $(call kernel-image,IMAGES_DIR,ARCH)
kernel-image = [ -e $(1)/debian-kernel/oci-layout ] || \
	$(BERTH) kernel import --arch $(2) --layout $(1)/debian-kernel $(KERNEL_PACKAGE) --tag $(KERNEL_IMAGE) >/dev/null

images: build
	@$(TIMED) images sh -c 'examples/images/make-busybox-image $(IMAGES)/busybox >/dev/null && \
	    examples/images/make-metadata-image --binary $(BUILD)/metadata/berth-metadata $(IMAGES)/metadata >/dev/null && \
	    { $(call kernel-image,$(IMAGES),$(shell dpkg --print-architecture)); }'

# The Redis OS's images for ARCH: redis:7 from Debian's redis-server (imported into a
# store in the build tree) and the disk formatter; the .debs are cached in
# ~/.cache/berth/debs. For another architecture the PID 1 is cross-built first.
ifeq ($(ARCH),$(shell dpkg --print-architecture))
OUT         ?= $(BUILD)/out
DEMO_IMAGES ?= $(IMAGES)
DEMO_PID1    =
else
OUT         ?= $(BUILD)/out-$(ARCH)
DEMO_IMAGES ?= $(BUILD)/demo-images-$(ARCH)
DEMO_PID1    = $(ARCH)-init
endif
STORE    ?= $(BUILD)/store
DISK     ?= $(BUILD)/redis-data.img
DEMO_MONITOR ?= $(BUILD)/demo.monitor
redis-images: images $(DEMO_PID1)
	@$(call kernel-image,$(DEMO_IMAGES),$(ARCH))
	@examples/images/make-disk-image --arch $(ARCH) $(DEMO_IMAGES)/disk >/dev/null
	@examples/images/make-busybox-image --arch $(ARCH) $(DEMO_IMAGES)/busybox >/dev/null
	@BERTH=$(BERTH) examples/images/make-redis-image --arch $(ARCH) --import redis:7 --store $(STORE) \
	    $(BUILD)/redis-oci >/dev/null

demo: redis-images
	$(BERTH) build --arch $(ARCH) -o $(OUT) --images $(DEMO_IMAGES) --store $(STORE) examples/redis.yml
	@echo
	@echo "Booting examples/redis.yml for $(ARCH) (Redis on a persistent disk, $(DISK))."
	@echo "When the console says 'Ready to accept connections', in another terminal run:"
	@echo "    redis-cli -p $(PORT) ping          # PONG"
	@echo "    redis-cli -p $(PORT) set greeting hello; redis-cli -p $(PORT) get greeting"
	@echo "To leave: 'make demo-stop' in another terminal presses the power button (Redis"
	@echo "saves, the disk is unmounted, QEMU exits; the data is there on the next 'make demo');"
	@echo "Ctrl-C here stops QEMU at once."
	@echo
	$(BERTH) run qemu --publish $(PORT):6379 --disk $(DISK),size=256M --monitor $(DEMO_MONITOR) $(OUT)/redis

# The power button of the demo's machine, through QEMU's monitor socket.
demo-stop:
	@python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"system_powerdown\n"); time.sleep(0.3)' $(DEMO_MONITOR)

unit-test: build
	$(TIMED) unit+integration meson test -C $(BUILD) --no-rebuild --print-errorlogs

# A short libFuzzer run (about 25 s) of the control request parser, the service
# log splitter and the notify parser; a separate small clang build in $(BUILD)/fuzz.
# Long runs: tools/fuzz-long.
# The fuzz objects compile on every CPU (a plain serial `make test` would build them
# one by one).
FUZZ_JOBS ?= $(shell nproc)
fuzz-test: build
	$(TIMED) fuzz $(MAKE) -j$(FUZZ_JOBS) -C fuzz OUT=$(abspath $(BUILD))/fuzz MESON_BUILD=$(abspath $(BUILD)) run

QEMU_AMD64_TEST = $(TIMED) qemu-amd64 python3 qemu-tests/run_tests.py --berth $(BERTH) --images $(IMAGES) \
	--out $(BUILD)/qemu-tests
qemu-test: images
	$(QEMU_AMD64_TEST)

# The arm64 cross build and images (the `arm64-build` phase, about 7 to 14 minutes)
# are made niced beside the amd64 QEMU phase, whose TCG guest leaves the second CPU
# mostly idle (tools/beside: their output follows the phase's; a failure stops
# both; `arm64-wait` is the time the build outlasted the phase). Then the arm64
# tests, and the table of this run's phases last. (ARM64_PREP is a variable so that
# `make -n test` does not run it: make runs recipe lines naming $(MAKE) even then.)
ARM64_PREP = $(MAKE) --no-print-directory arm64-test-build $(ARM64_IMAGES)/busybox/bin/busybox
test: unit-test fuzz-test images
	@tools/beside --wait-timed '$(TIMED) arm64-wait' $(BUILD)/arm64-build.log '$(ARM64_PREP)' $(QEMU_AMD64_TEST)
	$(ARM64_UNIT_TEST)
	$(ARM64_QEMU_TEST)
	@echo "make test: time per phase"
	@tools/timed --summary $(PHASE_LOG) $(TEST_RUN)

# `make test` while stress-ng keeps 2 busy workers per CPU; the load stops with it.
LOAD_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
test-loaded: deps
	@stress-ng --cpu $(LOAD_WORKERS) --timeout 7200s >/dev/null 2>&1 & load=$$!; \
	    $(MAKE) test; rc=$$?; kill $$load; wait $$load 2>/dev/null; exit $$rc

bench: redis-images
	bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# arm64: the PID 1 and the unit tests cross-built (cross/aarch64-linux-gnu.ini) in a
# second build tree next to the host one, an arm64 busybox image, and the QEMU suite
# booted under qemu-system-aarch64 -M virt (TCG). `make test` runs both (see test:).
ARM64_BUILD  ?= $(BUILD)-arm64
ARM64_IMAGES ?= $(BUILD)/test-images-arm64

.PHONY: arm64 arm64-init arm64-test-build arm64-unit-test arm64-qemu-test

$(ARM64_BUILD)/build.ninja:
	$(TIMED) arm64-setup meson setup --cross-file cross/aarch64-linux-gnu.ini $(ARM64_BUILD)

arm64: deps $(ARM64_BUILD)/build.ninja
	ninja -C $(ARM64_BUILD)

# Only the PID 1 (what `make demo ARCH=arm64` needs).
arm64-init: deps $(ARM64_BUILD)/build.ninja
	ninja -C $(ARM64_BUILD) init/berth-init

# What the arm64 tests use, and nothing else: the unit test executables, the PID 1
# the QEMU suite boots and the seccomp compiler of the cross-architecture check
# (not berth-runc and the probes, which only the host's integration tests run).
arm64-test-build: deps $(ARM64_BUILD)/build.ninja
	@$(TIMED) arm64-build sh -c 'targets=$$(tools/test-targets $(ARM64_BUILD) unit) && \
	    ninja -C $(ARM64_BUILD) init/berth-init runtime/berth-seccomp-compile $$targets'

$(ARM64_IMAGES)/busybox/bin/busybox:
	@$(TIMED) arm64-images sh -c 'examples/images/make-busybox-image --arch arm64 $(ARM64_IMAGES)/busybox >/dev/null && \
	    { $(call kernel-image,$(ARM64_IMAGES),arm64); }'

# The unit tests run under qemu-user (the cross file's exe_wrapper); the
# namespace integration tests need the host kernel's view and run natively only.
# qemu-user refuses seccomp filters (they would confine the emulator itself), so
# the tests of test_seccomp.cpp run natively only; the arm64 boot loads real ones.
# Tests tagged [native-only] check what the host kernel does that qemu-user
# emulates differently (descriptor truncation in control messages).
# The builder's seccomp programs for the other architecture against each one's
# own libseccomp compile, both ways (amd64 <-> arm64).
ARM64_UNIT_TEST = $(TIMED) arm64-unit meson test -C $(ARM64_BUILD) --no-rebuild --suite unit --print-errorlogs \
	    --test-args '-\# ~[\#test_seccomp]~[native-only]' && \
	$(TIMED) seccomp-cross-arch tests/integration/seccomp/cross_arch.sh $(BUILD)/runtime/berth-seccomp-compile \
	    $(ARM64_BUILD)/runtime/berth-seccomp-compile
arm64-unit-test: arm64-test-build build
	$(ARM64_UNIT_TEST)

ARM64_QEMU_TEST = $(TIMED) qemu-arm64 python3 qemu-tests/run_tests.py --arch arm64 --berth $(BERTH) \
	    --images $(ARM64_IMAGES) --host-images $(IMAGES) --init $(ARM64_BUILD)/init/berth-init \
	    --out $(BUILD)/qemu-tests-arm64 --boot-timeout 300
arm64-qemu-test: images arm64-test-build $(ARM64_IMAGES)/busybox/bin/busybox
	$(ARM64_QEMU_TEST)

