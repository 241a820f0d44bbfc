/* The latrack program's subcommands: each is `int cmd_NAME(int argc,
 * char **argv)` with argv[0] the subcommand name, returning the exit code. */
#ifndef LATRACK_SRC_CMD_H
#define LATRACK_SRC_CMD_H

struct lt_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_demo(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif
