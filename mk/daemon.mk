# The daemon and its outputs (src/cmd_daemon.c, live.c, config.c, ctl.c,
# out_*.c) and latrack top (src/cmd_top.c): libinih for the configuration,
# libmicrohttpd for /metrics, ncurses for the screen.
PC_PKGS   += inih libmicrohttpd ncursesw
PROG_LIBS += $(shell pkg-config --libs inih libmicrohttpd ncursesw 2>/dev/null || echo -linih -lmicrohttpd -lncursesw -ltinfo)

# src/usyms.c checked by a program that knows its own symbols (tests/usyms.t).
$(B)/tests/usyms_check: tests/usyms_check.c src/usyms.c src/usyms.h tests/tap.h | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CSTD) -O1 -g -fno-omit-frame-pointer $(WARN) -Isrc -Itests -o $@ tests/usyms_check.c src/usyms.c -lelf

CHECK_PREREQS += $(B)/tests/usyms_check
