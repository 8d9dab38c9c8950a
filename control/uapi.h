/*
 * uapi.h — the WireGuard cross-platform userspace API (UAPI) of
 * gate44-control: the text protocol that wg(8) speaks over
 * /var/run/wireguard/<ifname>.sock (https://www.wireguard.com/xplatform/).
 *
 * Three layers, each usable alone:
 *  - uapi_parse_set(): one whole "set=1" request -> a plain C description of
 *    the transaction (struct uapi_set). Nothing is applied while parsing; a
 *    request with any error yields no transaction at all.
 *  - uapi_format_get(): a plain C snapshot of a device (struct uapi_device)
 *    -> the complete text answer to "get=1", ending with "errno=0\n\n".
 *  - struct uapi_server: the non-blocking unix socket server, driven by the
 *    daemon's poll loop through uapi_server_pollfds()/uapi_server_handle(); it
 *    calls the daemon back through struct uapi_ops once per request.
 *
 * Everything here runs on the control daemon's main (poll loop) thread; the
 * parser and formatter are pure and may run anywhere.
 *
 * What the server answers (checked against wireguard-go and wg(8)):
 *  - set=1: "errno=0\n\n", or "errno=-N\n\n" with N from the parser or from
 *    ops->set (negative, like wireguard-go: wg(8) prints strerror(N));
 *  - get=1: the uapi_format_get() text, or "errno=N\n\n" with N POSITIVE if
 *    ops->get fails (wg(8)'s get parser accepts digits only);
 *  - get=1 followed by anything but a blank line: errno=-22, then close;
 *  - an unknown operation line: errno=-71, then close;
 *  - a request over UAPI_MAX_REQUEST: errno=-90, then close;
 *  - EOF in the middle of a request: errno=-71, nothing applied, close.
 * A connection may carry any number of requests, answered in order.
 *
 * Semantics the daemon's ops->set must implement (those of wireguard-go):
 *  - Device fields are applied when their has_* flag is set. An all-zero
 *    private_key removes the private key. listen_port 0 means "pick a port".
 *    fwmark 0 removes the mark.
 *  - replace_peers: remove every peer before applying the peer operations.
 *  - Peer operations are applied in order; the same public key may appear in
 *    several operations of one request.
 *  - remove: remove the peer (no-op if absent); the other fields of that
 *    operation are syntax-checked but ignored.
 *  - update_only: if the peer does not exist, the whole operation is a no-op;
 *    otherwise it only updates.
 *  - A peer whose public key equals the device's public key (after this
 *    request's private_key, if any) is ignored, without error.
 *  - preshared_key all-zero removes the preshared key.
 *  - replace_allowed_ips: drop the peer's allowed IPs before adding
 *    allowed_ips[] (the parser already dropped allowed_ip lines that came
 *    before replace_allowed_ips in the same operation).
 *  - An allowed IP belongs to one peer: adding it to a peer takes it away
 *    from the peer that had it. Host bits are already masked off here.
 *  - All of it or nothing: on error ops->set returns -errno and leaves the
 *    device exactly as it was.
 */
#ifndef GATE44_CONTROL_UAPI_H
#define GATE44_CONTROL_UAPI_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define UAPI_KEY_LEN	 32
#define UAPI_DEFAULT_DIR "/var/run/wireguard"
/* A request (header to blank line) larger than this gets errno=-EMSGSIZE. */
#define UAPI_MAX_REQUEST (1024 * 1024)
/* Connections beyond this are accepted and closed at once. */
#define UAPI_MAX_CLIENTS 32
/* A client that makes no progress for this long is disconnected. */
#define UAPI_CLIENT_TIMEOUT_MS 30000
/* Entries uapi_server_pollfds() may fill: the listener plus every client. */
#define UAPI_SERVER_MAX_POLLFDS (1 + UAPI_MAX_CLIENTS)

/* One allowed IP: family AF_INET or AF_INET6, host bits zero. */
struct uapi_allowed_ip {
	uint8_t family;
	uint8_t plen;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} addr;
};

/* One peer block of a set=1 request: from a public_key line to the next. */
struct uapi_peer_op {
	uint8_t public_key[UAPI_KEY_LEN];
	bool remove;
	bool update_only;
	bool replace_allowed_ips;
	bool has_preshared_key;
	bool has_endpoint;
	bool has_persistent_keepalive;
	uint8_t preshared_key[UAPI_KEY_LEN]; /* all-zero: remove it */
	uint16_t persistent_keepalive;	     /* seconds, 0: off */
	struct sockaddr_storage endpoint;    /* sockaddr_in or sockaddr_in6 */
	struct uapi_allowed_ip *allowed_ips; /* to add, in request order */
	size_t n_allowed_ips;
	size_t cap_allowed_ips;
};

/* A whole set=1 transaction. Device keys always precede peer blocks. */
struct uapi_set {
	bool has_private_key;
	bool has_listen_port;
	bool has_fwmark;
	bool replace_peers;
	uint8_t private_key[UAPI_KEY_LEN]; /* all-zero: remove it */
	uint16_t listen_port;
	uint32_t fwmark;
	struct uapi_peer_op *peers;
	size_t n_peers;
	size_t cap_peers;
};

