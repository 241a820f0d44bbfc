# The control socket (src/ctl.c): tests/ctl.t drives it through a small
# echo server, build/tests/ctl_echo, built from src/ctl.c alone (plain and
# under ASan/UBSan: outside input goes through this code).
$(B)/tests/ctl_echo: tests/ctl_echo.c src/ctl.c src/ctl.h | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Isrc -o $@ tests/ctl_echo.c src/ctl.c

$(B)/asan/tests/ctl_echo: tests/ctl_echo.c src/ctl.c src/ctl.h | deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC-SAN  $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -Isrc -o $@ tests/ctl_echo.c src/ctl.c

CHECK_PREREQS += $(B)/tests/ctl_echo $(B)/asan/tests/ctl_echo
