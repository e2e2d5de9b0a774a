# The gateway's one Makefile.
#
#   make            build build/bin/gateway (and the tools), installing deps
#   make test       unit + end-to-end tests
#   make asan       the same tests against an Address/UB-sanitizer build
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (fuzz/README.md)
#   make run        a local node (see README)
#
# Dependencies come from pkg-config; libwebsockets is built with libevent
# support by deploy/build-lws.sh unless the system one already has it.

BUILD    ?= build
PYTHON   ?= /usr/bin/python3
CC       ?= cc
OPT      ?= -O2 -g
SAN      ?=

# The gateway's version: the one place it is written (gw_build.h reads it).
VERSION  := 0.1.0
# The commit it is built from; "unknown" outside a git checkout (a tarball,
# a Docker build context without .git). Override with `make COMMIT=...`.
COMMIT   ?= $(shell [ -e .git ] && git describe --always --dirty 2>/dev/null || echo unknown)

LWS_PREFIX ?= $(abspath build/lws)
PKG_CONFIG := PKG_CONFIG_PATH=$(LWS_PREFIX)/lib/pkgconfig:$$PKG_CONFIG_PATH pkg-config

PKGS     := libevent libevent_openssl hiredis msgpack jansson openssl zlib libcap
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers -Werror
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
CFLAGS   += -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -MMD -MP \
            -Icommon -I$(BUILD)/gen

# The daemon's folders, and what each may include: the layering is the
# include path, so a core file that reached for the cluster (or net for
# admin) would not compile. core <- net, cluster <- admin <- main.
INC_core    := -Igateway/core
INC_net     := -Igateway/core -Igateway/net
INC_cluster := -Igateway/core -Igateway/cluster
INC_admin   := -Igateway/core -Igateway/net -Igateway/admin
INC_all     := -Igateway -Igateway/core -Igateway/net -Igateway/cluster -Igateway/admin
LDFLAGS  += $(SANFLAGS)

# Resolved lazily, after the deps stamp exists.
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) libwebsockets_static 2>/dev/null)
DEP_LIBS   = $(shell $(PKG_CONFIG) --libs libwebsockets_static 2>/dev/null || echo -lwebsockets) \
             $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -ldl -lm

