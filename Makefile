# Switchboard developer entry points. `make` alone lists the targets.
#
# Downloads and tools go under $(CACHE) (default ./.cache), except the Go
# module and build caches when the machine already has them, so that they are
# reused. Variables worth setting on the command line:
#   PKGS=./appliance/...     what test, vet, lint and fuzz cover (default ./...)
#   TESTFLAGS='-run TestX -v' extra flags for go test
#   FUZZTIME=1m              how long each Fuzz target runs
#   SWITCHBOARD_REQUIRE_ALL=1 make tests that lack root or a package fail
#                            instead of skipping (CI sets it)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# The go command: the one on PATH, else the standard install location.
ifeq ($(origin GO),undefined)
GO := $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)
endif

CACHE ?= $(CURDIR)/.cache

# Keep the machine's Go caches when they exist (downloads are reused);
# otherwise, as on a fresh machine, keep them under $(CACHE).
ifeq ($(origin GOMODCACHE),undefined)
go_modcache := $(shell $(GO) env GOMODCACHE 2>/dev/null)
GOMODCACHE := $(if $(and $(go_modcache),$(wildcard $(go_modcache))),$(go_modcache),$(CACHE)/gomod)
endif
ifeq ($(origin GOCACHE),undefined)
go_buildcache := $(shell $(GO) env GOCACHE 2>/dev/null)
GOCACHE := $(if $(and $(go_buildcache),$(wildcard $(go_buildcache))),$(go_buildcache),$(CACHE)/go-build)
endif
# Developer tools (staticcheck) are installed here, not in ~/go/bin.
GOBIN := $(CACHE)/bin
export GOMODCACHE GOCACHE GOBIN

# Passed through to the tests (see tools/testenv).
ifdef SWITCHBOARD_REQUIRE_ALL
export SWITCHBOARD_REQUIRE_ALL
endif

ifeq ($(origin VERSION),undefined)
VERSION := $(or $(shell git -C $(CURDIR) describe --always --dirty 2>/dev/null),0.0.0-dev)
endif

DEMO ?= 1
PKGS ?= ./...
TESTFLAGS ?=
FUZZTIME ?= 10s

# Host tools the image build needs (see image.Tools and docs/image.md), and
# QEMU with UEFI firmware for the boot test.
IMAGE_PACKAGES := mmdebstrap uidmap squashfs-tools-ng binutils fdisk dosfstools mtools e2fsprogs zstd
QEMU_PACKAGES := qemu-system-x86 ovmf iproute2
# Debian packages the tests need (the image tests build and boot the image).
# simplesamlphp is the test IdP; php-cgi and nginx-light satisfy its
# dependencies without pulling in Apache.
SAML_PACKAGES := simplesamlphp php-cli php-cgi php-xml php-mbstring php-curl nginx-light
# Wine runs the Windows support app under Xvfb; MinGW builds the
# bcryptprimitives.dll shim Wine 8 lacks; xdotool answers its dialogs.
WINE_PACKAGES := wine wine64 gcc-mingw-w64-x86-64 xdotool
# dnsmasq serves DHCP to the box in appliance/netcfg's tests.
NET_PACKAGES := dnsmasq-base
# pebble and pebble-challtestsrv: the ACME test server and its DNS.
ACME_PACKAGES := pebble
TEST_PACKAGES := chromium-headless-shell xvfb ca-certificates $(SAML_PACKAGES) $(IMAGE_PACKAGES) $(QEMU_PACKAGES) $(WINE_PACKAGES) $(NET_PACKAGES) $(ACME_PACKAGES)

# The image version: dotted numbers, because systemd-boot orders boot
# entries by version. `make image VERSION=0.2.0` sets it too.
ifeq ($(origin VERSION),command line)
IMAGE_VERSION ?= $(VERSION)
endif
IMAGE_VERSION ?= 0.1.0
# Every file of the root image is dated at most this; the same inputs and
# epoch give the same root image. Default: the time of the last commit.
SOURCE_DATE_EPOCH ?= $(or $(shell git -C $(CURDIR) log -1 --format=%ct 2>/dev/null),1700000000)
IMAGE := out/switchboard-$(IMAGE_VERSION).img
# Update-signing public keys compiled into the image's applianced
# (comma-separated; `go run ./cmd/mkbundle -print-trust KEY.pub` prints one).
# Empty: the box accepts no update bundle.
TRUSTED_KEYS ?=
# The Ed25519 private key `make update-bundle` signs with: the public test
# key by default (anyone can sign with it; never trust it on a real box).
UPDATE_KEY ?= image/testdata/keys/test-update.key

STATICCHECK := $(GOBIN)/staticcheck

.PHONY: help build clients run deps test bench lint image image-deps image-test image-clean update-bundle fuzz clean

