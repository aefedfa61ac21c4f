# The two commands of the README:
#   make demo   a local demo: control plane, CRD, operator, example TetrisApp, the game on http://127.0.0.1:8080
#   make test   every test (CI runs exactly this through .ci/run)
# Both install what they need on a fresh Debian machine.

SHELL := /bin/bash
export TETRIS_CACHE ?= $(HOME)/.cache/tetris-operator
# Builds go to a cache outside the clone, so a fresh clone (CI) reuses compiled dependencies.
export CARGO_TARGET_DIR ?= $(TETRIS_CACHE)/target
# No incremental data: a fresh clone's workspace crates compile from scratch anyway (their paths,
# and so their hashes, differ per clone), and incremental data of every clone path piled up to 16 GB.
export CARGO_INCREMENTAL ?= 0

.PHONY: demo test setup control-plane lint unit-test test-rust test-web test-deploy bench bench-game bench-operator crds fmt

demo: setup
	hack/demo.sh

test: setup
	hack/test.sh

setup:
	hack/setup.sh

control-plane:
	hack/control-plane/build.sh

test-rust: setup
	cargo test --workspace

test-web:
	hack/test-web.sh

test-deploy:
	hack/test-deploy.sh

bench: bench-game bench-operator

bench-game: setup
	hack/bench-game.sh

bench-operator: setup
	hack/bench-operator.sh

# Regenerates the CRD and everything derived from it (the chart's copy, the spec reference).
crds:
	cargo run -q -p tetris-operator -- crd > crds/tetrisapps.gameops.dev.yaml
	cp crds/tetrisapps.gameops.dev.yaml deploy/helm/tetris-operator/files/crds/
	python3 hack/gen-spec-reference.py

fmt:
	cargo fmt --all
