# The gateway's one Makefile.
#
#   make            build build/bin/gateway (and the tools), installing deps
#   make test       unit + end-to-end tests
#   make asan       the same tests against an Address/UB-sanitizer build
#   make run        a local node (see README)
#
# Dependencies come from pkg-config; libwebsockets is built with libevent
# support by deploy/build-lws.sh unless the system one already has it.

BUILD    ?= build
PYTHON   ?= /usr/bin/python3
CC       ?= cc
OPT      ?= -O2 -g
SAN      ?=

LWS_PREFIX ?= $(abspath build/lws)
PKG_CONFIG := PKG_CONFIG_PATH=$(LWS_PREFIX)/lib/pkgconfig:$$PKG_CONFIG_PATH pkg-config

PKGS     := libevent hiredis msgpack jansson openssl zlib libcap
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers -Werror
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
CFLAGS   += -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -MMD -MP \
            -Icommon -Igateway -I$(BUILD)/gen
LDFLAGS  += $(SANFLAGS)

# Resolved lazily, after the deps stamp exists.
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) libwebsockets_static 2>/dev/null)
DEP_LIBS   = $(shell $(PKG_CONFIG) --libs libwebsockets_static 2>/dev/null || echo -lwebsockets) \
             $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -ldl -lm

COMMON_SRC  := $(wildcard common/*.c)
GATEWAY_SRC := $(filter-out gateway/main.c,$(wildcard gateway/*.c))
LUA_SRC     := $(wildcard gateway/lua/*.lua)
STATIC_SRC  := $(wildcard dashboard/*.html dashboard/*.js dashboard/*.css dashboard/*.svg) \
               $(wildcard clients/js/gateway.js clients/js/gateway.d.ts)
TOOLS       := $(patsubst tools/%.c,$(BUILD)/bin/%,$(filter-out tools/gwbench_%.c,$(wildcard tools/*.c)))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
GATEWAY_OBJ := $(GATEWAY_SRC:%.c=$(BUILD)/obj/%.o)
DEPS_STAMP  := build/.deps-stamp

.SECONDARY:
.PHONY: all deps test unit e2e test-js test-browser asan run clean distclean
all: $(BUILD)/bin/gateway $(TOOLS)

# --- dependencies --------------------------------------------------------
deps: $(DEPS_STAMP)
$(DEPS_STAMP): deploy/install-deps.sh deploy/build-lws.sh deploy/lws-fetch.sh $(wildcard deploy/lws-patches/*.patch)
	@deploy/install-deps.sh
	@deploy/build-lws.sh $(LWS_PREFIX)
	@mkdir -p $(@D) && touch $@

# --- objects -------------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -c $< -o $@

$(BUILD)/libgwcommon.a: $(COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/libgwgateway.a: $(GATEWAY_OBJ)
	@rm -f $@; ar rcs $@ $^

# Lua scripts are embedded as C strings (gw_scripts.h), one per file.
$(BUILD)/gen/gw_scripts.h: $(LUA_SRC) deploy/embed-lua.sh
	@mkdir -p $(@D)
	deploy/embed-lua.sh $(LUA_SRC) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/gw_static.h: $(STATIC_SRC) deploy/embed-files.sh
	@mkdir -p $(@D)
	deploy/embed-files.sh $(STATIC_SRC) > $@.tmp && mv $@.tmp $@
$(GATEWAY_OBJ) $(BUILD)/obj/gateway/main.o: $(BUILD)/gen/gw_scripts.h $(BUILD)/gen/gw_static.h

LIBS = $(BUILD)/libgwgateway.a $(BUILD)/libgwcommon.a

$(BUILD)/bin/gateway: $(BUILD)/obj/gateway/main.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(DEP_LIBS) -o $@

$(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(DEP_LIBS) -o $@

# gwbench is several files: tools/gwbench_*.c are its parts, not tools.
$(BUILD)/bin/gwbench: $(BUILD)/obj/tools/gwbench.o \
		$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/gwbench_*.c)) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(DEP_LIBS) -o $@

# --- tests ---------------------------------------------------------------
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(DEP_LIBS) $(shell $(PKG_CONFIG) --libs cmocka libjwt) -o $@

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

e2e: all
	GW_BUILD=$(BUILD) $(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

# The JS client's unit tests, and the dashboard in a real (headless) browser
# against a real local cluster; the dashboard is embedded in the binary.
test-js:
	node --test clients/js/test/

test-browser: all
	GW_BUILD=$(BUILD) tests/browser/run.sh

test: all unit bench-smoke e2e test-js test-browser

# Benchmarks (docs/benchmarks.md). bench-smoke runs a tiny version of every
# scenario so the tool cannot rot: it fails when gwbench does (a ramp that
# falls short, a fan-out that delivers nothing, wrong presence in Redis).
BENCH_SCENARIOS := idle idle-cluster connect fanout fanout-cluster churn slow
.PHONY: bench bench-smoke bench-envelope bench-compare
bench: all
	GW_BUILD=$(BUILD) bench/run.sh all
	$(MAKE) bench-compare
# The gateway against Socket.IO 4.8 under the same Node clients (both
# scenarios, loopback and netns, 3 runs each; COMPARE_ARGS=--quick for a
# few seconds). Needs node/npm; installs bench/node_modules on first use.
COMPARE_ARGS ?= --scenario all --mode both
bench-compare: all
	GW_BUILD=$(BUILD) bench/compare $(COMPARE_ARGS)
# The envelope codec alone (encode + decode of a lobby broadcast).
bench-envelope: $(BUILD)/tests/bench_envelope
	$(BUILD)/tests/bench_envelope
bench-smoke: all
	@mkdir -p $(BUILD)/bench-smoke
	@set -e; for s in $(BENCH_SCENARIOS); do \
		log=$(BUILD)/bench-smoke/$$s.log; \
		if GW_BUILD=$(BUILD) BENCH_SMOKE=1 bench/run.sh $$s --quiet >$$log 2>&1; then \
			echo "bench-smoke $$s: ok"; \
		else \
			cat $$log; echo "bench-smoke $$s: FAILED (log: $$log)"; exit 1; \
		fi; \
	done

asan:
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) BUILD=build/asan SAN=1 OPT="-O1 -g" test

run: all
	GW_BUILD=$(BUILD) deploy/run-local.sh

clean:
	rm -rf $(BUILD)/obj $(BUILD)/bin $(BUILD)/tests $(BUILD)/gen $(BUILD)/*.a build/asan
distclean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