COMMON_SRC  := $(wildcard common/*.c)
GATEWAY_SRC := $(filter-out gateway/main.c,$(wildcard gateway/*.c gateway/*/*.c))
LUA_SRC     := $(wildcard gateway/cluster/lua/*.lua)
STATIC_SRC  := $(wildcard dashboard/*.html dashboard/*.js dashboard/*.css dashboard/*.svg) \
               $(wildcard clients/js/gateway.js clients/js/gateway.d.ts)
TOOLS       := $(patsubst tools/%.c,$(BUILD)/bin/%,$(filter-out tools/gwbench_%.c tools/gatewayctl_%.c,$(wildcard tools/*.c)))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
GATEWAY_OBJ := $(GATEWAY_SRC:%.c=$(BUILD)/obj/%.o)
DEPS_STAMP  := build/.deps-stamp

.SECONDARY:
.PHONY: all deps test unit e2e test-js test-browser asan run clean distclean
all: $(BUILD)/bin/gateway $(TOOLS) $(BUILD)/bench/floor

# --- dependencies --------------------------------------------------------
deps: $(DEPS_STAMP)
# The patch folder itself too: removing a patch changes its mtime, not any file's.
$(DEPS_STAMP): deploy/install-deps.sh deploy/build-lws.sh deploy/lws-fetch.sh $(wildcard deploy/lws-patches/*.patch) deploy/lws-patches
	@deploy/install-deps.sh
	@deploy/build-lws.sh $(LWS_PREFIX)
	@mkdir -p $(@D) && touch $@

# --- objects -------------------------------------------------------------
INC = $(INC_all)
$(BUILD)/obj/gateway/core/%.o: INC = $(INC_core)
$(BUILD)/obj/gateway/net/%.o: INC = $(INC_net)
$(BUILD)/obj/gateway/cluster/%.o: INC = $(INC_cluster)
$(BUILD)/obj/gateway/admin/%.o: INC = $(INC_admin)
$(BUILD)/obj/common/%.o: INC =

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INC) $(DEP_CFLAGS) -c $< -o $@

# The archives also follow the deps stamp, so that a rebuilt libwebsockets
# (a new patch in deploy/lws-patches) relinks every binary.
$(BUILD)/libgwcommon.a: $(COMMON_OBJ) $(DEPS_STAMP)
	@rm -f $@; ar rcs $@ $(filter %.o,$^)
$(BUILD)/libgwgateway.a: $(GATEWAY_OBJ) $(DEPS_STAMP)
	@rm -f $@; ar rcs $@ $(filter %.o,$^)

# Lua scripts are embedded as C strings (gw_scripts.h), one per file.
$(BUILD)/gen/gw_scripts.h: $(LUA_SRC) deploy/embed-lua.sh
	@mkdir -p $(@D)
	deploy/embed-lua.sh $(LUA_SRC) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/gw_static.h: $(STATIC_SRC) deploy/embed-files.sh
	@mkdir -p $(@D)
	deploy/embed-files.sh $(STATIC_SRC) > $@.tmp && mv $@.tmp $@
$(GATEWAY_OBJ) $(BUILD)/obj/gateway/main.o: $(BUILD)/gen/gw_scripts.h $(BUILD)/gen/gw_static.h

# Build info (gw_build.c): the version, the commit and the libwebsockets
# revision deploy/build-lws.sh wrote to $(LWS_PREFIX)/REVISION. Regenerated on
# every make, but replaced only when it differs, so only a new commit, a
# dirty tree or a rebuilt lws recompiles gw_build.o (and relinks).
.PHONY: FORCE
$(BUILD)/gen/gw_build_info.h: FORCE | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@lws=$$(head -n1 $(LWS_PREFIX)/REVISION 2>/dev/null | tr -cd 'A-Za-z0-9.+~:_() -'); \
	commit=$$(echo '$(COMMIT)' | tr -cd 'A-Za-z0-9.+~:_-'); \
	{ echo '/* Generated by the Makefile; see gw_build.h. */'; \
	  echo '#define GW_BUILD_VERSION "$(VERSION)"'; \
	  echo "#define GW_BUILD_COMMIT \"$${commit:-unknown}\""; \
	  echo "#define GW_BUILD_LWS \"$${lws:-unknown}\""; } > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/obj/common/gw_build.o: $(BUILD)/gen/gw_build_info.h

LIBS = $(BUILD)/libgwgateway.a $(BUILD)/libgwcommon.a

$(BUILD)/bin/gateway: $(BUILD)/obj/gateway/main.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(DEP_LIBS) -o $@

$(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(DEP_LIBS) -o $@

# gatewayctl and gwbench are several files: tools/NAME_*.c are their parts.
$(BUILD)/bin/gatewayctl: $(BUILD)/obj/tools/gatewayctl.o \
		$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/gatewayctl_*.c)) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(DEP_LIBS) -o $@
$(BUILD)/obj/tools/gatewayctl_redis.o: $(BUILD)/gen/gw_scripts.h

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

test: all unit fuzz-smoke bench-smoke e2e test-js test-browser

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
# bench/compare's floor, bench/floor.c (one send(2) per delivery, a
# reference): built with everything so that it cannot rot; bench/compare
# builds it the same way when it is missing or stale.
$(BUILD)/bench/floor: bench/floor.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -o $@ $< -lcrypto
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

