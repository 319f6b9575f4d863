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

PKGS ?= ./...
TESTFLAGS ?=
FUZZTIME ?= 10s

# Debian packages the tests need. The image and QEMU packages (mmdebstrap,
# qemu-system-x86, ovmf, ...) get added here by the image issue.
TEST_PACKAGES := chromium-headless-shell xvfb ca-certificates

STATICCHECK := $(GOBIN)/staticcheck

.PHONY: help build run deps test bench lint image fuzz clean

help: ## list the targets
	@echo 'usage: make TARGET [VAR=value ...]'
	@echo
	@awk 'BEGIN { FS = ":[^#]*## " } /^[a-zA-Z_-]+:[^#]*## / { printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build out/applianced
	$(GO) build -trimpath -ldflags '-X main.version=$(VERSION)' -o out/applianced ./cmd/applianced

run: build ## run the daemon in dev mode (state in ./var; it prints its URLs)
	out/applianced -dev

deps: ## install the Debian packages the tests need (root or sudo; idempotent)
	SWITCHBOARD_CACHE='$(CACHE)' bash tools/sysdeps/install.sh $(TEST_PACKAGES)

test: deps ## install deps, then go vet and every test
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 30m -p 2 $(TESTFLAGS) $(PKGS)

bench: ## run the benchmarks (ratios against baselines measured in the same run)
	$(GO) run ./tools/bench

lint: $(STATICCHECK) ## go vet and staticcheck
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

# The Debian staticcheck is too old for the Go release we use.
$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@latest

image: ## build the bootable disk image
	@echo 'image: not yet built (see issue 3)' >&2
	@exit 1

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
