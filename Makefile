# Targets a newcomer can guess. Tests that touch SCTP run in a QEMU VM with a real
# Linux kernel when this host's kernel has no SCTP (see test/rig); `make setup`
# installs what that needs and is run by the targets that need it.
GO ?= go
PKGS := ./...

# The packages whose tests need no SCTP and run on this host, fast, under the
# race detector. The tests that need the kernel live in the kerneltest
# subpackages (sctpsock/kerneltest, diag/kerneltest, ...) and test/, which
# `make test` runs in the VM with everything else. proxy/ is not listed: its
# tests still all run in the VM.
UNIT_PKGS := ./admin/ ./bench/internal/proc/ ./bench/internal/report/ ./bench/iperf/ ./bench/seed/ ./bench/throughput/ ./calibrate/ ./cmd/sctpguard/ \
	./config/ ./diag/ ./gate/ ./kaudit/ ./metrics/ ./quota/ ./sctpsock/ ./sdnotify/

# Linters, pinned, built from the module proxy by go run (cached after the first run).
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE := $(GO) run golang.org/x/tools/cmd/deadcode@v0.49.0
# The Debian packager, pinned the same way.
NFPM := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

# The package's version: make deb VERSION=1.2.3 for a release. The default
# sorts by commit time, so a later commit's package upgrades an earlier one's.
VERSION ?= 0.1.0~git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0)
# Where make deb leaves sctpguard_VERSION_ARCH.deb.
DEB_DIR ?= bin

.PHONY: all build deb setup test unit lint demo bench clean

all: build

build:
	$(GO) build -o bin/sctpguard ./cmd/sctpguard

# The Debian package (packaging/deb): a static binary that reports VERSION,
# the unit with ExecStart in /usr/bin, the system user, the example config as
# /etc/sctpguard/sctpguard.hcl, the man page and docs/.
# packaging/deb/nfpm.yaml reads the staged files from bin/deb-stage.
deb: STAGE := bin/deb-stage
deb:
	rm -rf $(STAGE) && mkdir -p $(STAGE) $(DEB_DIR)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(STAGE)/sctpguard ./cmd/sctpguard
	sed -e '1,/^\[Unit\]/{/^#/d}' -e 's,/usr/local/bin/sctpguard,/usr/bin/sctpguard,g' systemd/sctpguard.service >$(STAGE)/sctpguard.service
	gzip -9n <docs/sctpguard.1 >$(STAGE)/sctpguard.1.gz
	VERSION='$(VERSION)' ARCH=$$($(GO) env GOARCH) \
		$(NFPM) package -p deb -f packaging/deb/nfpm.yaml -t $(DEB_DIR)/sctpguard_$(VERSION)_$$($(GO) env GOARCH).deb

setup:
	bash test/rig/setup.sh

# Every test: lint, the pure-logic packages under the race detector, then all
# packages (the SCTP ones in the VM), then every Go benchmark once, short, with
# allocations reported (the hot paths must not allocate per message).
test: setup lint
	$(GO) test -race -count=1 $(UNIT_PKGS)
	$(GO) test -count=1 -timeout 25m $(PKGS)
	$(GO) test -count=1 -short -run '^$$' -bench . -benchtime 200x -benchmem $(PKGS)

# Only the fast native tests, no VM.
unit:
	$(GO) test -race $(UNIT_PKGS)

# gofmt, go vet, staticcheck, and no dead code: no function that neither the
# commands nor the tests can reach. Examples without an Output comment are left
# out of the last: go test compiles them but never calls them, they are
# documentation.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)
	@out=$$($(DEADCODE) -test $(PKGS)) || exit 1; \
	out=$$(echo "$$out" | grep -v ': unreachable func: Example'); \
	if [ -n "$$out" ]; then echo "dead code:"; echo "$$out"; exit 1; fi

demo: setup
	bash demo/demo.sh

# The benchmarks in one VM boot, one table each: relay cost (throughput, CPU per
# message, latency) and the seed scenario's memory, direct vs socat vs sctpguard, and
# 10,000 associations through one sctpguard.
# make bench BENCH_FLAGS=-quick for a short smoke run; BENCH_FLAGS="-md FILE" also
# writes the tables as markdown; BENCH_FLAGS="-only scale" (throughput, seed, stalled) runs one.
BENCH_FLAGS ?=
bench: setup
	bash bench/run.sh $(BENCH_FLAGS)

clean:
	rm -rf bin
