/*
 * engine.h — gate44-control's client of the engine socket (JSON lines, see
 * dataplane/ENGINE-SOCKET.md): one request at a time, answered within a
 * timeout; a broken connection is noticed, reconnected by the main loop,
 * and followed by a full sync of the store's state. Main thread only.
 */
#ifndef GATE44_CTL_ENGINE_H
#define GATE44_CTL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct ctl_engine;

struct ctl_engine *ctl_engine_new(const char *path, int timeout_ms);
void ctl_engine_free(struct ctl_engine *e);
/* Try to connect (non-blocking attempt). 0 when connected now. */
int ctl_engine_connect(struct ctl_engine *e);
bool ctl_engine_connected(const struct ctl_engine *e);
void ctl_engine_disconnect(struct ctl_engine *e);
/* The socket to poll for hangup (-1 when disconnected). Call
 * ctl_engine_check() when it is readable: the engine never speaks unasked,
 * so readable means closed. */
int ctl_engine_fd(const struct ctl_engine *e);
void ctl_engine_check(struct ctl_engine *e);

/*
 * Send req (a JSON object; reference stolen) and wait for the reply. 0 with
 * *result (a new reference, may be NULL) on "ok": true. -ENOTCONN when not
 * connected or the connection broke (now disconnected), -ETIMEDOUT, or the
 * engine's error mapped to -errno (EINVAL, ENOENT, EEXIST, ENOSPC, ...) with
 * its message in err.
 */
int ctl_engine_call(struct ctl_engine *e, json_t *req, json_t **result, char *err,
		    size_t errlen);
/* Number of successful (re)connections so far. */
unsigned ctl_engine_generation(const struct ctl_engine *e);

#endif /* GATE44_CTL_ENGINE_H */
