# Trace analysis (issue 6): LTTng CTF traces read through libbabeltrace2.
PC_PKGS += babeltrace2

# `latrack report` under ASan/UBSan: tests/trace_asan.t runs the trace
# tests against it (outside input goes through this code: every test
# counts).  Only the trace code: the eBPF loaders play no part in it.
TRACE_ASAN_SRCS := $(wildcard src/trace_*.c src/analysis_*.c) src/stat_table.c \
                   src/report_fmt.c src/cmd_report.c src/units.c src/svg.c tests/trace_asan_main.c
TRACE_ASAN_OBJS := $(patsubst %.c,$(B)/asan/obj/%.o,$(TRACE_ASAN_SRCS))

$(B)/asan/obj/tests/trace_asan_main.o: INCS += -Isrc

$(B)/asan/latrack: $(TRACE_ASAN_OBJS) $(B)/asan/liblatrack.a
	$(if $(Q),@echo "  LD-SAN  $@")
	$(Q)$(CC) $(SAN) -o $@ $(TRACE_ASAN_OBJS) $(B)/asan/liblatrack.a $(LIBS_ALL)

CHECK_PREREQS += $(B)/asan/latrack
