# The class table's user-space side (src/kclass.c) against real kernel maps
# made by the test (root), plain and under ASan/UBSan; prove runs both.

KCLASS_TEST_SRCS := tests/bpf/kclass_table.c src/kclass.c
KCLASS_TEST_DEPS := $(KCLASS_TEST_SRCS) src/kclass.h bpf/lt_bpf.h include/latrack/hist_layout.h tests/tap.h
KCLASS_TEST_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz

$(B)/tests/kclass_table: $(KCLASS_TEST_DEPS) | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Isrc -Ibpf -Itests -o $@ $(KCLASS_TEST_SRCS) $(KCLASS_TEST_LIBS)

$(B)/asan/tests/kclass_table: $(KCLASS_TEST_DEPS) | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST-SAN $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -Isrc -Ibpf -Itests -o $@ $(KCLASS_TEST_SRCS) $(KCLASS_TEST_LIBS)

CHECK_PREREQS += $(B)/tests/kclass_table $(B)/asan/tests/kclass_table
SCRIPT_TESTS  += $(B)/tests/kclass_table $(B)/asan/tests/kclass_table
