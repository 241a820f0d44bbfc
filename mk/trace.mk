# Trace analysis (issue 6): LTTng CTF traces read through libbabeltrace2.
PC_PKGS += babeltrace2
