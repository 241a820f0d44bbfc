# The Prometheus output (src/out_prometheus.c): its test program,
# build/tests/prom_render, linked with the program's objects (but main.o)
# through an archive, so that it pulls only what it uses (evfmt.o for the
# tracker and loss names), liblatrack and libmicrohttpd.  out_prometheus.o
# is linked as an object, ahead of any weak stand-in in the archive.
# tests/prom_render.t runs it; tests/prom_load.t runs its `serve` mode.

PROM_PROG_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(filter-out src/main.c src/out_prometheus.c,$(wildcard src/*.c)))

$(B)/tests/prom_prog.a: $(PROM_PROG_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/tests/prom_render: tests/prom/prom_render.c $(B)/obj/src/out_prometheus.o $(B)/tests/prom_prog.a $(B)/liblatrack.a tests/tap.h | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests -Isrc -Ibpf -I$(B)/bpf -MMD -MP -o $@ $< \
	  $(B)/obj/src/out_prometheus.o $(B)/tests/prom_prog.a $(B)/liblatrack.a $(PROG_LIBS) $(LIBS_ALL)

CHECK_PREREQS += $(B)/tests/prom_render

# The same test under ASan/UBSan/LSan (tests/prom_render_asan.t, and the
# leak check of tests/prom_load.t): only the objects it needs.
PROM_ASAN_OBJS := $(patsubst %.c,$(B)/asan/obj/%.o,src/out_prometheus.c src/evfmt.c src/ksyms.c src/usyms.c)
$(PROM_ASAN_OBJS): INCS += -I$(BPF_DIR) -Ibpf
$(B)/asan/obj/src/evfmt.o: $(BPF_DIR)/syscall_names.h

$(B)/asan/tests/prom_render: tests/prom/prom_render.c $(PROM_ASAN_OBJS) $(B)/asan/liblatrack.a tests/tap.h | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST-SAN $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -Itests -Isrc -Ibpf -I$(B)/bpf -MMD -MP -o $@ $< \
	  $(PROM_ASAN_OBJS) $(B)/asan/liblatrack.a $(PROG_LIBS) $(LIBS_ALL)

CHECK_PREREQS += $(B)/asan/tests/prom_render
