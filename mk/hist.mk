# Histograms: a libFuzzer target for the serialisation decoder (outside
# input).  Not part of `make check` (it needs clang and runs for a while):
#   make fuzz-hist [FUZZ_SECONDS=60]
# Seeds: valid encodings written by tests/fuzz/seeds_hist.c.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_FLAGS   := -std=c17 -D_GNU_SOURCE -g -O1 -Iinclude \
                -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

.PHONY: fuzz-hist

$(B)/fuzz/fuzz_hist: tests/fuzz/fuzz_hist.c lib/hist.c include/latrack/hist.h include/latrack/hist_layout.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_hist.c lib/hist.c -lm

$(B)/fuzz/seeds_hist: tests/fuzz/seeds_hist.c lib/hist.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CSTD) -O1 -Iinclude -o $@ tests/fuzz/seeds_hist.c lib/hist.c -lm

fuzz-hist: $(B)/fuzz/fuzz_hist $(B)/fuzz/seeds_hist
	$(Q)mkdir -p $(B)/fuzz/corpus_hist && $(B)/fuzz/seeds_hist $(B)/fuzz/corpus_hist
	$(Q)$(B)/fuzz/fuzz_hist -max_total_time=$(FUZZ_SECONDS) $(B)/fuzz/corpus_hist
