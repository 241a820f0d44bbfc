# Trace analysis (issue 6): LTTng CTF traces read through libbabeltrace2.
PC_PKGS += babeltrace2

# The program under ASan/UBSan: tests/trace_asan.t runs the trace tests
# against it (outside input goes through this code: every test counts).
TRACE_ASAN_OBJS := $(patsubst %.c,$(B)/asan/obj/%.o,$(wildcard src/*.c))

$(B)/asan/latrack: $(TRACE_ASAN_OBJS) $(B)/asan/liblatrack.a
	$(if $(Q),@echo "  LD-SAN  $@")
	$(Q)$(CC) $(SAN) -o $@ $(TRACE_ASAN_OBJS) $(B)/asan/liblatrack.a $(PROG_LIBS) $(LIBS_ALL)

CHECK_PREREQS += $(B)/asan/latrack
