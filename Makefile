# Sluice build. `make` builds build/sluice; `make check` runs every test;
# `make bench` runs the benchmarks; `make demo` runs the air-quality demo.
# Dependencies (Debian packages) are installed by scripts/deps.sh.

CC := $(shell command -v clang-19 >/dev/null 2>&1 && echo clang-19 || echo cc)
OPT ?= -O2
CFLAGS ?= $(OPT) -g
WARN := -Wall -Wextra -Werror
BASEFLAGS := -std=c17 -D_DEFAULT_SOURCE -Iinclude -MMD -MP $(WARN) -pthread
B ?= build

LIBWASM_SRC := $(wildcard lib/wasm/*.c)
LIBFN_SRC := $(wildcard lib/fn/*.c)
# Everything under src/ but the command line itself (src/*.c) forms
# libsluice.a, which the binary and the unit tests link.
CORE_SRC := $(wildcard src/*/*.c)
SLUICE_SRC := $(wildcard src/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

LIBWASM_OBJ := $(LIBWASM_SRC:%.c=$(B)/%.o)
LIBFN_OBJ := $(LIBFN_SRC:%.c=$(B)/%.o)
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
SLUICE_OBJ := $(SLUICE_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
LIBS := -larchive -lsodium -ljansson -lyaml -lsqlite3 -lcurl -lpq -lpcre2-8 -lz -lmicrohttpd -lmosquitto -lssl -lcrypto -lnats -lm -pthread
LIBDIRS := $(B)/libsluice.a $(B)/libsluice-fn.a $(B)/libsluice-wasm.a

.PHONY: all check unit spec e2e anomaly asan gcc bench demo web dashboard-test console-test deps clean
all: $(B)/sluice

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

# The interpreter's computed-goto dispatch needs each handler to end in its
# own indirect jump; clang 19 stops duplicating the dispatch block for
# blocks with more than 16 predecessors unless these limits are raised.
ifneq ($(findstring clang,$(CC)),)
$(B)/lib/wasm/interp.o: BASEFLAGS += -mllvm -tail-dup-pred-size=1000 -mllvm -tail-dup-succ-size=1000
endif

# gcc splits hot and cold code into sections, which breaks the label
# offsets of the interpreter's direct threading.
ifneq ($(findstring gcc,$(shell $(CC) --version 2>/dev/null | head -n1))$(filter cc gcc,$(CC)),)
$(B)/lib/wasm/interp.o: CFLAGS += -fno-reorder-blocks-and-partition
endif

$(B)/libsluice-wasm.a: $(LIBWASM_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libsluice-fn.a: $(LIBFN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libsluice.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/sluice: $(SLUICE_OBJ) $(LIBDIRS)
	$(CC) $(CFLAGS) -o $@ -Wl,--start-group $(SLUICE_OBJ) $(LIBDIRS) -Wl,--end-group $(LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBDIRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -Ilib/wasm -Ilib/fn $(CFLAGS) -o $@ $< $(LIBDIRS) $(LIBS)

deps:
	@bash scripts/deps.sh

# Everything CI runs: unit tests (plain, under ASan+UBSan, and built by
# gcc, whose warnings differ from clang's), the spec suite and the
# end-to-end tests.
check: deps
	$(MAKE) unit
	$(MAKE) asan
	$(MAKE) gcc
	$(MAKE) spec
	$(MAKE) e2e
	$(MAKE) anomaly

unit: $(UNIT_BIN)
	@bash tests/run-suites.sh unit $(UNIT_BIN)

asan:
	$(MAKE) B=build-asan OPT=-O1 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" unit

gcc:
	$(MAKE) CC=gcc B=build-gcc unit

spec: $(B)/sluice
	@bash tests/spec/run.sh $(B)/sluice

# End-to-end suites: each drives the real binary.
E2E_SUITES := wasm fn pipeline sources sinks function abi2 artifact registry observe mqtt nats scaleout es postgres sim serve outage delivery
e2e: $(B)/sluice
	@bash tests/run-suites.sh e2e \
	  $(foreach s,$(E2E_SUITES),"bash tests/e2e/$(s).sh $(B)/sluice") \
	  "bash tests/web/run.sh $(B)/sluice" \
	  "bash tests/web/console.sh $(B)/sluice" \
	  "bash tests/sdk/run.sh $(B)/sluice" \
	  "bash examples/functions/build.sh $(B)/sluice"

# The S-H-ESD detector against the reference cases (native, and under
# ASan+UBSan), its C and Rust functions through `sluice fn test`, the
# batch example on the Twitter series, and the demo scored end to end.
anomaly: $(B)/sluice
	@bash tests/run-suites.sh anomaly "bash tests/anomaly/run.sh" \
	  "bash tests/anomaly/run.sh --sanitize" \
	  "bash examples/air-quality/functions/build.sh $(B)/sluice" \
	  "bash tests/e2e/batch_twitter.sh $(B)/sluice" \
	  "bash tests/e2e/demo.sh $(B)/sluice"

bench: deps $(B)/libsluice-wasm.a $(B)/sluice
	@bash bench/run.sh $(B)/sluice

# The air-quality demo (docs/demo.md): installs, builds, publishes and runs.
demo:
	@bash scripts/demo.sh

# The dashboard's page and the web console (web/), built with the npm
# packages (npm ci) into $(B)/web.
web:
	@bash web/build.sh $(B)/web

# The dashboard in headless Chromium.
dashboard-test: $(B)/sluice
	@bash tests/web/run.sh $(B)/sluice

# The web console against `sluice serve` in headless Chromium.
console-test: $(B)/sluice
	@bash tests/web/console.sh $(B)/sluice

clean:
	rm -rf build build-asan build-gcc

-include $(LIBWASM_OBJ:.o=.d) $(LIBFN_OBJ:.o=.d) $(CORE_OBJ:.o=.d) $(SLUICE_OBJ:.o=.d)
