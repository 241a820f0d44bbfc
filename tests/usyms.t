#!/bin/sh
# User-space symbolisation: build-id sharing, exited processes, [unknown].
exec "${LATRACK_BUILD:-build}/tests/usyms_check"
