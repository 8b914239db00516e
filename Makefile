# guestsync — `make demo` runs the main job end to end; `make test` runs every test.
GO      ?= go
PKGS    := ./...
BIN     := bin/guestsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

.PHONY: all build demo test vet fmt-check unit bench fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/guestsync

## demo: start an in-process Graph emulator, sync the embedded partner export, sync again.
demo:
	$(GO) run ./cmd/guestsync demo

## test: formatting, go vet, and every test, with real directory servers that
## .ci/with-testservers installs (Debian packages) and starts on loopback, and
## stops afterwards even when tests fail.
test: fmt-check vet
	.ci/with-testservers $(GO) test -count=1 $(PKGS)
	cd third_party/asn1-ber && $(GO) vet . && $(GO) test -count=1 .
	@# Every parser of outside input, briefly. Counts of runs, not
	@# durations: Go 1.26's fuzz coordinator can fail a run at the end of a
	@# -fuzztime duration with a bare "context deadline exceeded"
	@# (golang/go#75804, fixed in 1.27), more often on a loaded machine; a
	@# count sets no deadline. A few seconds each on 2 cores.
	$(MAKE) --no-print-directory fuzz FUZZ_COUNT=20000x FUZZ_FLAGS=-fuzzminimizetime=0

fmt-check:
	@out=$$(gofmt -l cmd pkg mappings examples third_party); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## unit: the tests that need no directory server.
unit:
	$(GO) test -count=1 $(PKGS)

## bench: Go benchmarks (numbers, never pass/fail), one package at a time, with a
## slapd holding 100,000 partners (the reader against ldapsearch, the no-change run)
## and the Samba AD DC (10,000 shadows: a first sync and a no-change run); more
## than go test's default 10 minutes in all.
bench:
	GUESTSYNC_TESTSERVERS=slapd,samba GUESTSYNC_TEST_SLAPD_PARTNERS=100000 GUESTSYNC_BENCH=1 \
		.ci/with-testservers $(GO) test -p 1 -timeout 60m -run='^$$' -bench=. -benchmem $(PKGS)

## fuzz: longer runs of every fuzz target, one parser of outside input each
## (a million inputs each: LDIF, LDAP entries, config, mapping files and
## expressions, saved plans, the state files, Graph's answers); a count
## for the reason given under test. FUZZ_COUNT sets the count, FUZZ_FLAGS adds
## flags (make test: no minimising).
FUZZ_COUNT ?= 1000000x
FUZZ_FLAGS ?=
FUZZ_TARGETS := \
	./pkg/mapping/expr:FuzzCompile \
	./pkg/mapping/expr:FuzzEvalLimits \
	./pkg/mapping:FuzzParse \
	./pkg/config:FuzzLoad \
	./pkg/yamlfile:FuzzDecode \
	./pkg/source/ldap:FuzzDecodeEntry \
	./pkg/source/ldif:FuzzParse \
	./pkg/state:FuzzLoad \
	./pkg/state:FuzzGuestsFile \
	./pkg/target/graph:FuzzDecodeGraphResponse \
	./pkg/source/graph:FuzzDecodeWatermark \
	./pkg/plan:FuzzDecode
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} ($(FUZZ_COUNT))"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZ_COUNT) $(FUZZ_FLAGS) "$${t%%:*}"; \
	done

clean:
	rm -rf bin
