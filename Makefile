# pylog-handlers: `make demo` and `make test` are all a new user needs.
# Every target installs what it uses (Rust target, Debian packages, a venv).

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo target)
COMPONENT := $(TARGET_DIR)/wasm32-wasip2/component/pylog_handlers.wasm
# The plugin without wasi:http, which `pylog compose` uses when no HTTPHandler
# is configured; built in its own target folder so that the two builds do not
# take turns overwriting one cdylib.
COMPONENT_WITHOUT_HTTP := $(TARGET_DIR)/wasm32-wasip2/component/pylog_handlers_without_http.wasm
PYLOG := $(TARGET_DIR)/release/pylog
VENV := .venv
APT_GET := $(shell command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get

.PHONY: all build fixtures compose wac-dep wasmtime-dep test lint demo bench fuzz deps rust-deps py-deps js-deps sys-deps syslog-ng-dep clean

all: build

## Toolchain pieces the build needs.
rust-deps:
	@rustup toolchain install >/dev/null  # the toolchain in rust-toolchain.toml, with its target and components
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

## Debian packages the tests' peers need (rsyslog with its TLS and RELP modules,
## openssl to make the TLS tests' certificates).
sys-deps:
	@missing=""; \
	  command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ] || missing="$$missing rsyslog"; \
	  dpkg -s rsyslog-gnutls >/dev/null 2>&1 || missing="$$missing rsyslog-gnutls"; \
	  dpkg -s rsyslog-relp >/dev/null 2>&1 || missing="$$missing rsyslog-relp"; \
	  command -v openssl >/dev/null || missing="$$missing openssl"; \
	  [ -e /usr/share/zoneinfo/Asia/Kolkata ] || missing="$$missing tzdata"; \
	  $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	  command -v node >/dev/null || missing="$$missing nodejs"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq $$missing >/dev/null; \
	  fi

## Python packages for the tests, in a venv under the repo.
py-deps: sys-deps $(VENV)/.installed
$(VENV)/.installed: requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-test.txt
	touch $@

## jco and preview2-shim for the JavaScript example, pinned in its package.json and lock file
## (`npm install`: `npm ci` trips over jco's per-platform optional packages).
js-deps: sys-deps examples/js/node_modules/.installed
examples/js/node_modules/.installed: examples/js/package-lock.json
	cd examples/js && npm install --silent --no-audit --no-fund
	touch $@

deps: rust-deps sys-deps py-deps js-deps syslog-ng-dep

