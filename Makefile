# imgward: the README's two commands are `go run ./cmd/imgward serve` and
# `make test`. Every target installs what it needs from Debian's packages.

GO ?= go

.PHONY: test bench fuzz build vet

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) vet -tags pkcs11 ./kms/...

# test: every test, with real PostgreSQL, S3 (SeaweedFS) and SoftHSM2 (see scripts/test.sh).
test:
	sh scripts/test.sh

# bench: the benchmarks recorded in docs/BENCHMARKS.md.
bench:
	sh scripts/bench.sh

# fuzz: each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	sh scripts/fuzz.sh $(FUZZTIME)
