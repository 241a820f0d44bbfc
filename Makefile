# latrack — plain GNU make.
#
#   make            build build/liblatrack.{a,so} and build/latrack
#   make check      install missing Debian packages, build, run every test
#                   (unit tests twice: plain and under ASan/UBSan) via prove
#   make bench      build and run the benchmarks under bench/
#   make run        build and start the main job
#
# Knobs: V=1 shows commands; CC, EXTRA_CFLAGS.

CC      ?= gcc
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)
B       := build

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CSTD    := -std=c17 -D_GNU_SOURCE
OPT     := -O2 -g
INCS    := -Iinclude -Ilib
PC_PKGS := liburcu-memb liburcu-cds
PKG_CFLAGS = $(shell pkg-config --cflags $(PC_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PC_PKGS) 2>/dev/null || echo -lurcu-memb -lurcu-cds)
CFLAGS_ALL = $(CSTD) $(OPT) $(WARN) $(INCS) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LIBS_ALL   = $(PKG_LIBS) -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Area fragments (mk/*.mk) may append to PC_PKGS, PROG_EXTRA_OBJS, PROG_LIBS,
# CHECK_PREREQS and SCRIPT_TESTS.
PROG_EXTRA_OBJS :=
PROG_LIBS       :=
CHECK_PREREQS   :=
-include $(sort $(wildcard mk/*.mk))

LIB_SRCS   := $(wildcard lib/*.c)
PROG_SRCS  := $(wildcard src/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
BENCH_SRCS := $(wildcard bench/*.c)
SCRIPT_TESTS += $(sort $(wildcard tests/*.t))

LIB_OBJS      := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB_OBJS_SAN  := $(LIB_SRCS:%.c=$(B)/asan/obj/%.o)
PROG_OBJS     := $(PROG_SRCS:%.c=$(B)/obj/%.o)
UNIT_BINS     := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
UNIT_BINS_SAN := $(UNIT_SRCS:tests/unit/%.c=$(B)/asan/tests/%)
BENCH_BINS    := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

.PHONY: all deps check unit bench run clean
.DEFAULT_GOAL := all

all: $(B)/liblatrack.a $(B)/liblatrack.so $(B)/latrack

# Installs what is missing (no-op, no apt-get, when all is present).
deps:
	$(Q)scripts/deps

$(B)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(B)/asan/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC-SAN  $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -fPIC -MMD -MP -c $< -o $@

$(B)/liblatrack.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/asan/liblatrack.a: $(LIB_OBJS_SAN)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/liblatrack.so: $(LIB_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,liblatrack.so.0 -o $@ $^ $(LIBS_ALL)

$(B)/latrack: $(PROG_OBJS) $(PROG_EXTRA_OBJS) $(B)/liblatrack.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $(PROG_OBJS) $(PROG_EXTRA_OBJS) $(B)/liblatrack.a $(PROG_LIBS) $(LIBS_ALL)

$(B)/tests/%: tests/unit/%.c $(B)/liblatrack.a tests/tap.h | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests -MMD -MP -o $@ $< $(B)/liblatrack.a $(LIBS_ALL)

$(B)/asan/tests/%: tests/unit/%.c $(B)/asan/liblatrack.a tests/tap.h | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST-SAN $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -Itests -MMD -MP -o $@ $< $(B)/asan/liblatrack.a $(LIBS_ALL)

$(B)/bench/%: bench/%.c $(B)/liblatrack.a | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  BENCH   $@")
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(B)/liblatrack.a $(LIBS_ALL)

# Unit tests run plain and under ASan/UBSan; script tests (tests/*.t) find
# the binaries through LATRACK_BUILD.  prove prints the closing summary.
check: all $(UNIT_BINS) $(UNIT_BINS_SAN) $(BENCH_BINS) $(CHECK_PREREQS)
	$(Q)LATRACK_BUILD=$(CURDIR)/$(B) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  prove --exec '' $(UNIT_BINS) $(UNIT_BINS_SAN) $(SCRIPT_TESTS)

unit: $(UNIT_BINS)
	$(Q)prove --exec '' $(UNIT_BINS)

bench: $(BENCH_BINS)
	$(Q)set -e; for b in $(BENCH_BINS); do echo "== $$b"; $$b; done

run: all
	$(Q)if [ -t 0 ] && [ -t 1 ]; then $(B)/latrack top; else $(B)/latrack run; fi

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