## syslog-ng, the second syslog receiver the tests start. Debian's
## syslog-ng-core conflicts with rsyslog (installing one removes the other),
## so its package is unpacked into the cache and run from there; only its
## libraries are installed.
SYSLOG_NG := $(HOME)/.cache/pylog-handlers/syslog-ng
SYSLOG_NG_LIBS := libivykis0 libnet1 libwrap0 libpcre3 libjson-c5
syslog-ng-dep:
	@missing=""; for p in $(SYSLOG_NG_LIBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq $$missing >/dev/null; \
	  fi
	@[ -x $(SYSLOG_NG)/usr/sbin/syslog-ng ] || { \
	  tmp=$$(mktemp -d) && (cd $$tmp && chmod 777 . && { $(APT_GET) download -qq syslog-ng-core 2>/dev/null || \
	    { $(APT_GET) update -qq && $(APT_GET) download -qq syslog-ng-core; }; }) && \
	  mkdir -p $(SYSLOG_NG) && dpkg -x $$tmp/syslog-ng-core_*.deb $(SYSLOG_NG) && rm -rf $$tmp && \
	  echo "syslog-ng unpacked in $(SYSLOG_NG)"; }

## The component (LTO), its build without wasi:http and the configuration
## component (both for `pylog compose`), and the host with the `pylog` CLI.
build: rust-deps
	$(CARGO) build --profile component --target wasm32-wasip2 -p pylog-handlers --no-default-features \
	  --target-dir $(TARGET_DIR)/without-http
	mkdir -p $(dir $(COMPONENT_WITHOUT_HTTP))  # absent in a cold target dir until the main build
	cp $(TARGET_DIR)/without-http/wasm32-wasip2/component/pylog_handlers.wasm $(COMPONENT_WITHOUT_HTTP)
	$(CARGO) build --profile component --target wasm32-wasip2 -p pylog-handlers -p pylog-route-config
	$(CARGO) build --release -p pylog-host
	@echo "component: $(COMPONENT) ($$(stat -c %s $(COMPONENT)) bytes)"

## The composition demo: the example extension (imports wasi:logging) with
## our component plugged into that import by wac (crates.io `wac-cli`).
WAC := $(shell command -v wac 2>/dev/null || echo $(HOME)/.cargo/bin/wac)
EXTENSION := $(TARGET_DIR)/wasm32-wasip2/component/example_extension.wasm
COMPOSED := $(TARGET_DIR)/wasm32-wasip2/component/extension_with_pylog.wasm
wac-dep:
	@[ -x "$(WAC)" ] || $(CARGO) install wac-cli --locked --no-default-features
compose: build wac-dep
	$(CARGO) build --profile component --target wasm32-wasip2 -p example-extension -p example-http-extension
	$(WAC) plug $(EXTENSION) --plug $(COMPONENT) -o $(COMPOSED)
	@echo "composed: $(COMPOSED) ($$(stat -c %s $(COMPOSED)) bytes)"

## The stock wasmtime CLI, the version our host links (from Cargo.lock), for
## the tests that run `pylog compose`'s output in a host that is not ours.
## Built once and cached outside the clone, with the features those tests
## use (`run`, `serve`, `-S http`; `serve` needs component-model-async to
## build): the default set (wasi-nn, winch, pulley, the debugger, objdump,
## ...) took 15m15s on a cold 2-core machine against 10m43s, the longest
## step of a cold `make test`.
WASMTIME_VERSION := $(shell awk '/^name = "wasmtime"$$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
WASMTIME_FEATURES := run,serve,cranelift,component-model,component-model-async,wasi-http,cache,parallel-compilation,pooling-allocator,backtrace,clap/default,clap/wrap_help
WASMTIME_ROOT := $(HOME)/.cache/pylog-handlers/wasmtime-cli-$(WASMTIME_VERSION)-$(shell echo '$(WASMTIME_FEATURES)' | md5sum | cut -c1-8)
export PYLOG_WASMTIME := $(WASMTIME_ROOT)/bin/wasmtime
wasmtime-dep:
	@[ -x "$(PYLOG_WASMTIME)" ] || $(CARGO) install wasmtime-cli --version $(WASMTIME_VERSION) --locked \
	  --no-default-features --features '$(WASMTIME_FEATURES)' --root $(WASMTIME_ROOT)

## Test fixtures: a plugin that misbehaves on purpose, for the sandbox tests.
fixtures: rust-deps
	$(CARGO) build --profile component --target wasm32-wasip2 -p hostile-plugin

## fmt and clippy for the host, the native core and the component shim.
lint: rust-deps
	$(CARGO) fmt --all -- --check
	python3 scripts/check_layers.py
	python3 scripts/check_sizes.py
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --profile component --target wasm32-wasip2 -p pylog-handlers -p hostile-plugin -p example-extension -p example-http-extension -p pylog-route-config -- -D warnings

## The whole suite: unit tests of the native core, host tests, and
## integration tests against CPython (and, where present, rsyslog).
## Release mode, so that wasmtime is compiled once for build and test.
test: lint build fixtures compose wasmtime-dep deps
	$(CARGO) test --release --workspace

## Build, then show records through a real handler.
demo: build
	@bash examples/demo.sh "$(PYLOG)" "$(COMPONENT)"

## Side-by-side throughput (CPython, component, native core, wire) and
## rewrites BENCHMARKS.md. Separate from `test`: numbers are measured, never asserted.
bench: build
	$(CARGO) build --release --example native_emit
	$(CARGO) bench --bench throughput
	$(PYTHON) benches/python/emit_bench.py $(TARGET_DIR)/release/pylog 100000 5 BENCHMARKS.md
	$(PYTHON) benches/python/listen_bench.py $(TARGET_DIR)/release/pylog 100000 5 BENCHMARKS.md
	$(PYTHON) benches/python/syslog_transports_bench.py $(TARGET_DIR)/release/pylog 100000 3 BENCHMARKS.md

## Fuzz the receiver's frame decoder, the syslog parser, the % formatter and
## the dictConfig loader, FUZZ_SECONDS each. Separate from `test` because it
## builds everything again with coverage instrumentation (several minutes).
## cargo-fuzz drives libFuzzer; RUSTC_BOOTSTRAP lets the stable toolchain
## accept the flags it passes.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := frame_decoder syslog_parser percent_format dictconfig
fuzz: rust-deps
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 || exit 1; \
	done

clean:
	$(CARGO) clean
	rm -rf $(VENV) examples/js/node_modules examples/js/out