/* One peer in a get=1 answer. */
struct uapi_peer_info {
	uint8_t public_key[UAPI_KEY_LEN];
	uint8_t preshared_key[UAPI_KEY_LEN]; /* all-zero when none */
	struct sockaddr_storage endpoint;    /* ss_family AF_UNSPEC: none */
	uint64_t last_handshake_sec;	     /* 0/0: never */
	uint32_t last_handshake_nsec;
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint16_t persistent_keepalive;
	struct uapi_allowed_ip *allowed_ips; /* owned by the daemon's get() */
	size_t n_allowed_ips;
};

/* A device snapshot for get=1. Zero listen_port/fwmark are not printed. */
struct uapi_device {
	bool has_private_key;
	uint8_t private_key[UAPI_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	struct uapi_peer_info *peers; /* owned by the daemon's get() */
	size_t n_peers;
};

/*
 * Parse one complete set request: "set=1\n", key=value lines, and the blank
 * line that ends it ("\n\n" at the very end of text). Returns 0 with *out
 * filled (free it with uapi_set_free()), or -errno with *out empty and a
 * message in err (never containing key material):
 *   -EPROTO  not a set request, a line without '=', no blank line at the
 *            end, data after it, or a NUL byte;
 *   -EINVAL  an unknown key, a key in the wrong place (a device key after a
 *            public_key line, a peer key before one) or a bad value;
 *   -ENOMEM  out of memory.
 * A single '\r' before a '\n' is ignored, as wireguard-go does.
 */
int uapi_parse_set(const char *text, size_t len, struct uapi_set *out, char *err, size_t errlen);

/* Wipe the keys in *set and free what uapi_parse_set() allocated. */
void uapi_set_free(struct uapi_set *set);

/*
 * The complete answer to get=1 for *dev: key=value lines in wireguard-go's
 * order and format, then "errno=0\n\n". Returns a NUL-terminated malloc'd
 * string (its length in *len) that may hold the private key: release it with
 * uapi_text_free(). NULL on failure (errno ENOMEM, or EINVAL for a bad
 * allowed IP or endpoint family).
 */
char *uapi_format_get(const struct uapi_device *dev, size_t *len);

/* Wipe and free a string from uapi_format_get(). NULL is fine. */
void uapi_text_free(char *text, size_t len);

/* What the daemon does for the server; ctx is the pointer given at open. */
struct uapi_ops {
	/* Snapshot the device into *out; 0 or -errno (e.g. -ENODEV). */
	int (*get)(void *ctx, const char *ifname, struct uapi_device *out);
	/* Release what get() put in *dev (may be NULL). */
	void (*get_free)(void *ctx, struct uapi_device *dev);
	/* Apply the whole transaction, all or nothing: 0 or -errno. */
	int (*set)(void *ctx, const char *ifname, const struct uapi_set *set, char *err,
		   size_t errlen);
	/* Optional: told about refused requests and clients (no secrets). */
	void (*log)(void *ctx, const char *ifname, const char *msg);
};

struct uapi_server;

/*
 * Listen on <dir>/<ifname>.sock (dir NULL: UAPI_DEFAULT_DIR, created 0755 if
 * missing), socket mode 0600, non-blocking. A stale socket is replaced; a
 * socket a live process listens on, or a file that is not a socket, is
 * refused. ifname: 1..15 printable characters, no '/' or space.
 * Returns NULL with errno set and a message in err on failure.
 */
struct uapi_server *uapi_server_open(const char *dir, const char *ifname,
				     const struct uapi_ops *ops, void *ctx, char *err,
				     size_t errlen);

/* Close every client, remove the socket file (if still ours), free. */
void uapi_server_close(struct uapi_server *srv);

/* The socket's path, e.g. for logs. */
const char *uapi_server_path(const struct uapi_server *srv);

/*
 * Fill up to max pollfd entries (the listener first, then one per client,
 * with the events each needs now); returns how many were filled. Call it
 * before every poll(): the set of fds changes as clients come and go.
 */
unsigned int uapi_server_pollfds(const struct uapi_server *srv, struct pollfd *pfds,
				 unsigned int max);

/*
 * Handle the revents of the entries uapi_server_pollfds() filled (matched by
 * fd; other fds are ignored) and drop idle clients. Never blocks. Call it
 * after every poll(), also on timeout (n may be 0). Returns 0, or -errno if
 * the listening socket itself failed (the daemon should log it and reopen).
 */
int uapi_server_handle(struct uapi_server *srv, const struct pollfd *pfds, unsigned int n);

/* Milliseconds until the next idle deadline, -1 if none: a poll() timeout. */
int uapi_server_timeout(const struct uapi_server *srv);

/* Number of connected clients (for tests and metrics). */
unsigned int uapi_server_clients(const struct uapi_server *srv);

#endif /* GATE44_CONTROL_UAPI_H */
