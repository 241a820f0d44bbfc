# Graphite and JSON-lines outputs (src/out_graphite.c, src/out_json.c):
# their unit test feeds synthetic snapshots and records through the sinks,
# against a loopback listener (no BPF, no carbon), plain and under
# ASan/UBSan.  tests/daemon_graphite.t runs the daemon against Debian's
# carbon-cache.

GRAPHITE_TEST_SRCS := tests/out/graphite_sink.c src/out_graphite.c src/out_json.c
GRAPHITE_TEST_DEPS := $(GRAPHITE_TEST_SRCS) src/out_stats.h src/outputs.h src/sink.h src/config.h tests/tap.h

$(B)/tests/graphite_sink: $(GRAPHITE_TEST_DEPS) $(B)/liblatrack.a | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Isrc -Ibpf -Itests -o $@ $(GRAPHITE_TEST_SRCS) $(B)/liblatrack.a $(LIBS_ALL)

$(B)/asan/tests/graphite_sink: $(GRAPHITE_TEST_DEPS) $(B)/asan/liblatrack.a | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST-SAN $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -Isrc -Ibpf -Itests -o $@ $(GRAPHITE_TEST_SRCS) $(B)/asan/liblatrack.a $(LIBS_ALL)

CHECK_PREREQS += $(B)/tests/graphite_sink $(B)/asan/tests/graphite_sink
SCRIPT_TESTS  += $(B)/tests/graphite_sink $(B)/asan/tests/graphite_sink
