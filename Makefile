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
