# The daemon and its outputs (src/cmd_daemon.c, live.c, config.c, ctl.c,
# out_*.c) and latrack top (src/cmd_top.c): libinih for the configuration,
# libmicrohttpd for /metrics, ncurses for the screen.
PC_PKGS   += inih libmicrohttpd ncursesw
PROG_LIBS += $(shell pkg-config --libs inih libmicrohttpd ncursesw 2>/dev/null || echo -linih -lmicrohttpd -lncursesw -ltinfo)
