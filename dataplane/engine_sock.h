/*
 * engine_sock.h — the engine socket: a unix stream socket that speaks JSON
 * lines (one request object per line in, one reply object per line out, in
 * order) and turns each request into dp_api_* calls. Runs on the main lcore,
 * polled from its loop, never blocking it. Protocol: dataplane/ENGINE-SOCKET.md.
 */
#ifndef GATE44_ENGINE_SOCK_H
#define GATE44_ENGINE_SOCK_H

#include <stddef.h>
#include <stdint.h>

#define DP_ENGINE_SOCK_MAX_CLIENTS 16
#define DP_ENGINE_SOCK_LINE_MAX	   (1u << 20) /* longest request line, without '\n' */
/*
 * Output is bounded by backpressure rather than by a cap on one reply (a
 * peer.list of 131072 peers is tens of MiB): while more than OUT_SOFT bytes
 * are unsent, no further line of that client is answered, so its buffer
 * holds at most OUT_SOFT + one reply. A client that takes no byte of its
 * pending output for STALL_NS is disconnected; a reply longer than
 * REPLY_MAX is replaced by an E2BIG error.
 */
#define DP_ENGINE_SOCK_OUT_SOFT	  (1u << 20)
#define DP_ENGINE_SOCK_REPLY_MAX  (256u << 20)
#define DP_ENGINE_SOCK_STALL_NS	  (30ull * 1000000000ull)
#define DP_ENGINE_SOCK_LINGER_NS  (2ull * 1000000000ull) /* closing: time to drain */
#define DP_ENGINE_SOCK_LINES_POLL 64			 /* lines answered per client per poll */
#define DP_ENGINE_SOCK_READ_POLL  (256u << 10)		 /* bytes read per client per poll */

/*
 * Create the listening socket at path: create its parent directory (0755)
 * when missing, remove a stale socket left by a previous run (but not a
 * live one, nor a file that is not a socket), bind, chmod 0600, listen,
 * non-blocking. Returns 0 or -errno with err filled (err may be NULL).
 */
int dp_engine_sock_open(const char *path, char *err, size_t errlen);

/*
 * One step of the server, called every iteration of the main lcore loop:
 * accept new clients, read what is there, answer complete lines (a bounded
 * number per client per call), write what the clients will take. now_ns is
 * a monotonic clock (dp_now_ns()). Does nothing when the socket is closed.
 */
void dp_engine_sock_poll(uint64_t now_ns);

/* Disconnect every client, close and remove the socket. Idempotent. */
void dp_engine_sock_close(void);

/*
 * Answer one request line (line[0..len), without its newline; need not be
 * NUL-terminated). Returns the reply, a JSON object on one line without the
 * newline, malloc'd (free() it); NULL only when out of memory. Calls only
 * dp_api_* and the config.h parsers: usable without a socket or EAL.
 */
char *dp_engine_sock_handle_line(const char *line, size_t len);

#endif /* GATE44_ENGINE_SOCK_H */
