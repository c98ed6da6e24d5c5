# tsrelay — one plain Makefile, no configure step.
#   make            build bin/tsrelay and the test tools (optimised)
#   make test       everything CI runs: unit tests (plain and ASan+UBSan), a few seconds
#                   of each fuzz target, integration tests against real Kafka / InfluxDB /
#                   VictoriaMetrics
#   make asan       unit tests and the bad-input integration test under ASan+UBSan
#   make unit       unit tests only          make integration   integration tests only
#   make fuzz       libFuzzer on every parser of outside bytes (tests/fuzz/run.sh), one
#                   target after the other, FUZZ_SECONDS each (default 60; 8 targets)
#   make fuzz-long  the same for FUZZ_LONG_SECONDS each (default 600), not in make test;
#                   FUZZ_TARGETS="json gzip" limits either to some targets
#   make bench      ingest, spool, shaping, end-to-end, clusters, replay and fleet benchmarks (vmagent side by side)
#   make soak       a fleet under random faults for SOAK_MINUTES (10) per run, SOAK_RUNS (1)
#                   runs, each checked point by point (tests/soak/soak.sh; SOAK_SEED repeats one)
#   make image      the OCI image build/tsrelay_VERSION.oci.tar (deploy/container/build.sh)
#   make deb        the Debian package build/tsrelay_VERSION_ARCH.deb (deploy/debian/build.sh)
#   make setup      install what the build and tests need (apt, Kafka jars via Maven,
#                   Telegraf via the Go module proxy)
#   make demo       the local demo from README.md
#   make format / make lint / make config-reference
# SANITIZE=1 builds with AddressSanitizer + UBSan into build/asan.

CC      ?= cc
PKGS     = rdkafka libevent libevent_pthreads libevent_openssl libcurl lmdb yaml-0.1 openssl zlib libdeflate libpcre2-8
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -pthread -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS))
# http-parser (Debian's libhttp-parser-dev) ships no pkg-config file.
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lhttp_parser -lm -pthread

ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
ifeq ($(SANITIZE),1)
BUILD   ?= build/asan
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build/release
endif
BIN     ?= $(if $(filter 1,$(SANITIZE)),$(BUILD)/bin,bin)

# tsrelayctl's own files. Its JSON reader and TIME parser stay in the library: the
# relay reads POST /replays with the one, and the unit tests link both.
CTL_SRC  = replay/ctl_main.c replay/ctl_http.c replay/ctl_status.c replay/ctl_replay.c \
           replay/ctl_jobs.c replay/ctl_text.c replay/ctl_reload.c replay/ctl_dlq.c \
           replay/ctl_kafka.c replay/ctl_verify.c
CTL_OBJ  = $(CTL_SRC:%.c=$(BUILD)/%.o)

# Everything but main() goes into one static library, which the daemon, the unit tests
# and the tools link against.
LIB_SRC  = $(wildcard relay/*/*.c) $(wildcard config/*.c) \
           $(wildcard health/*.c) $(filter-out $(CTL_SRC),$(wildcard replay/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/status_page.o
LIB      = $(BUILD)/libtsrelay.a

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC = $(wildcard bench/*.c)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test unit integration asan fuzz fuzz-long bench soak deb image setup demo format lint clean \
        config-reference check-reference tools
all: $(BIN)/tsrelay $(BIN)/tsrelayctl tools

tools: $(TOOL_BIN) $(BENCH_BIN)

$(BIN)/tsrelay: $(BUILD)/relay/main.o $(BUILD)/relay/check.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/tsrelayctl: $(CTL_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The status page (GET / on the admin listener), embedded as a C array.
build/gen/status_page.c: relay/admin/status_page.html tools/embed.sh
	@mkdir -p $(@D)
	tools/embed.sh $< $@

$(BUILD)/gen/status_page.o: build/gen/status_page.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(BUILD)/relay/main.d $(BUILD)/relay/check.d $(CTL_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d) \
         $(TOOL_SRC:%.c=$(BUILD)/%.d) $(BENCH_SRC:%.c=$(BUILD)/%.d)
# Keep the objects of tools and tests: they are intermediate files to make otherwise.
.SECONDARY:

# --- tests ---------------------------------------------------------------------------
unit: $(UNIT_BIN)
	tests/run.sh unit $(BUILD)

integration: all
	tests/run.sh integration

asan:
	$(MAKE) SANITIZE=1 all $(patsubst build/release/%,build/asan/%,$(UNIT_BIN))
	tests/run.sh asan

fuzz:
	tests/fuzz/run.sh $${FUZZ_SECONDS:-60} $(FUZZ_TARGETS)

fuzz-long:
	tests/fuzz/run.sh $${FUZZ_LONG_SECONDS:-600} $(FUZZ_TARGETS)

test:
	tests/run.sh all

check-reference: $(BIN)/tsrelay
	$(BIN)/tsrelay --config-reference | diff -u config/CONFIG.md - \
	  || { echo "config/CONFIG.md is stale: run 'make config-reference'"; exit 1; }

config-reference: $(BIN)/tsrelay
	$(BIN)/tsrelay --config-reference > config/CONFIG.md

# --- the rest ------------------------------------------------------------------------
# The OCI image of bin/: build/tsrelay_VERSION.oci.tar (deploy/container/build.sh;
# root, mmdebstrap and buildah). podman load -i it.
image: all
	deploy/container/build.sh build

# The Debian package of bin/: build/tsrelay_VERSION_ARCH.deb (deploy/debian/build.sh).
deb: all
	deploy/debian/build.sh build

bench: all
	bench/run.sh
	bench/spool.sh
	bench/shaping.sh
	bench/e2e.sh
	bench/clusters.sh
	bench/replay.sh
	bench/fleet.sh

# Each run gets its own seed (printed; SOAK_SEED=N repeats one). Not part of make test.
soak: all
	@rc=0; for run in $$(seq 1 $${SOAK_RUNS:-1}); do \
	  tests/soak/soak.sh || rc=1; unset SOAK_SEED; \
	done; exit $$rc

setup:
	tools/setup.sh

demo:
	tools/demo.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --quiet --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem -I. relay config health replay tests/tools

clean:
	rm -rf build bin