# --- fuzzing (fuzz/README.md) ---------------------------------------------
# Each fuzz/fuzz_NAME.c is a libFuzzer target, built with clang into its own
# tree (own objects of common/ and gateway/, instrumented for coverage and
# ASan/UBSan, each folder with the include path it has above) and run from
# a scratch copy of fuzz/corpus/NAME, so a run never writes into the
# repository. `fuzz` runs each for FUZZ_SECONDS; `fuzz-smoke` (part of
# `test`) for a few, so a target that stops building or crashes at once
# fails CI.
FUZZ_BUILD   ?= $(BUILD)/fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                -D_GNU_SOURCE -MMD -MP -Icommon -I$(BUILD)/gen
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/bin/fuzz_%)
# Without libwebsockets: the targets that need it get fuzz/stub_lws.c.
FUZZ_LIBS     = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -ldl -lm
FUZZ_COMMON  := $(COMMON_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
# The core and the Redis bus as archives (the linker takes what a target
# uses); the Redis link itself (gw_redis, gw_sentinel) is fuzz/stub_redis.c.
FUZZ_CORE_OBJ    := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(wildcard gateway/core/*.c))
FUZZ_CLUSTER_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(filter-out \
                    gateway/cluster/gw_redis.c gateway/cluster/gw_sentinel.c, \
                    $(wildcard gateway/cluster/*.c)))
# What each target links besides common/.
FUZZ_EXTRA_admin   := $(FUZZ_BUILD)/obj/gateway/admin/gw_api.o
FUZZ_EXTRA_cluster := $(FUZZ_BUILD)/obj/fuzz/stub_redis.o $(FUZZ_BUILD)/obj/fuzz/stub_lws.o \
                      $(FUZZ_BUILD)/libcluster.a $(FUZZ_BUILD)/libcore.a

.PHONY: fuzz fuzz-build fuzz-smoke
$(FUZZ_BUILD)/obj/gateway/core/%.o: INC = $(INC_core)
$(FUZZ_BUILD)/obj/gateway/net/%.o: INC = $(INC_net)
$(FUZZ_BUILD)/obj/gateway/cluster/%.o: INC = $(INC_cluster)
$(FUZZ_BUILD)/obj/gateway/admin/%.o: INC = $(INC_admin)
$(FUZZ_BUILD)/obj/common/%.o: INC =
# The harnesses wire a node as main.c does: they see every folder.
$(FUZZ_BUILD)/obj/fuzz/%.o: INC = -Ifuzz $(INC_all)
$(FUZZ_BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(INC) $(DEP_CFLAGS) -c $< -o $@
$(FUZZ_CORE_OBJ) $(FUZZ_CLUSTER_OBJ): $(BUILD)/gen/gw_scripts.h $(BUILD)/gen/gw_static.h
$(FUZZ_BUILD)/obj/common/gw_build.o: $(BUILD)/gen/gw_build_info.h
$(FUZZ_BUILD)/libcore.a: $(FUZZ_CORE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(FUZZ_BUILD)/libcluster.a: $(FUZZ_CLUSTER_OBJ)
	@rm -f $@; ar rcs $@ $^

.SECONDEXPANSION:
$(FUZZ_BUILD)/bin/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $$(FUZZ_EXTRA_$$*) $(FUZZ_COMMON)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(FUZZ_LIBS) -o $@

fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		fuzz/run.sh $(FUZZ_BUILD) $$t $(FUZZ_SECONDS); done
fuzz-smoke: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		fuzz/run.sh $(FUZZ_BUILD) $$t $(FUZZ_SMOKE_SECONDS) >$(FUZZ_BUILD)/$$t.smoke.log 2>&1 || \
		{ tail -n 60 $(FUZZ_BUILD)/$$t.smoke.log; \
		  echo "fuzz-smoke $$t: FAILED (log: $(FUZZ_BUILD)/$$t.smoke.log)"; exit 1; }; \
		echo "fuzz-smoke $$t: ok ($$(tail -n 1 $(FUZZ_BUILD)/$$t.smoke.log))"; \
	done

run: all
	GW_BUILD=$(BUILD) deploy/run-local.sh

clean:
	rm -rf $(BUILD)/obj $(BUILD)/bin $(BUILD)/tests $(BUILD)/gen $(BUILD)/*.a build/asan \
		$(FUZZ_BUILD)
distclean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
