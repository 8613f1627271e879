# tidings: `make run` sets everything up and runs the engine; `make test` sets
# everything up and runs every check. Both work on a fresh machine: every install
# step lives here, pinned by the lock files.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
UV := $(TOOLS)/venv/bin/uv
BUF := tools/node_modules/.bin/buf
STAMPS := $(VENV)/.stamps

RUST_SOURCES := $(shell find rust -name '*.rs' -o -name 'Cargo.toml' -o -name 'build.rs' 2>/dev/null) Cargo.toml $(wildcard Cargo.lock) $(wildcard protos/tidings/v1/*.proto)

.PHONY: help setup run test lint typecheck rust-check buf-lint buf-breaking proto proto-check clients clients-check clients-deps floor-check dist wheel-check config-doc pytest pytest-mistral bench bench-retention kafka-start kafka-stop mistral-start mistral-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

# --- setup -------------------------------------------------------------------

$(UV):
	$(PYTHON) -m venv $(TOOLS)/venv
	$(TOOLS)/venv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMPS)/deps: requirements-dev.lock | $(UV)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(UV) pip sync --quiet --python $(PY) requirements-dev.lock
	# maturin develop installs the extension with pip; keep it in the venv.
	$(UV) pip install --quiet --python $(PY) pip
	mkdir -p $(STAMPS) && touch $@

# `npm install` with the committed lock (not `npm ci`: npm 11 leaves other platforms'
# optional buf binaries out of the lock file, and `npm ci` then refuses it).
$(BUF): tools/package.json tools/package-lock.json
	npm install --prefix tools --no-save --no-audit --no-fund --loglevel=error
	touch $@

$(STAMPS)/ext: $(STAMPS)/deps $(RUST_SOURCES) pyproject.toml
	$(VENV)/bin/maturin develop --release --quiet
	touch $@

setup: $(STAMPS)/deps $(BUF) $(STAMPS)/ext ## install everything (venv, tools, Rust extension)

lock: | $(UV) ## re-resolve requirements-dev.lock from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --universal --python-version 3.11 -o requirements-dev.lock

# --- run ---------------------------------------------------------------------

run: setup ## start a local Kafka broker and `tidings serve` (Ctrl-C stops both)
	scripts/dev-run

kafka-start: ## start the local Kafka broker (scripts/kafka start)
	scripts/kafka start

kafka-stop: ## stop the local Kafka broker
	scripts/kafka stop

mistral-start: ## start real OpenStack Mistral on 127.0.0.1 (scripts/mistral start; installs it first)
	scripts/mistral start

mistral-stop: ## stop it
	scripts/mistral stop

# --- checks ------------------------------------------------------------------

lint: setup ## ruff, cargo fmt, stubtest of the Rust extension's stub, the import walls, module sizes, buf breaking
	$(VENV)/bin/ruff check python tests bench scripts
	$(VENV)/bin/ruff format --check python tests bench scripts
	cargo fmt --all --check
	# python/tidings/_codec.pyi against the built extension (names, parameters, __all__).
	$(PY) -m mypy.stubtest tidings._codec
	# The walls of ARCHITECTURE.md (import-linter contracts in pyproject.toml).
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_module_size.py
	# docs/operations.md's configuration reference against python/tidings/config.py.
	$(PY) scripts/config_doc.py --check
	# The protos against the main branch (buf breaking): generated clients keep working.
	$(BUF) breaking --against '$(BREAKING_AGAINST)'

config-doc: setup ## rewrite the configuration reference of docs/operations.md from the config schema
	$(PY) scripts/config_doc.py

typecheck: setup ## mypy --strict on python/tidings, tests and bench
	$(VENV)/bin/mypy --strict

rust-check: ## cargo clippy -D warnings, cargo test
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test -p tidings-codec --locked

buf-lint: setup ## buf lint (STANDARD, COMMENTS)
	$(BUF) lint

# The branch the protos must stay compatible with: main where it is a local branch (a
# clone of main), else the remote's (a clone checked out on another branch).
HASH := \#
BREAKING_AGAINST ?= .git$(HASH)$(shell git rev-parse --verify -q refs/heads/main >/dev/null && echo branch=main || echo ref=refs/remotes/origin/main)

buf-breaking: setup ## buf breaking (FILE rules) against the main branch: no change that breaks clients
	$(BUF) breaking --against '$(BREAKING_AGAINST)'

proto: setup ## regenerate python/tidings/v1 from protos/
	$(PY) scripts/protogen.py

proto-check: setup ## fail if the committed generated code is stale
	$(PY) scripts/protogen.py --check

# --- generated clients ---------------------------------------------------------
# clients/{go,java,typescript}: stubs generated from protos/ by buf with local, pinned
# plugins (scripts/clientgen.py; clients/buf.gen.*.yaml). Go's plugins come from the Go
# module proxy, protoc and protoc-gen-grpc-java from Maven Central, protoc-gen-es from
# npm. grpc-java's and protobuf's versions here match clients/java/pom.xml's.
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTOC_VERSION := 4.36.2
GRPC_JAVA_VERSION := 1.85.0
MAVEN_DEPENDENCY_PLUGIN := org.apache.maven.plugins:maven-dependency-plugin:3.8.1
GO_TOOLS := $(TOOLS)/go
JAVA_TOOLS := $(TOOLS)/java
TS_CLIENT := clients/typescript
# Maven Central's classifier of this machine's protoc builds (linux-x86_64, osx-aarch_64, ...).
PROTOC_OS := $(shell uname -s | tr A-Z a-z | sed 's/darwin/osx/')
PROTOC_ARCH := $(shell uname -m | sed -e 's/^amd64$$/x86_64/' -e 's/^arm64$$/aarch_64/' -e 's/^aarch64$$/aarch_64/')
PROTOC_CLASSIFIER := $(PROTOC_OS)-$(PROTOC_ARCH)

$(GO_TOOLS)/.stamp-$(PROTOC_GEN_GO_VERSION)-$(PROTOC_GEN_GO_GRPC_VERSION):
	GOBIN=$(CURDIR)/$(GO_TOOLS)/bin go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(CURDIR)/$(GO_TOOLS)/bin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	touch $@

$(JAVA_TOOLS)/.stamp-$(PROTOC_VERSION)-$(GRPC_JAVA_VERSION):
	mkdir -p $(JAVA_TOOLS)
	mvn -q -B $(MAVEN_DEPENDENCY_PLUGIN):copy -DoutputDirectory=$(JAVA_TOOLS) \
	  -Dartifact=com.google.protobuf:protoc:$(PROTOC_VERSION):exe:$(PROTOC_CLASSIFIER)
	mvn -q -B $(MAVEN_DEPENDENCY_PLUGIN):copy -DoutputDirectory=$(JAVA_TOOLS) \
	  -Dartifact=io.grpc:protoc-gen-grpc-java:$(GRPC_JAVA_VERSION):exe:$(PROTOC_CLASSIFIER)
	install -m 755 $(JAVA_TOOLS)/protoc-$(PROTOC_VERSION)-$(PROTOC_CLASSIFIER).exe $(JAVA_TOOLS)/protoc
	install -m 755 $(JAVA_TOOLS)/protoc-gen-grpc-java-$(GRPC_JAVA_VERSION)-$(PROTOC_CLASSIFIER).exe $(JAVA_TOOLS)/protoc-gen-grpc-java
	touch $@

# The TypeScript client's packages (protoc-gen-es, connect-node, tsc), from its lock.
$(TS_CLIENT)/node_modules/.package-lock.json: $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	npm ci --prefix $(TS_CLIENT) --no-audit --no-fund --loglevel=error
	touch $@

CLIENT_GENERATORS := $(BUF) $(GO_TOOLS)/.stamp-$(PROTOC_GEN_GO_VERSION)-$(PROTOC_GEN_GO_GRPC_VERSION) \
	$(JAVA_TOOLS)/.stamp-$(PROTOC_VERSION)-$(GRPC_JAVA_VERSION) $(TS_CLIENT)/node_modules/.package-lock.json

clients: $(STAMPS)/deps $(CLIENT_GENERATORS) ## regenerate clients/{go,java,typescript} from protos/
	$(PY) scripts/clientgen.py

clients-check: $(STAMPS)/deps $(CLIENT_GENERATORS) ## fail if the committed generated clients are stale
	$(PY) scripts/clientgen.py --check

# What the clients' tests need before tests/test_clients.py runs them (Go and Maven
# fetch their own dependencies on the first run).
clients-deps: $(TS_CLIENT)/node_modules/.package-lock.json

# --- packaging -------------------------------------------------------------------

DIST := dist

dist: setup ## build the wheel (maturin, release) and the sdist into dist/
	rm -rf $(DIST)
	$(VENV)/bin/maturin build --release --quiet --out $(DIST)
	$(VENV)/bin/maturin sdist --out $(DIST)

# The wheel as an operator gets it: a fresh venv in a temporary folder outside the
# checkout, the wheel and its dependencies from the index (uv's cache makes it quick),
# then scripts/wheel_check.py, run from there: tidings serve, one workflow, a backup,
# SIGTERM.
wheel-check: dist ## install the wheel into a fresh venv outside the checkout; serve one workflow with it
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(UV) venv --quiet --python $(PY) "$$tmp/venv" && \
	$(UV) pip install --quiet --python "$$tmp/venv/bin/python" $(DIST)/tidings-*.whl && \
	cp scripts/wheel_check.py "$$tmp/" && \
	(cd "$$tmp" && env -u PYTHONPATH "$$tmp/venv/bin/python" wheel_check.py "$(CURDIR)")

# The runtime dependencies the generated code and the gRPC server touch, installed at the
# floors pyproject.toml states (scripts/floors.py reads them), with every transitive
# dependency at its lowest too (fixed versions: uv's cache serves them after the first
# run); the tidings wheel goes in without its dependencies.
FLOOR_VENV := $(TOOLS)/floor-venv
FLOOR_PACKAGES := protobuf grpcio grpcio-status grpcio-health-checking grpcio-reflection googleapis-common-protos

floor-check: dist ## import tidings.v1 and the gRPC modules we use with the lowest allowed versions
	rm -rf $(FLOOR_VENV)
	$(UV) venv --quiet --python $(PY) $(FLOOR_VENV)
	$(PY) scripts/floors.py $(FLOOR_PACKAGES) > $(FLOOR_VENV)/floors.txt
	$(UV) pip install --quiet --python $(FLOOR_VENV)/bin/python --resolution lowest -r $(FLOOR_VENV)/floors.txt
	$(UV) pip install --quiet --python $(FLOOR_VENV)/bin/python --no-deps $(DIST)/tidings-*.whl
	$(FLOOR_VENV)/bin/python -W error scripts/floor_check.py $(FLOOR_VENV)/floors.txt

pytest: setup clients-deps ## pytest, including the real-Kafka, real-gRPC, real-Mistral (differential) and generated-client tests
	$(PY) -m pytest

pytest-mistral: setup ## only the differential test against real Mistral (tests/mistral/)
	$(PY) -m pytest -m mistral

test: lint typecheck rust-check buf-lint proto-check clients-check floor-check wheel-check pytest ## every check

bench: setup ## tidings bench's scenarios (codec, engine with Mistral, dispatch, e2e), then the listener bench
	$(PY) -m tidings bench --local --scenario codec
	$(PY) -m tidings bench --local --scenario engine
	$(PY) -m tidings bench --local --scenario dispatch
	$(PY) -m tidings bench --local --scenario e2e --duration 30
	$(PY) bench/listeners.py

bench-retention: setup ## the retention soak (5 minutes of steady load, retention 60 s): the database size curve
	$(PY) bench/retention.py

clean: ## remove build products and local state (not the download caches)
	scripts/kafka stop || true
	scripts/mistral stop || true
	rm -rf $(VENV) $(TOOLS) tools/node_modules target dist .data .kafka .mistral
	rm -rf clients/java/target clients/typescript/node_modules clients/typescript/dist