help: ## list the targets
	@echo 'usage: make TARGET [VAR=value ...]'
	@echo
	@awk 'BEGIN { FS = ":[^#]*## " } /^[a-zA-Z_-]+:[^#]*## / { printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: clients ## build out/applianced and the support app builds
	$(GO) build -trimpath -ldflags '-X main.version=$(VERSION)' -o out/applianced ./cmd/applianced

# The customer's support app for every platform the public site offers
# (pure Go, so cross-compiling needs nothing else).
CLIENT_PLATFORMS := linux-amd64 linux-arm64 windows-amd64 darwin-arm64
clients: ## build out/clients/supportclient-OS-ARCH for each platform
	@mkdir -p out/clients
	@for p in $(CLIENT_PLATFORMS); do \
		os=$${p%-*}; arch=$${p#*-}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "supportclient $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=false -ldflags '-s -w -buildid=' -o out/clients/supportclient-$$p$$ext ./cmd/supportclient || exit 1; \
	done

run: build ## run the daemon in dev mode with demo data (state in ./var; DEMO=0 for an empty desk)
	out/applianced -dev $(if $(filter 1,$(DEMO)),-demo)

deps: ## install the Debian packages the tests need (root or sudo; idempotent)
	SWITCHBOARD_CACHE='$(CACHE)' bash tools/sysdeps/install.sh $(TEST_PACKAGES)
	bash tools/sysdeps/kernel.sh '$(CACHE)/kernel'

test: deps ## install deps, then go vet and every test
	$(GO) vet $(PKGS)
	SWITCHBOARD_CACHE='$(CACHE)' $(GO) test -count=1 -timeout 30m -p 2 $(TESTFLAGS) $(PKGS)

bench: ## run the benchmarks (ratios against baselines measured in the same run)
	SWITCHBOARD_CACHE='$(CACHE)' bash tools/sysdeps/install.sh nginx-light
	$(GO) run ./tools/bench

lint: $(STATICCHECK) ## go vet and staticcheck
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

# The Debian staticcheck is too old for the Go release we use.
$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@latest

image-deps: ## install the image build tools and a subordinate id range for rootless mmdebstrap
	SWITCHBOARD_CACHE='$(CACHE)' bash tools/sysdeps/install.sh $(IMAGE_PACKAGES) $(QEMU_PACKAGES)
	@# mmdebstrap --mode=unshare maps the build's users to a subordinate id
	@# range; without one it runs as root (--mode=root). The new range starts
	@# after every range already given out.
	@if [ "$$(id -u)" -eq 0 ] && ! grep -q '^root:' /etc/subuid 2>/dev/null; then \
		start=$$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: 'BEGIN { m = 100000 } $$2 + $$3 > m { m = $$2 + $$3 } END { print m }'); \
		end=$$((start + 65535)); \
		echo "image-deps: adding subordinate ids $$start-$$end for root"; \
		usermod --add-subuids "$$start-$$end" --add-subgids "$$start-$$end" root; \
	fi

image: image-deps ## build out/switchboard-VERSION.img and .img.zst, root.squashfs, UKIs
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./cmd/mkimage -version '$(IMAGE_VERSION)' \
		-go '$(GO)' -out out -cache '$(CACHE)/image' -trust '$(TRUSTED_KEYS)'

image-test: image ## boot the image in QEMU and check HTTPS, HTTP/3, setup and a reboot
	SWITCHBOARD_IMAGE='$(CURDIR)/$(IMAGE)' $(GO) test -count=1 -timeout 30m -v -run 'TestImage' ./tools/qemu/

update-bundle: ## sign out/switchboard-VERSION.bundle from `make image`'s parts with UPDATE_KEY
	$(GO) run ./cmd/mkbundle -key '$(UPDATE_KEY)' -version '$(IMAGE_VERSION)' -dir 'out/switchboard-$(IMAGE_VERSION)' -o 'out/switchboard-$(IMAGE_VERSION).bundle'

image-clean: ## remove built images and the image build cache
	rm -rf out/switchboard-* '$(CACHE)/image'

fuzz: ## run every Fuzz target for FUZZTIME (default 10s) each
	@targets=$$($(GO) test -list '^Fuzz' $(PKGS) | \
		awk '/^Fuzz/ { names[n++] = $$1; next } /^ok/ { for (i = 0; i < n; i++) print $$2, names[i] } { n = 0 }'); \
	if [ -z "$$targets" ]; then echo 'fuzz: no Fuzz targets'; exit 0; fi; \
	while read -r pkg name; do \
		echo "fuzz: $$pkg $$name"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime '$(FUZZTIME)' "$$pkg" </dev/null; \
	done <<< "$$targets"

clean: ## remove build outputs and dev-mode state (out/, var/)
	rm -rf out var
