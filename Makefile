# The two commands a new machine needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin
PKGS    := ./...

.PHONY: all build demo test test-postgres bench deps vet clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Runs the whole flow on an embedded SQLite file in a temporary folder.
demo: build
	bash scripts/demo.sh

# Everything the tests need beyond Go is installed here, only where missing.
deps:
	bash scripts/install-deps.sh

test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)

# The server suite again on PostgreSQL, in a throwaway cluster.
test-postgres: deps
	bash scripts/test-postgres.sh

# Prints one table: figure, unit, target.
bench: deps
	bash scripts/bench.sh

clean:
	rm -rf $(BIN) .bench-cache
