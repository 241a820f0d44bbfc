# Kernel trackers: BPF objects (bpf/*.bpf.c), their skeletons, and the
# loaders linked into build/latrack.
#
# vmlinux.h comes from the running kernel's BTF at build time; the checked-in
# bpf/vmlinux_fallback.h (generated on kernel 6.18) is used only on a build
# machine without it (CO-RE relocates either against the target kernel).
# `make VMLINUX_BTF=/nonexistent` exercises the fallback.

BPF_CLANG  ?= clang
BPFTOOL    ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH   := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
BPF_DIR    := $(B)/bpf
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BPF_DIR)/%.bpf.o)
BPF_SKELS  := $(BPF_SRCS:bpf/%.bpf.c=$(BPF_DIR)/%.skel.h)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
              -I$(BPF_DIR) -Iinclude -Ibpf

PROG_LIBS += $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz

# Loaders include the skeletons and the generated syscall name table.
$(B)/obj/src/%.o: INCS += -I$(BPF_DIR) -Ibpf
$(B)/obj/src/trk_syscall.o: $(BPF_DIR)/syscall.skel.h $(BPF_DIR)/syscall_names.h
$(B)/obj/src/trk_sched.o: $(BPF_DIR)/sched.skel.h
$(B)/obj/src/trk_block.o: $(BPF_DIR)/block.skel.h
$(B)/obj/src/trk_irq.o: $(BPF_DIR)/irq.skel.h
$(B)/obj/src/trk_net.o: $(BPF_DIR)/net.skel.h
$(B)/obj/src/evfmt.o: $(BPF_DIR)/syscall_names.h

$(BPF_DIR)/vmlinux.h: | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  GEN     $@")
	$(Q)if [ -r $(VMLINUX_BTF) ]; then \
	  $(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@; \
	else \
	  echo "mk/bpf.mk: no $(VMLINUX_BTF), using bpf/vmlinux_fallback.h" >&2; \
	  cp bpf/vmlinux_fallback.h $@; \
	fi

# Syscall numbers to names, from the C library's kernel headers.
$(BPF_DIR)/syscall_names.h: | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  GEN     $@")
	$(Q)echo '#include <asm/unistd.h>' | $(CC) -E -dM -x c - | \
	  sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/[\2] = "\1",/p' | sort -t[ -k2n > $@.tmp && mv $@.tmp $@

$(BPF_DIR)/%.bpf.o: bpf/%.bpf.c $(BPF_DIR)/vmlinux.h include/latrack/hist_layout.h $(wildcard bpf/*.h) | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  BPF     $<")
	$(Q)$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_DIR)/%.skel.h: $(BPF_DIR)/%.bpf.o
	$(if $(Q),@echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# Workload with known latencies for tests/bpf_*.t.
$(B)/tests/lt_workload: tests/bpf/workload.c | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CSTD) -O1 -g -fno-omit-frame-pointer $(WARN) -o $@ $< -lpthread

CHECK_PREREQS += $(B)/tests/lt_workload

.SECONDARY: $(BPF_OBJS)
