/*
 * uapi.c — the WireGuard cross-platform userspace API (UAPI) of
 * gate44-control: the set=1 parser, the get=1 formatter, and the unix socket
 * server that wg(8) talks to. Runs on the control daemon's main (poll loop)
 * thread; the server never blocks it. See uapi.h for the protocol summary
 * and the semantics the daemon must give to a parsed transaction.
 *
 * Where wireguard-go (v0.0.20220316) differs from this file, on purpose:
 *  - it applies a set request line by line and keeps what was applied before
 *    an error; here the whole request is parsed first and applied at once;
 *  - it applies a set request cut short by EOF; here that is an error;
 *  - it closes the connection silently on an unknown operation; here the
 *    client gets errno=-EPROTO first;
 *  - it loses pipelined requests after a set; here they are answered in
 *    order;
 *  - it prints IPv6 endpoints without their zone; here "%<scope id>" stays.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <sodium.h>

#include "uapi.h"

/* ---------------------------------------------------------------- parse */

struct parser {
	struct uapi_set *set;
	struct uapi_peer_op *peer; /* the current peer block, NULL before one */
	unsigned int line;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 3, 4)))
perr(struct parser *p, int ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return ret;
	n = snprintf(p->err, p->errlen, "line %u: ", p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return ret;
}

/* A value made printable and short enough for an error message. */
static const char *
shown(const char *v, size_t n, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = v[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = c;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (i < n && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool
is_value(const char *v, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(v, want, n) == 0;
}

/* Decimal digits only (no sign, no space), at most max. */
static int
parse_uint(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		if (x > (max - (uint64_t)(v[i] - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* 64 hex digits, either case (constant time in the key's value). */
static int
parse_key(const char *v, size_t n, uint8_t key[UAPI_KEY_LEN])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (n != 2 * UAPI_KEY_LEN)
		return -EINVAL;
	if (sodium_hex2bin(key, UAPI_KEY_LEN, v, n, NULL, &bin_len, &end) != 0 ||
	    bin_len != UAPI_KEY_LEN || end != v + n) {
		sodium_memzero(key, UAPI_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

/* Copy v into a NUL-terminated buffer; -EINVAL if it does not fit. */
static int
cstr(char *buf, size_t size, const char *v, size_t n)
{
	if (n >= size)
		return -EINVAL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

/* "a.b.c.d:port", "[v6]:port" or "[v6%zone]:port"; zone: a number or a name. */
static int
parse_endpoint(const char *v, size_t n, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	const char *h, *port, *end = v + n;
	uint64_t portnum, scope = 0;
	size_t hlen;
	bool v6;

	if (n > 0 && v[0] == '[') {
		const char *rb = memchr(v, ']', n);

		if (rb == NULL || rb + 1 >= end || rb[1] != ':')
			return -EINVAL;
		h = v + 1;
		hlen = rb - h;
		port = rb + 2;
		v6 = true;
	} else {
		const char *colon = memrchr(v, ':', n);

		if (colon == NULL)
			return -EINVAL;
		h = v;
		hlen = colon - v;
		port = colon + 1;
		v6 = false;
	}
	if (parse_uint(port, end - port, UINT16_MAX, &portnum) != 0 ||
	    cstr(host, sizeof(host), h, hlen) != 0)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (!v6) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)portnum);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		char *zone = strchr(host, '%');

		if (zone != NULL) {
			*zone++ = '\0';
			if (parse_uint(zone, strlen(zone), UINT32_MAX, &scope) != 0) {
				if (zone[0] == '\0' || strlen(zone) >= IF_NAMESIZE)
					return -EINVAL;
				scope = if_nametoindex(zone);
				if (scope == 0)
					return -EINVAL;
			}
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)portnum);
		sin6->sin6_scope_id = (uint32_t)scope;
	}
	return 0;
}

static void
mask_prefix(uint8_t *bytes, unsigned int plen, unsigned int bits)
{
	unsigned int i;

	for (i = plen; i < bits; i++)
		bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

/* "a.b.c.d/len" or "v6/len"; host bits are masked off. */
static int
parse_allowed_ip(const char *v, size_t n, struct uapi_allowed_ip *aip)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = memchr(v, '/', n);
	uint64_t plen;
	unsigned int bits;

	memset(aip, 0, sizeof(*aip));
	if (slash == NULL || cstr(host, sizeof(host), v, slash - v) != 0)
		return -EINVAL;
	if (strchr(host, ':') != NULL) {
		if (inet_pton(AF_INET6, host, &aip->addr.v6) != 1)
			return -EINVAL;
		aip->family = AF_INET6;
		bits = 128;
	} else {
		if (inet_pton(AF_INET, host, &aip->addr.v4) != 1)
			return -EINVAL;
		aip->family = AF_INET;
		bits = 32;
	}
	if (parse_uint(slash + 1, v + n - slash - 1, bits, &plen) != 0)
		return -EINVAL;
	aip->plen = (uint8_t)plen;
	mask_prefix(aip->addr.bytes, aip->plen, bits);
	return 0;
}

/*
 * Grow *arr (of elem bytes) so it holds one more than n; 0 or -ENOMEM.
 * malloc + copy + wipe rather than realloc: peer operations hold preshared
 * keys, and realloc would leave copies of them in freed memory.
 */
static int
grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = malloc(ncap * elem);
	if (p == NULL)
		return -ENOMEM;
	if (*arr != NULL) {
		memcpy(p, *arr, n * elem);
		sodium_memzero(*arr, *cap * elem);
		free(*arr);
	}
	*arr = p;
	*cap = ncap;
	return 0;
}

static int
set_public_key(struct parser *p, const char *v, size_t n)
{
	struct uapi_set *s = p->set;
	struct uapi_peer_op *op;

	if (grow((void **)&s->peers, &s->cap_peers, s->n_peers, sizeof(*s->peers)) != 0)
		return perr(p, -ENOMEM, "out of memory");
	op = &s->peers[s->n_peers];
	memset(op, 0, sizeof(*op));
	if (parse_key(v, n, op->public_key) != 0)
		return perr(p, -EINVAL, "public_key is not 64 hex digits");
	s->n_peers++;
	p->peer = op;
	return 0;
}

static int
set_true(struct parser *p, const char *key, const char *v, size_t n, bool *flag)
{
	char b[64];

	if (!is_value(v, n, "true"))
		return perr(p, -EINVAL, "%s must be \"true\", not \"%s\"", key,
			    shown(v, n, b, sizeof(b)));
	*flag = true;
	return 0;
}

/* One key=value line, value of n bytes (no newline). */
static int
parse_line(struct parser *p, const char *key, size_t klen, const char *v, size_t n)
{
	struct uapi_set *s = p->set;
	struct uapi_peer_op *op = p->peer;
	uint64_t x;
	char b[64];
	int ret;

#define KEY(name) (klen == sizeof(name) - 1 && memcmp(key, name, klen) == 0)
	if (KEY("public_key"))
		return set_public_key(p, v, n);
	if (op == NULL) {
		if (KEY("private_key")) {
			if (parse_key(v, n, s->private_key) != 0)
				return perr(p, -EINVAL, "private_key is not 64 hex digits");
			s->has_private_key = true;
		} else if (KEY("listen_port")) {
			if (parse_uint(v, n, UINT16_MAX, &x) != 0)
				return perr(p, -EINVAL, "invalid listen_port \"%s\"",
					    shown(v, n, b, sizeof(b)));
			s->listen_port = (uint16_t)x;
			s->has_listen_port = true;
		} else if (KEY("fwmark")) {
			if (parse_uint(v, n, UINT32_MAX, &x) != 0)
				return perr(p, -EINVAL, "invalid fwmark \"%s\"",
					    shown(v, n, b, sizeof(b)));
			s->fwmark = (uint32_t)x;
			s->has_fwmark = true;
		} else if (KEY("replace_peers")) {
			return set_true(p, "replace_peers", v, n, &s->replace_peers);
		} else {
			return perr(p, -EINVAL, "invalid device key \"%s\"%s",
				    shown(key, klen, b, sizeof(b)),
				    KEY("allowed_ip") || KEY("endpoint") || KEY("remove") ||
						    KEY("preshared_key") ||
						    KEY("persistent_keepalive_interval") ||
						    KEY("update_only") ||
						    KEY("replace_allowed_ips") ||
						    KEY("protocol_version")
					    ? " (a peer key before any public_key)"
					    : "");
		}
		return 0;
	}
	if (KEY("remove")) {
		return set_true(p, "remove", v, n, &op->remove);
	} else if (KEY("update_only")) {
		return set_true(p, "update_only", v, n, &op->update_only);
	} else if (KEY("replace_allowed_ips")) {
		ret = set_true(p, "replace_allowed_ips", v, n, &op->replace_allowed_ips);
		if (ret == 0)
			op->n_allowed_ips = 0; /* wireguard-go drops those, too */
		return ret;
	} else if (KEY("preshared_key")) {
		if (parse_key(v, n, op->preshared_key) != 0)
			return perr(p, -EINVAL, "preshared_key is not 64 hex digits");
		op->has_preshared_key = true;
	} else if (KEY("endpoint")) {
		if (parse_endpoint(v, n, &op->endpoint) != 0) {
			memset(&op->endpoint, 0, sizeof(op->endpoint));
			return perr(p, -EINVAL,
				    "invalid endpoint \"%s\" (want a.b.c.d:port or [v6]:port)",
				    shown(v, n, b, sizeof(b)));
		}
		op->has_endpoint = true;
	} else if (KEY("persistent_keepalive_interval")) {
		if (parse_uint(v, n, UINT16_MAX, &x) != 0)
			return perr(p, -EINVAL, "invalid persistent_keepalive_interval \"%s\"",
				    shown(v, n, b, sizeof(b)));
		op->persistent_keepalive = (uint16_t)x;
		op->has_persistent_keepalive = true;
	} else if (KEY("allowed_ip")) {
		if (grow((void **)&op->allowed_ips, &op->cap_allowed_ips, op->n_allowed_ips,
			 sizeof(*op->allowed_ips)) != 0)
			return perr(p, -ENOMEM, "out of memory");
		if (parse_allowed_ip(v, n, &op->allowed_ips[op->n_allowed_ips]) != 0)
			return perr(p, -EINVAL, "invalid allowed_ip \"%s\" (want address/length)",
				    shown(v, n, b, sizeof(b)));
		op->n_allowed_ips++;
	} else if (KEY("protocol_version")) {
		if (!is_value(v, n, "1"))
			return perr(p, -EINVAL, "unsupported protocol_version \"%s\"",
				    shown(v, n, b, sizeof(b)));
	} else {
		return perr(p, -EINVAL, "invalid peer key \"%s\"%s", shown(key, klen, b, sizeof(b)),
			    KEY("private_key") || KEY("listen_port") || KEY("fwmark") ||
					    KEY("replace_peers")
				    ? " (a device key after a public_key)"
				    : "");
	}
#undef KEY
	return 0;
}

int
uapi_parse_set(const char *text, size_t len, struct uapi_set *out, char *err, size_t errlen)
{
	struct parser p = {.set = out, .line = 1, .err = err, .errlen = errlen};
	size_t pos = sizeof("set=1\n") - 1;
	int ret;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || len < pos || memcmp(text, "set=1\n", pos) != 0)
		return perr(&p, -EPROTO, "not a set=1 request");
	if (memchr(text, '\0', len) != NULL)
		return perr(&p, -EPROTO, "NUL byte in request");
	for (;;) {
		const char *line = text + pos, *nl, *eq;
		size_t llen;

		p.line++;
		nl = memchr(line, '\n', len - pos);
		if (nl == NULL) {
			ret = perr(&p, -EPROTO, "request does not end with a blank line");
			goto err;
		}
		llen = nl - line;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0) {
			if (nl + 1 != text + len) {
				ret = perr(&p, -EPROTO, "data after the blank line");
				goto err;
			}
			return 0;
		}
		eq = memchr(line, '=', llen);
		if (eq == NULL) {
			char b[64];

			ret = perr(&p, -EPROTO, "no '=' in \"%s\"",
				   shown(line, llen, b, sizeof(b)));
			goto err;
		}
		ret = parse_line(&p, line, eq - line, eq + 1, line + llen - eq - 1);
		if (ret != 0)
			goto err;
		pos = nl + 1 - text;
	}
err:
	uapi_set_free(out);
	return ret;
}

void
uapi_set_free(struct uapi_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n_peers; i++)
		free(set->peers[i].allowed_ips);
	if (set->peers != NULL)
		sodium_memzero(set->peers, set->cap_peers * sizeof(*set->peers));
	free(set->peers);
	sodium_memzero(set, sizeof(*set));
}

/* --------------------------------------------------------------- format */

struct out {
	char *p;
	size_t len, cap;
	bool bad;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->bad)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->bad = true; /* cannot happen: cap is an upper bound */
	else
		o->len += n;
}

static void
out_key(struct out *o, const char *name, const uint8_t key[UAPI_KEY_LEN])
{
	char hex[2 * UAPI_KEY_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), key, UAPI_KEY_LEN);
	outf(o, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
}

static int
out_endpoint(struct out *o, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		outf(o, "endpoint=%s:%u\n", a, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		if (sin6->sin6_scope_id != 0)
			outf(o, "endpoint=[%s%%%" PRIu32 "]:%u\n", a, sin6->sin6_scope_id,
			     ntohs(sin6->sin6_port));
		else
			outf(o, "endpoint=[%s]:%u\n", a, ntohs(sin6->sin6_port));
	} else if (ss->ss_family != AF_UNSPEC) {
		return -EINVAL;
	}
	return 0;
}

static int
out_allowed_ip(struct out *o, const struct uapi_allowed_ip *aip)
{
	char a[INET6_ADDRSTRLEN];

	if (!((aip->family == AF_INET && aip->plen <= 32) ||
	      (aip->family == AF_INET6 && aip->plen <= 128)))
		return -EINVAL;
	inet_ntop(aip->family, aip->addr.bytes, a, sizeof(a));
	outf(o, "allowed_ip=%s/%u\n", a, aip->plen);
	return 0;
}

/* Upper bounds of the text of one peer, without and per allowed IP. */
#define PEER_MAX 1024
#define AIP_MAX	 64

char *
uapi_format_get(const struct uapi_device *dev, size_t *len)
{
	struct out o = {0};
	size_t i, j, n_aip = 0;

	for (i = 0; i < dev->n_peers; i++) {
		if (dev->peers[i].n_allowed_ips > SIZE_MAX / AIP_MAX - n_aip)
			goto nomem;
		n_aip += dev->peers[i].n_allowed_ips;
	}
	if (dev->n_peers > SIZE_MAX / PEER_MAX / 2 || n_aip > SIZE_MAX / AIP_MAX / 2)
		goto nomem;
	/* One allocation of an upper bound: no realloc leaves key copies. */
	o.cap = 256 + dev->n_peers * PEER_MAX + n_aip * AIP_MAX;
	o.p = malloc(o.cap);
	if (o.p == NULL)
		goto nomem;
	if (dev->has_private_key && !sodium_is_zero(dev->private_key, UAPI_KEY_LEN))
		out_key(&o, "private_key", dev->private_key);
	if (dev->listen_port != 0)
		outf(&o, "listen_port=%u\n", dev->listen_port);
	if (dev->fwmark != 0)
		outf(&o, "fwmark=%" PRIu32 "\n", dev->fwmark);
	for (i = 0; i < dev->n_peers; i++) {
		const struct uapi_peer_info *pi = &dev->peers[i];

		out_key(&o, "public_key", pi->public_key);
		out_key(&o, "preshared_key", pi->preshared_key);
		outf(&o, "protocol_version=1\n");
		if (out_endpoint(&o, &pi->endpoint) != 0)
			goto inval;
		outf(&o, "last_handshake_time_sec=%" PRIu64 "\n", pi->last_handshake_sec);
		outf(&o, "last_handshake_time_nsec=%" PRIu32 "\n", pi->last_handshake_nsec);
		outf(&o, "tx_bytes=%" PRIu64 "\n", pi->tx_bytes);
		outf(&o, "rx_bytes=%" PRIu64 "\n", pi->rx_bytes);
		outf(&o, "persistent_keepalive_interval=%u\n", pi->persistent_keepalive);
		for (j = 0; j < pi->n_allowed_ips; j++)
			if (out_allowed_ip(&o, &pi->allowed_ips[j]) != 0)
				goto inval;
	}
	outf(&o, "errno=0\n\n");
	if (o.bad)
		goto inval;
	*len = o.len;
	return o.p;
inval:
	uapi_text_free(o.p, o.cap);
	errno = EINVAL;
	return NULL;
nomem:
	errno = ENOMEM;
	return NULL;
}

void
uapi_text_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	sodium_memzero(text, len);
	free(text);
}

/*
 * --------------------------------------------------------------- server
 * From here on only the public functions above are used: this half can move
 * to its own file as it stands.
 */

struct client {
	int fd;
	bool eof;     /* the client shut down its side */
	bool closing; /* close once out is flushed */
	char *in;     /* received, not yet handled */
	size_t in_len, in_cap;
	size_t scanned; /* in[0..scanned) holds no blank line */
	char *out;	/* the answer being sent */
	size_t out_len, out_off;
	uint64_t deadline; /* ms, CLOCK_MONOTONIC */
};

struct uapi_server {
	int fd;
	dev_t dev; /* the socket file, so close removes only our own */
	ino_t ino;
	struct uapi_ops ops;
	void *ctx;
	char ifname[IF_NAMESIZE];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned int n_clients;
	struct client clients[UAPI_MAX_CLIENTS];
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void __attribute__((format(printf, 2, 3)))
slog(struct uapi_server *srv, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (srv->ops.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	srv->ops.log(srv->ctx, srv->ifname, msg);
}

static void
client_close(struct uapi_server *srv, struct client *c)
{
	close(c->fd);
	if (c->in != NULL)
		sodium_memzero(c->in, c->in_cap);
	free(c->in);
	uapi_text_free(c->out, c->out_len);
	*c = srv->clients[--srv->n_clients];
}

/* Queue an answer (text owned by the client from now on). */
static void
client_answer(struct client *c, char *text, size_t len)
{
	c->out = text;
	c->out_len = len;
	c->out_off = 0;
}

static void
client_errno(struct uapi_server *srv, struct client *c, int num, bool then_close)
{
	char *t = malloc(32);

	if (t == NULL) {
		slog(srv, "out of memory answering a client");
		c->closing = true;
		return;
	}
	client_answer(c, t, snprintf(t, 32, "errno=%d\n\n", num));
	c->closing |= then_close;
}

static void
do_get(struct uapi_server *srv, struct client *c)
{
	struct uapi_device dev;
	size_t len = 0;
	char *text;
	int ret;

	memset(&dev, 0, sizeof(dev));
	ret = srv->ops.get(srv->ctx, srv->ifname, &dev);
	if (ret < 0) {
		/* wg(8) reads a get's errno as a positive number. */
		slog(srv, "get failed: %s", strerror(-ret));
		client_errno(srv, c, -ret, false);
		return;
	}
	text = uapi_format_get(&dev, &len);
	ret = -errno;
	if (srv->ops.get_free != NULL)
		srv->ops.get_free(srv->ctx, &dev);
	if (text == NULL) {
		slog(srv, "get: cannot format the answer: %s", strerror(-ret));
		client_errno(srv, c, -ret, false);
		return;
	}
	client_answer(c, text, len);
}

static void
do_set(struct uapi_server *srv, struct client *c, size_t len)
{
	struct uapi_set set;
	char err[256];
	int ret;

	ret = uapi_parse_set(c->in, len, &set, err, sizeof(err));
	if (ret < 0) {
		slog(srv, "set refused: %s", err);
		client_errno(srv, c, ret, false);
		return;
	}
	err[0] = '\0';
	ret = srv->ops.set(srv->ctx, srv->ifname, &set, err, sizeof(err));
	uapi_set_free(&set);
	if (ret > 0)
		ret = -ret;
	if (ret < 0)
		slog(srv, "set failed: %s", err[0] ? err : strerror(-ret));
	/* wg(8) and wireguard-go: a set's errno is negative. */
	client_errno(srv, c, ret, false);
}

/* Drop the first len bytes of c->in, wiping what they held. */
static void
client_consume(struct client *c, size_t len)
{
	memmove(c->in, c->in + len, c->in_len - len);
	sodium_memzero(c->in + c->in_len - len, len);
	c->in_len -= len;
	c->scanned = 0;
}

/* Handle the next complete request in c->in; false if there is none. */
static bool
client_request(struct uapi_server *srv, struct client *c)
{
	const char *nl, *end;
	size_t from;

	nl = memchr(c->in, '\n', c->in_len);
	if (nl == NULL) {
		if (c->in_len <= 6)
			return false;
	} else if (nl - c->in == 5 && memcmp(c->in, "get=1", 5) == 0) {
		if (c->in_len < 7)
			return false;
		if (c->in[6] != '\n') {
			slog(srv, "get=1 not followed by a blank line");
			client_errno(srv, c, -EINVAL, true);
			return true;
		}
		client_consume(c, 7);
		do_get(srv, c);
		return true;
	} else if (nl - c->in == 5 && memcmp(c->in, "set=1", 5) == 0) {
		from = c->scanned > 5 ? c->scanned - 1 : 5;
		end = memmem(c->in + from, c->in_len - from, "\n\n", 2);
		if (end == NULL) {
			c->scanned = c->in_len;
			return false;
		}
		do_set(srv, c, end + 2 - c->in);
		client_consume(c, end + 2 - c->in);
		return true;
	}
	slog(srv, "unknown operation, closing the connection");
	client_errno(srv, c, -EPROTO, true);
	return true;
}

/* Send what is queued; false if the client was closed. */
static bool
client_flush(struct uapi_server *srv, struct client *c)
{
	while (c->out != NULL) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return true;
			client_close(srv, c);
			return false;
		}
		c->deadline = now_ms() + UAPI_CLIENT_TIMEOUT_MS;
		c->out_off += w;
		if (c->out_off == c->out_len) {
			uapi_text_free(c->out, c->out_len);
			c->out = NULL;
		}
	}
	return true;
}

/* Read what is there, up to UAPI_MAX_REQUEST buffered; false if closed. */
static bool
client_read(struct uapi_server *srv, struct client *c)
{
	while (!c->eof && c->in_len < UAPI_MAX_REQUEST) {
		ssize_t r;

		if (c->in_len == c->in_cap) {
			size_t ncap = c->in_cap ? c->in_cap * 2 : 4096;
			char *p;

			if (ncap > UAPI_MAX_REQUEST)
				ncap = UAPI_MAX_REQUEST;
			p = malloc(ncap); /* not realloc: wipe the old copy */
			if (p == NULL) {
				slog(srv, "out of memory reading a request");
				client_close(srv, c);
				return false;
			}
			if (c->in != NULL) {
				memcpy(p, c->in, c->in_len);
				sodium_memzero(c->in, c->in_cap);
				free(c->in);
			}
			c->in = p;
			c->in_cap = ncap;
		}
		r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return true;
			client_close(srv, c);
			return false;
		}
		if (r == 0)
			c->eof = true;
		c->in_len += r;
		c->deadline = now_ms() + UAPI_CLIENT_TIMEOUT_MS;
	}
	return true;
}

/* Answer, one request at a time, until blocked; false if closed. */
static bool
client_progress(struct uapi_server *srv, struct client *c)
{
	for (;;) {
		if (!client_flush(srv, c))
			return false;
		if (c->out != NULL)
			return true;
		if (c->closing) {
			client_close(srv, c);
			return false;
		}
		if (client_request(srv, c))
			continue;
		if (c->in_len >= UAPI_MAX_REQUEST) {
			slog(srv, "request larger than %d bytes", UAPI_MAX_REQUEST);
			client_errno(srv, c, -EMSGSIZE, true);
		} else if (c->eof && c->in_len > 0) {
			slog(srv, "request cut short by the client");
			client_errno(srv, c, -EPROTO, true);
		} else if (c->eof) {
			c->closing = true;
		} else {
			return true;
		}
	}
}

static int
server_accept(struct uapi_server *srv)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		struct ucred cred = {.uid = (uid_t)-1};
		socklen_t clen = sizeof(cred);
		struct client *c;
		int fd;

		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return 0;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				slog(srv, "accept: %s", strerror(errno));
				return 0;
			}
			return -errno;
		}
		/* Defence in depth: the socket is 0600 already. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			slog(srv, "refusing a client of uid %u", (unsigned int)cred.uid);
			close(fd);
			continue;
		}
		if (srv->n_clients == UAPI_MAX_CLIENTS) {
			slog(srv, "too many clients, refusing one");
			close(fd);
			continue;
		}
		c = &srv->clients[srv->n_clients++];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->deadline = now_ms() + UAPI_CLIENT_TIMEOUT_MS;
	}
	return 0;
}

static struct client *
find_client(struct uapi_server *srv, int fd)
{
	unsigned int i;

	for (i = 0; i < srv->n_clients; i++)
		if (srv->clients[i].fd == fd)
			return &srv->clients[i];
	return NULL;
}

int
uapi_server_handle(struct uapi_server *srv, const struct pollfd *pfds, unsigned int n)
{
	uint64_t now;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		struct client *c;

		if (pfds[i].revents == 0 || pfds[i].fd < 0)
			continue;
		if (pfds[i].fd == srv->fd) {
			if (pfds[i].revents & (POLLERR | POLLNVAL))
				ret = -EIO;
			else if (ret == 0)
				ret = server_accept(srv);
			continue;
		}
		c = find_client(srv, pfds[i].fd);
		if (c == NULL)
			continue;
		if (c->out == NULL && !client_read(srv, c))
			continue;
		client_progress(srv, c);
	}
	now = now_ms();
	for (i = 0; i < srv->n_clients;) {
		if (srv->clients[i].deadline <= now) {
			slog(srv, "closing an idle client");
			client_close(srv, &srv->clients[i]);
		} else {
			i++;
		}
	}
	return ret;
}

unsigned int
uapi_server_pollfds(const struct uapi_server *srv, struct pollfd *pfds, unsigned int max)
{
	unsigned int i, n = 0;

	if (max == 0)
		return 0;
	pfds[n++] = (struct pollfd){.fd = srv->fd, .events = POLLIN};
	for (i = 0; i < srv->n_clients && n < max; i++) {
		const struct client *c = &srv->clients[i];

		pfds[n++] = (struct pollfd){
			.fd = c->fd,
			.events = c->out != NULL ? POLLOUT : POLLIN,
		};
	}
	return n;
}

int
uapi_server_timeout(const struct uapi_server *srv)
{
	uint64_t now = now_ms(), next = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < srv->n_clients; i++)
		if (srv->clients[i].deadline < next)
			next = srv->clients[i].deadline;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

unsigned int
uapi_server_clients(const struct uapi_server *srv)
{
	return srv->n_clients;
}

const char *
uapi_server_path(const struct uapi_server *srv)
{
	return srv->path;
}

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
valid_ifname(const char *s)
{
	size_t i, n = strnlen(s, IF_NAMESIZE);

	if (n == 0 || n >= IF_NAMESIZE || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]) || s[i] == '/')
			return false;
	return true;
}

/* mkdir -p, new directories 0755 whatever the umask. */
static int
make_dir(const char *dir)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *s, c;

	if (dir[0] == '\0')
		return -EINVAL;
	if (strlen(dir) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, dir);
	for (s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(buf, 0755) == 0) {
			if (chmod(buf, 0755) != 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Is someone listening on path? 0: no (stale, removed or absent). */
static int
check_stale(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, path, strlen(path));
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	ret = ret == 0 ? -EADDRINUSE : errno == EAGAIN ? -EADDRINUSE : -errno;
	close(fd);
	if (ret == -ECONNREFUSED) {
		if (unlink(path) != 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	return ret == -ENOENT ? 0 : ret;
}

struct uapi_server *
uapi_server_open(const char *dir, const char *ifname, const struct uapi_ops *ops, void *ctx,
		 char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct uapi_server *srv;
	struct stat st;
	mode_t old_umask;
	int ret, n;

	if (dir == NULL)
		dir = UAPI_DEFAULT_DIR;
	if (ifname == NULL || !valid_ifname(ifname)) {
		seterr(err, errlen, "invalid interface name");
		errno = EINVAL;
		return NULL;
	}
	if (ops == NULL || ops->get == NULL || ops->set == NULL) {
		seterr(err, errlen, "uapi_ops without get or set");
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		seterr(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	srv->fd = -1;
	srv->ops = *ops;
	srv->ctx = ctx;
	memcpy(srv->ifname, ifname, strlen(ifname) + 1);
	n = snprintf(srv->path, sizeof(srv->path), "%s/%s.sock", dir, ifname);
	if (n < 0 || (size_t)n >= sizeof(srv->path)) {
		seterr(err, errlen, "socket path %s/%s.sock is too long", dir, ifname);
		ret = -ENAMETOOLONG;
		goto err_free;
	}
	ret = make_dir(dir);
	if (ret < 0) {
		seterr(err, errlen, "cannot create %s: %s", dir, strerror(-ret));
		goto err_free;
	}
	ret = check_stale(srv->path);
	if (ret < 0) {
		seterr(err, errlen, "%s: %s", srv->path,
		       ret == -EADDRINUSE ? "a live process listens on it"
		       : ret == -EEXIST	  ? "exists and is not a socket"
					  : strerror(-ret));
		goto err_free;
	}
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		ret = -errno;
		seterr(err, errlen, "socket: %s", strerror(-ret));
		goto err_free;
	}
	memcpy(sun.sun_path, srv->path, strlen(srv->path));
	/* The daemon is single-threaded: the umask window races nothing. */
	old_umask = umask(0177);
	ret = bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ? 0 : -errno;
	umask(old_umask);
	if (ret < 0) {
		seterr(err, errlen, "bind %s: %s", srv->path, strerror(-ret));
		goto err_close;
	}
	if (chmod(srv->path, 0600) != 0 || stat(srv->path, &st) != 0) {
		ret = -errno;
		seterr(err, errlen, "%s: %s", srv->path, strerror(-ret));
		goto err_unlink;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	if (listen(srv->fd, 16) != 0) {
		ret = -errno;
		seterr(err, errlen, "listen %s: %s", srv->path, strerror(-ret));
		goto err_unlink;
	}
	return srv;

err_unlink:
	unlink(srv->path);
err_close:
	close(srv->fd);
err_free:
	free(srv);
	errno = -ret;
	return NULL;
}

void
uapi_server_close(struct uapi_server *srv)
{
	struct stat st;

	if (srv == NULL)
		return;
	while (srv->n_clients > 0)
		client_close(srv, &srv->clients[0]);
	if (stat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	close(srv->fd);
	free(srv);
}
