/* The daemon's control socket: a UNIX stream socket, root-only.
 *
 * Protocol: the client connects, sends one request line (words separated
 * by blanks, at most CTL_MAX_REQUEST bytes with its newline) and reads the
 * reply until the server closes the connection.  The reply's first line
 * is "ok" or "error: WHY"; more lines may follow (status).  Requests:
 *   status
 *   set TRACKER threshold DURATION
 *   set TRACKER timeout DURATION
 *   enable TRACKER | disable TRACKER
 *   reset
 * Security: the socket file is created mode 0600 in a directory made 0700
 * if it does not exist, and every connection's peer credentials
 * (SO_PEERCRED) must be uid 0; others get "error: permission denied".
 * A request longer than CTL_MAX_REQUEST, not newline-terminated within
 * 1 s, or with bytes outside printable ASCII gets an error reply; the
 * server never blocks on a client for longer than that. */
#ifndef LATRACK_SRC_CTL_H
#define LATRACK_SRC_CTL_H

#include <stddef.h>
#include <stdio.h>

#define CTL_MAX_REQUEST 1024
#define CTL_MAX_ARGS    16
#define CTL_DEFAULT_SOCKET "/run/latrack/latrack.sock"

/* Handle one request (argv split on blanks, argc >= 1); write the reply's
 * first line ("ok" or "error: ...") and any further lines to reply. */
typedef void (*ctl_handler_fn)(void *ctx, int argc, char **argv, FILE *reply);

struct ctl_server;

/* Listen on path (a stale socket file left by a dead daemon is replaced; a
 * live one is an error).  NULL with a reason in err. */
struct ctl_server *ctl_server__new(const char *path, char *err, size_t errlen);
void ctl_server__destroy(struct ctl_server *s); /* unlinks the socket; accepts NULL */
/* Readable when a client connects (for poll). */
int ctl_server__fd(const struct ctl_server *s);
/* Accept and serve the clients waiting now (non-blocking accept). */
void ctl_server__serve(struct ctl_server *s, ctl_handler_fn fn, void *ctx);

/* Client: send request (one line, without newline) to path and copy the
 * reply to out.  Returns 0 when the reply was "ok", 1 for "error: ...",
 * or a negative errno when the daemon could not be reached (with a reason
 * in err). */
int ctl_client__call(const char *path, const char *request, FILE *out, char *err, size_t errlen);

#endif
