/*
 * config.c — the gate44-dp configuration parser (format: CONFIG.md). One
 * pass over the lines fills struct dp_cfg through a table of sections and
 * keys; cross-references (peer -> interface, route -> port or peer) and
 * uniqueness are checked once the whole text is read, so sections may come
 * in any order. Any error frees everything and says "<file>:<line>: why".
 * Runs on the main thread before rte_eal_init(); no DPDK header here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"

#define EAL_PROG      "gate44-dp"
#define EAL_MAX_WORDS 1024
#define KEY_FILE_MAX  1024
#define NAME_CHARS    "A-Z a-z 0-9 _ -"
#define TAP_CHARS     "A-Z a-z 0-9 _ . -"

enum { K_REPEAT = 1, K_REQUIRED = 2 };

struct parser;
typedef int key_fn(struct parser *p, char *val);

struct key_def {
	const char *name;
	unsigned int flags;
	key_fn *set;
};

struct sect_def {
	const char *name;
	bool named;	 /* [port NAME] */
	bool repeatable; /* may appear more than once */
	const struct key_def *keys;
	int (*begin)(struct parser *p, const char *name);
	int (*end)(struct parser *p);
};

/* What a [peer] or [route] names, resolved after the whole file is read. */
struct peer_aux {
	char iface[DP_CFG_NAME_MAX];
	unsigned int iface_line;
};

struct route_aux {
	char port[DP_CFG_NAME_MAX];
	uint8_t peer_key[DP_CFG_KEY_LEN];
	int via_family;
	unsigned int via_line, port_line, peer_line;
	bool exception, drop;
};

struct parser {
	struct dp_cfg *cfg;
	const char *name;
	char *err;
	size_t errlen;
	unsigned int line;
	const struct sect_def *sect; /* NULL before the first section */
	unsigned int sect_line;
	char label[2 * DP_CFG_NAME_MAX + 16]; /* "[port uplink]" */
	uint32_t seen;			      /* bit i: sect->keys[i] given */
	uint32_t sects_seen;		      /* bit i: sections[i] given */
	size_t eal_len, eal_cap;
	int eal_words;
	struct peer_aux *paux;
	unsigned int peers_cap;
	unsigned int allowed_cap; /* of the current peer's allowed_ips */
	struct route_aux *raux;
	unsigned int routes_cap;
};

static int __attribute__((format(printf, 4, 5)))
fail(struct parser *p, int code, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return code;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return code;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

/* An error at the current line. */
#define ERR(p, ...) fail((p), -EINVAL, (p)->line, __VA_ARGS__)

/* ---- helpers ---------------------------------------------------------- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static char *
trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Cut s at the first '#' or ';' that starts the line or follows a blank,
 * outside "double quotes". */
static void
strip_comment(char *s)
{
	bool quoted = false;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (quoted) {
			if (s[i] == '\\' && s[i + 1] != '\0')
				i++;
			else if (s[i] == '"')
				quoted = false;
		} else if (s[i] == '"') {
			quoted = true;
		} else if ((s[i] == '#' || s[i] == ';') && (i == 0 || is_space(s[i - 1]))) {
			s[i] = '\0';
			return;
		}
	}
}

static bool
valid_name(const char *s, bool dot)
{
	size_t n = strlen(s);

	if (n == 0 || n >= DP_CFG_NAME_MAX)
		return false;
	for (; *s != '\0'; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || (dot && c == '.')))
			return false;
	}
	return true;
}

/* Strict decimal; values above max (or absurdly long) fail. */
static int
parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

/* A number for key in min..max, or an error naming key. */
static int
number(struct parser *p, const char *key, const char *val, unsigned long min, unsigned long max,
       unsigned long *out)
{
	int rc = parse_ulong(val, max, out);

	if (rc == -EINVAL)
		return ERR(p, "%s '%s' is not a number", key, val);
	if (rc < 0 || *out < min)
		return ERR(p, "%s %s out of range %lu..%lu", key, val, min, max);
	return 0;
}

static int
boolean(struct parser *p, const char *key, const char *val, bool *out)
{
	if (strcasecmp(val, "yes") == 0 || strcasecmp(val, "true") == 0 || strcmp(val, "1") == 0)
		*out = true;
	else if (strcasecmp(val, "no") == 0 || strcasecmp(val, "false") == 0 ||
		 strcmp(val, "0") == 0)
		*out = false;
	else
		return ERR(p, "%s must be yes or no, not '%s'", key, val);
	return 0;
}

static unsigned int
addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static const char *
prefix_parse_why(const char *s, struct dp_cfg_prefix *out)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	struct dp_cfg_prefix pf;
	unsigned long plen;
	size_t n;

	if (slash == NULL)
		return "missing /length";
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(a))
		return "bad address";
	memcpy(a, s, n);
	a[n] = '\0';
	memset(&pf, 0, sizeof(pf));
	if (dp_addr_parse(a, &pf.family, pf.addr) != 0)
		return "bad address";
	if (strlen(slash + 1) > 3 || parse_ulong(slash + 1, 999, &plen) != 0)
		return "bad length";
	if (plen > addr_len(pf.family) * 8)
		return pf.family == AF_INET ? "length must be 0..32" : "length must be 0..128";
	pf.plen = (uint8_t)plen;
	*out = pf;
	return NULL;
}

int
dp_addr_parse(const char *s, int *family, uint8_t addr[16])
{
	uint8_t buf[16];

	if (s == NULL || family == NULL || addr == NULL)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	if (inet_pton(AF_INET, s, buf) == 1) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, s, buf) == 1) {
		*family = AF_INET6;
	} else {
		return -EINVAL;
	}
	memcpy(addr, buf, sizeof(buf));
	return 0;
}

int
dp_prefix_parse(const char *s, struct dp_cfg_prefix *p)
{
	if (s == NULL || p == NULL)
		return -EINVAL;
	return prefix_parse_why(s, p) == NULL ? 0 : -EINVAL;
}

bool
dp_prefix_is_network(const struct dp_cfg_prefix *p)
{
	unsigned int bits = addr_len(p->family) * 8;

	for (unsigned int i = p->plen; i < bits; i++)
		if (p->addr[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

static void
prefix_mask(struct dp_cfg_prefix *p)
{
	for (unsigned int i = p->plen; i < 128; i++)
		p->addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

int
dp_endpoint_parse(const char *s, struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN + 1];
	struct sockaddr_storage out;
	const char *host, *colon;
	unsigned long port;
	size_t n;
	int family;

	if (s == NULL || ss == NULL)
		return -EINVAL;
	if (s[0] == '[') {
		host = s + 1;
		colon = strchr(host, ']');
		if (colon == NULL || colon[1] != ':')
			return -EINVAL;
		n = (size_t)(colon - host);
		colon++;
		family = AF_INET6;
	} else {
		host = s;
		colon = strchr(s, ':');
		if (colon == NULL)
			return -EINVAL;
		n = (size_t)(colon - host);
		family = AF_INET;
	}
	if (n == 0 || n >= sizeof(a))
		return -EINVAL;
	memcpy(a, host, n);
	a[n] = '\0';
	if (strlen(colon + 1) > 5 || parse_ulong(colon + 1, 65535, &port) != 0 || port == 0)
		return -EINVAL;
	memset(&out, 0, sizeof(out));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out;

		if (inet_pton(AF_INET, a, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out;

		if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	}
	*ss = out;
	return 0;
}

int
dp_key_parse(const char *b64, uint8_t key[32])
{
	uint8_t tmp[DP_CFG_KEY_LEN];
	const char *end = NULL;
	size_t n, bin_len = 0;
	int rc;

	if (b64 == NULL || key == NULL)
		return -EINVAL;
	n = strlen(b64);
	/* the alphabet first: libsodium 1.0.18 decodes some bytes >= 0x80 as
	 * base64 digits */
	if (n != 44 || b64[43] != '=' || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43)
		return -EINVAL;
	rc = sodium_base642bin(tmp, sizeof(tmp), b64, n, NULL, &bin_len, &end,
			       sodium_base64_VARIANT_ORIGINAL);
	if (rc == 0 && bin_len == sizeof(tmp) && end == b64 + n)
		memcpy(key, tmp, sizeof(tmp));
	else
		rc = -EINVAL;
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

void
dp_prefix_format(const struct dp_cfg_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (buf == NULL || len == 0)
		return;
	if (p == NULL || (p->family != AF_INET && p->family != AF_INET6) ||
	    p->plen > addr_len(p->family) * 8 ||
	    inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%s/%u", a, p->plen);
}

static const char *
addr_str(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (inet_ntop(family, addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

static int
cmp_prefix(const struct dp_cfg_prefix *a, const struct dp_cfg_prefix *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Read at most max bytes of a small regular file into buf (NUL-terminated).
 * Returns the length, -EFBIG when longer, -ENOTSUP when not a regular file
 * (a FIFO or device could block or never end), or -errno. */
static ssize_t
read_small(const char *path, char *buf, size_t max)
{
	ssize_t n, total = 0;
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOTSUP;
	}
	for (;;) {
		n = read(fd, buf + total, max + 1 - (size_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		total += n;
		if ((size_t)total > max) {
			rc = -EFBIG;
			break;
		}
	}
	close(fd);
	if (rc < 0) {
		sodium_memzero(buf, max + 1);
		return rc;
	}
	buf[total] = '\0';
	return total;
}

/* ---- sections: begin/end hooks and key handlers ------------------------ */

static struct dp_cfg_port *
cur_port(struct parser *p)
{
	return &p->cfg->ports[p->cfg->n_ports - 1];
}

static struct dp_cfg_wg *
cur_wg(struct parser *p)
{
	return &p->cfg->wgs[p->cfg->n_wgs - 1];
}

static struct dp_cfg_peer *
cur_peer(struct parser *p)
{
	return &p->cfg->peers[p->cfg->n_peers - 1];
}

static struct dp_cfg_route *
cur_route(struct parser *p)
{
	return &p->cfg->routes[p->cfg->n_routes - 1];
}

static bool
key_seen(struct parser *p, const char *key)
{
	for (unsigned int i = 0; p->sect->keys[i].name != NULL; i++)
		if (strcmp(p->sect->keys[i].name, key) == 0)
			return (p->seen >> i) & 1;
	return false;
}

/* [eal] */

static int
eal_push(struct parser *p, char c)
{
	struct dp_cfg *cfg = p->cfg;

	if (p->eal_len == p->eal_cap) {
		size_t cap = p->eal_cap ? p->eal_cap * 2 : 256;
		char *nb = realloc(cfg->eal_buf, cap);

		if (nb == NULL)
			return fail(p, -ENOMEM, p->line, "out of memory");
		cfg->eal_buf = nb;
		p->eal_cap = cap;
	}
	cfg->eal_buf[p->eal_len++] = c;
	return 0;
}

/* Split on blanks; "double quotes" group, and inside them \" and \\ escape. */
static int
eal_args(struct parser *p, char *val)
{
	const char *s = val;
	int rc;

	while (*s != '\0') {
		bool quoted = false;

		while (is_space(*s))
			s++;
		if (*s == '\0')
			break;
		if (p->eal_words >= EAL_MAX_WORDS)
			return ERR(p, "too many eal args (max %d)", EAL_MAX_WORDS);
		for (; *s != '\0' && (quoted || !is_space(*s)); s++) {
			if (*s == '"') {
				quoted = !quoted;
				continue;
			}
			if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			rc = eal_push(p, *s);
			if (rc < 0)
				return rc;
		}
		if (quoted)
			return ERR(p, "unterminated quote in args");
		rc = eal_push(p, '\0');
		if (rc < 0)
			return rc;
		p->eal_words++;
	}
	return 0;
}

/* [engine] */

static int
engine_socket(struct parser *p, char *val)
{
	if (strlen(val) >= sizeof(p->cfg->socket_path))
		return ERR(p, "socket path too long (max %zu bytes)",
			   sizeof(p->cfg->socket_path) - 1);
	strcpy(p->cfg->socket_path, val);
	return 0;
}

static int
engine_workers(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "workers", val, 0, 1023, &v);

	p->cfg->workers = (int)v;
	return rc;
}

static int
engine_mbufs(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "mbufs", val, 1023, 67108863, &v);

	p->cfg->mbufs = (unsigned int)v;
	return rc;
}

static int
engine_burst(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "burst", val, 1, 256, &v);

	p->cfg->burst = (unsigned int)v;
	return rc;
}

static int
engine_max_peers(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "max-peers", val, 1, 16777216, &v);

	p->cfg->max_peers = (unsigned int)v;
	return rc;
}

static int
engine_routes4(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "routes4", val, 16, 16777216, &v);

	p->cfg->routes4 = (unsigned int)v;
	return rc;
}

static int
engine_routes6(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "routes6", val, 16, 1048576, &v);

	p->cfg->routes6 = (unsigned int)v;
	return rc;
}

/* [port NAME] and [wireguard NAME] */

static int
begin_named(struct parser *p, const char *name, bool is_port)
{
	struct dp_cfg *cfg = p->cfg;

	for (unsigned int i = 0; i < cfg->n_ports; i++)
		if (strcmp(cfg->ports[i].name, name) == 0)
			return is_port ? ERR(p, "duplicate port name '%s'", name)
				       : ERR(p, "name '%s' is already a port", name);
	for (unsigned int i = 0; i < cfg->n_wgs; i++)
		if (strcmp(cfg->wgs[i].name, name) == 0)
			return is_port ? ERR(p, "name '%s' is already a wireguard interface", name)
				       : ERR(p, "duplicate wireguard name '%s'", name);
	if (is_port && cfg->n_ports >= DP_CFG_MAX_PORTS)
		return ERR(p, "too many ports (max %d)", DP_CFG_MAX_PORTS);
	if (!is_port && cfg->n_wgs >= DP_CFG_MAX_WG)
		return ERR(p, "too many wireguard interfaces (max %d)", DP_CFG_MAX_WG);
	return 0;
}

static int
port_begin(struct parser *p, const char *name)
{
	struct dp_cfg_port *port;
	int rc = begin_named(p, name, true);

	if (rc < 0)
		return rc;
	port = &p->cfg->ports[p->cfg->n_ports++];
	memset(port, 0, sizeof(*port));
	strcpy(port->name, name);
	port->mtu = DP_CFG_DEF_PORT_MTU;
	port->queues = 1;
	port->line = p->line;
	return 0;
}

static int
wg_begin(struct parser *p, const char *name)
{
	struct dp_cfg_wg *wg;
	int rc = begin_named(p, name, false);

	if (rc < 0)
		return rc;
	wg = &p->cfg->wgs[p->cfg->n_wgs++];
	memset(wg, 0, sizeof(*wg));
	strcpy(wg->name, name);
	wg->mtu = DP_CFG_DEF_WG_MTU;
	wg->line = p->line;
	return 0;
}

/* An own address of a port or wireguard interface: unique across all. */
static int
own_address(struct parser *p, char *val, struct dp_cfg_prefix *addrs, unsigned int *n)
{
	static const uint8_t zero[16];
	struct dp_cfg *cfg = p->cfg;
	struct dp_cfg_prefix pf;
	const char *why = prefix_parse_why(val, &pf);
	char a[INET6_ADDRSTRLEN];

	if (why != NULL)
		return ERR(p, "bad prefix '%s' (%s)", val, why);
	if (memcmp(pf.addr, zero, addr_len(pf.family)) == 0 ||
	    (pf.family == AF_INET && (pf.addr[0] & 0xf0) == 0xe0) ||
	    (pf.family == AF_INET6 && pf.addr[0] == 0xff))
		return ERR(p, "address '%s' is unspecified or multicast", val);
	for (unsigned int k = 0; k < cfg->n_ports + cfg->n_wgs; k++) {
		bool is_port = k < cfg->n_ports;
		const struct dp_cfg_prefix *v =
			is_port ? cfg->ports[k].addrs : cfg->wgs[k - cfg->n_ports].addrs;
		unsigned int nv =
			is_port ? cfg->ports[k].n_addrs : cfg->wgs[k - cfg->n_ports].n_addrs;

		for (unsigned int i = 0; i < nv; i++)
			if (v[i].family == pf.family && memcmp(v[i].addr, pf.addr, 16) == 0)
				return ERR(p, "address %s already on [%s %s]",
					   addr_str(pf.family, pf.addr, a, sizeof(a)),
					   is_port ? "port" : "wireguard",
					   is_port ? cfg->ports[k].name
						   : cfg->wgs[k - cfg->n_ports].name);
	}
	if (*n >= DP_CFG_MAX_ADDRS)
		return ERR(p, "too many addresses in %s (max %d)", p->label, DP_CFG_MAX_ADDRS);
	addrs[(*n)++] = pf;
	return 0;
}

static int
port_device(struct parser *p, char *val)
{
	struct dp_cfg *cfg = p->cfg;

	for (const char *s = val; *s != '\0'; s++)
		if (is_space(*s))
			return ERR(p, "device '%s' contains blanks", val);
	for (unsigned int i = 0; i + 1 < cfg->n_ports; i++)
		if (strcmp(cfg->ports[i].device, val) == 0)
			return ERR(p, "device '%s' already used by [port %s]", val,
				   cfg->ports[i].name);
	cur_port(p)->device = strdup(val);
	if (cur_port(p)->device == NULL)
		return fail(p, -ENOMEM, p->line, "out of memory");
	return 0;
}

static int
port_address(struct parser *p, char *val)
{
	return own_address(p, val, cur_port(p)->addrs, &cur_port(p)->n_addrs);
}

static int
port_mtu(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "mtu", val, 576, 9000, &v);

	cur_port(p)->mtu = (uint16_t)v;
	return rc;
}

static int
port_queues(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "queues", val, 1, 64, &v);

	cur_port(p)->queues = (uint16_t)v;
	return rc;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
port_mac(struct parser *p, char *val)
{
	uint8_t mac[6];

	if (strlen(val) != 17)
		return ERR(p, "bad mac '%s' (want xx:xx:xx:xx:xx:xx)", val);
	for (int i = 0; i < 6; i++) {
		int hi = hexval(val[3 * i]), lo = hexval(val[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && val[3 * i + 2] != ':'))
			return ERR(p, "bad mac '%s' (want xx:xx:xx:xx:xx:xx)", val);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return ERR(p, "mac '%s' is a multicast address", val);
	if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
		return ERR(p, "mac '%s' is all zero", val);
	memcpy(cur_port(p)->mac, mac, sizeof(mac));
	cur_port(p)->has_mac = true;
	return 0;
}

static int
wg_private_key(struct parser *p, char *val)
{
	if (key_seen(p, "private-key-file"))
		return ERR(p, "private-key and private-key-file are mutually exclusive");
	if (dp_key_parse(val, cur_wg(p)->private_key) != 0)
		return ERR(p, "private-key is not 32 bytes of base64");
	return 0;
}

/* The file holds the base64 key; a relative path is taken from the
 * directory of the configuration file. */
static int
wg_private_key_file(struct parser *p, char *val)
{
	char path[PATH_MAX], buf[KEY_FILE_MAX + 1];
	const char *slash = strrchr(p->name, '/');
	const char *key = buf;
	ssize_t n;
	int rc = 0;

	if (key_seen(p, "private-key"))
		return ERR(p, "private-key and private-key-file are mutually exclusive");
	if (val[0] != '/' && slash != NULL)
		n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - p->name), p->name, val);
	else
		n = snprintf(path, sizeof(path), "%s", val);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR(p, "private-key-file path too long");
	n = read_small(path, buf, KEY_FILE_MAX);
	if (n >= 0) {
		/* trim blanks and line ends */
		while (n > 0 && (is_space(buf[n - 1]) || buf[n - 1] == '\r' || buf[n - 1] == '\n'))
			buf[--n] = '\0';
		key = buf + strspn(buf, " \t\r\n");
	}
	if (n == -EFBIG || (n >= 0 && dp_key_parse(key, cur_wg(p)->private_key) != 0))
		rc = ERR(p, "private-key-file '%s' is not 32 bytes of base64", path);
	else if (n == -ENOTSUP)
		rc = ERR(p, "private-key-file '%s' is not a regular file", path);
	else if (n < 0)
		rc = fail(p, (int)n, p->line, "cannot read private-key-file '%s': %s", path,
			  strerror((int)-n));
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static int
wg_listen_port(struct parser *p, char *val)
{
	struct dp_cfg *cfg = p->cfg;
	unsigned long v;
	int rc = number(p, "listen-port", val, 1, 65535, &v);

	if (rc < 0)
		return rc;
	for (unsigned int i = 0; i + 1 < cfg->n_wgs; i++)
		if (cfg->wgs[i].listen_port == v)
			return ERR(p, "listen-port %lu already used by [wireguard %s]", v,
				   cfg->wgs[i].name);
	cur_wg(p)->listen_port = (uint16_t)v;
	return 0;
}

static int
wg_address(struct parser *p, char *val)
{
	return own_address(p, val, cur_wg(p)->addrs, &cur_wg(p)->n_addrs);
}

static int
wg_mtu(struct parser *p, char *val)
{
	unsigned long v;
	int rc = number(p, "mtu", val, 576, 9000, &v);

	cur_wg(p)->mtu = (uint16_t)v;
	return rc;
}

static int
wg_end(struct parser *p)
{
	if (!key_seen(p, "private-key") && !key_seen(p, "private-key-file"))
		return fail(p, -EINVAL, p->sect_line, "%s needs private-key or private-key-file",
			    p->label);
	return 0;
}

/* [peer] */

static int
peer_begin(struct parser *p, const char *name)
{
	struct dp_cfg *cfg = p->cfg;

	(void)name;
	if (cfg->n_peers == p->peers_cap) {
		unsigned int cap = p->peers_cap ? p->peers_cap * 2 : 16;
		struct dp_cfg_peer *np = realloc(cfg->peers, cap * sizeof(*np));
		struct peer_aux *na;

		if (np == NULL)
			return fail(p, -ENOMEM, p->line, "out of memory");
		cfg->peers = np;
		na = realloc(p->paux, cap * sizeof(*na));
		if (na == NULL)
			return fail(p, -ENOMEM, p->line, "out of memory");
		p->paux = na;
		p->peers_cap = cap;
	}
	memset(&cfg->peers[cfg->n_peers], 0, sizeof(cfg->peers[0]));
	memset(&p->paux[cfg->n_peers], 0, sizeof(p->paux[0]));
	cfg->peers[cfg->n_peers].line = p->line;
	cfg->n_peers++;
	p->allowed_cap = 0;
	return 0;
}

static int
peer_interface(struct parser *p, char *val)
{
	struct peer_aux *aux = &p->paux[p->cfg->n_peers - 1];

	if (!valid_name(val, false))
		return ERR(p, "bad interface name '%s' (1..15 chars of " NAME_CHARS ")", val);
	strcpy(aux->iface, val);
	aux->iface_line = p->line;
	return 0;
}

static int
peer_public_key(struct parser *p, char *val)
{
	if (dp_key_parse(val, cur_peer(p)->public_key) != 0)
		return ERR(p, "public-key is not 32 bytes of base64");
	return 0;
}

static int
peer_psk(struct parser *p, char *val)
{
	if (dp_key_parse(val, cur_peer(p)->psk) != 0)
		return ERR(p, "preshared-key is not 32 bytes of base64");
	cur_peer(p)->has_psk = true;
	return 0;
}

static int
peer_allowed_ips(struct parser *p, char *val)
{
	struct dp_cfg_peer *peer = cur_peer(p);
	char *item = val, *comma;

	do {
		struct dp_cfg_prefix pf;
		const char *why;
		char net[DP_CFG_PREFIX_STRLEN];

		comma = strchr(item, ',');
		if (comma != NULL)
			*comma = '\0';
		item = trim(item);
		if (*item == '\0')
			return ERR(p, "empty entry in allowed-ips");
		why = prefix_parse_why(item, &pf);
		if (why != NULL)
			return ERR(p, "bad prefix '%s' (%s)", item, why);
		if (!dp_prefix_is_network(&pf)) {
			prefix_mask(&pf);
			dp_prefix_format(&pf, net, sizeof(net));
			return ERR(p, "allowed-ips '%s' has host bits set (did you mean %s?)", item,
				   net);
		}
		if (peer->n_allowed_ips == p->allowed_cap) {
			unsigned int cap = p->allowed_cap ? p->allowed_cap * 2 : 4;
			struct dp_cfg_prefix *na = realloc(peer->allowed_ips, cap * sizeof(*na));

			if (na == NULL)
				return fail(p, -ENOMEM, p->line, "out of memory");
			peer->allowed_ips = na;
			p->allowed_cap = cap;
		}
		peer->allowed_ips[peer->n_allowed_ips++] = pf;
		item = comma != NULL ? comma + 1 : NULL; /* no NULL + 1 (UBSan, fuzz_config) */
	} while (comma != NULL);
	return 0;
}

static int
peer_endpoint(struct parser *p, char *val)
{
	if (dp_endpoint_parse(val, &cur_peer(p)->endpoint) != 0)
		return ERR(p, "bad endpoint '%s' (want a.b.c.d:port or [v6]:port)", val);
	cur_peer(p)->has_endpoint = true;
	return 0;
}

static int
peer_keepalive(struct parser *p, char *val)
{
	unsigned long v = 0;
	int rc = 0;

	if (strcmp(val, "off") != 0)
		rc = number(p, "persistent-keepalive", val, 0, 65535, &v);
	cur_peer(p)->keepalive = (uint16_t)v;
	return rc;
}

/* [route] */

static int
route_begin(struct parser *p, const char *name)
{
	struct dp_cfg *cfg = p->cfg;

	(void)name;
	if (cfg->n_routes == p->routes_cap) {
		unsigned int cap = p->routes_cap ? p->routes_cap * 2 : 16;
		struct dp_cfg_route *nr = realloc(cfg->routes, cap * sizeof(*nr));
		struct route_aux *na;

		if (nr == NULL)
			return fail(p, -ENOMEM, p->line, "out of memory");
		cfg->routes = nr;
		na = realloc(p->raux, cap * sizeof(*na));
		if (na == NULL)
			return fail(p, -ENOMEM, p->line, "out of memory");
		p->raux = na;
		p->routes_cap = cap;
	}
	memset(&cfg->routes[cfg->n_routes], 0, sizeof(cfg->routes[0]));
	memset(&p->raux[cfg->n_routes], 0, sizeof(p->raux[0]));
	cfg->routes[cfg->n_routes].line = p->line;
	cfg->n_routes++;
	return 0;
}

static struct route_aux *
cur_raux(struct parser *p)
{
	return &p->raux[p->cfg->n_routes - 1];
}

static int
route_prefix(struct parser *p, char *val)
{
	struct dp_cfg_prefix pf;
	const char *why = prefix_parse_why(val, &pf);
	char net[DP_CFG_PREFIX_STRLEN];

	if (why != NULL)
		return ERR(p, "bad prefix '%s' (%s)", val, why);
	if (!dp_prefix_is_network(&pf)) {
		prefix_mask(&pf);
		dp_prefix_format(&pf, net, sizeof(net));
		return ERR(p, "route prefix '%s' has host bits set (did you mean %s?)", val, net);
	}
	cur_route(p)->prefix = pf;
	return 0;
}

static int
route_via(struct parser *p, char *val)
{
	if (dp_addr_parse(val, &cur_raux(p)->via_family, cur_route(p)->via) != 0)
		return ERR(p, "bad gateway address '%s'", val);
	cur_raux(p)->via_line = p->line;
	return 0;
}

static int
route_port(struct parser *p, char *val)
{
	if (!valid_name(val, false))
		return ERR(p, "bad port name '%s' (1..15 chars of " NAME_CHARS ")", val);
	strcpy(cur_raux(p)->port, val);
	cur_raux(p)->port_line = p->line;
	return 0;
}

static int
route_peer(struct parser *p, char *val)
{
	if (dp_key_parse(val, cur_raux(p)->peer_key) != 0)
		return ERR(p, "peer is not a public key (32 bytes of base64)");
	cur_raux(p)->peer_line = p->line;
	return 0;
}

static int
route_exception(struct parser *p, char *val)
{
	return boolean(p, "exception", val, &cur_raux(p)->exception);
}

static int
route_drop(struct parser *p, char *val)
{
	return boolean(p, "drop", val, &cur_raux(p)->drop);
}

static int
route_end(struct parser *p)
{
	struct dp_cfg_route *r = cur_route(p);
	struct route_aux *aux = cur_raux(p);
	bool via = aux->via_line != 0, peer = aux->peer_line != 0;
	int kinds = via + peer + aux->exception + aux->drop;
	char a[INET6_ADDRSTRLEN];

	if (aux->port_line != 0 && !via)
		return fail(p, -EINVAL, aux->port_line, "port is only valid with via");
	if (kinds == 0)
		return fail(p, -EINVAL, p->sect_line,
			    "[route] needs one of via, peer, exception = yes, drop = yes");
	if (kinds > 1)
		return fail(p, -EINVAL, p->sect_line,
			    "[route] takes only one of via, peer, exception, drop");
	if (via && aux->port_line == 0)
		return fail(p, -EINVAL, aux->via_line, "via needs port");
	if (via && aux->via_family != r->prefix.family)
		return fail(p, -EINVAL, aux->via_line, "via %s is not of the family of the prefix",
			    addr_str(aux->via_family, r->via, a, sizeof(a)));
	r->kind = via		   ? DP_ROUTE_VIA
		  : peer	   ? DP_ROUTE_PEER
		  : aux->exception ? DP_ROUTE_EXCEPTION
				   : DP_ROUTE_DROP;
	return 0;
}

/* [exception] */

static int
exception_tap(struct parser *p, char *val)
{
	if (!valid_name(val, true))
		return ERR(p, "bad tap name '%s' (1..15 chars of " TAP_CHARS ")", val);
	strcpy(p->cfg->exception_tap, val);
	return 0;
}

/* ---- the tables ------------------------------------------------------- */

static const struct key_def eal_keys[] = {
	{"args", K_REPEAT, eal_args},
	{NULL, 0, NULL},
};

static const struct key_def engine_keys[] = {
	{"socket", 0, engine_socket},	    {"workers", 0, engine_workers},
	{"mbufs", 0, engine_mbufs},	    {"burst", 0, engine_burst},
	{"max-peers", 0, engine_max_peers}, {"routes4", 0, engine_routes4},
	{"routes6", 0, engine_routes6},	    {NULL, 0, NULL},
};

static const struct key_def port_keys[] = {
	{"device", K_REQUIRED, port_device},
	{"address", K_REPEAT, port_address},
	{"mtu", 0, port_mtu},
	{"queues", 0, port_queues},
	{"mac", 0, port_mac},
	{NULL, 0, NULL},
};

static const struct key_def wg_keys[] = {
	{"private-key", 0, wg_private_key},
	{"private-key-file", 0, wg_private_key_file},
	{"listen-port", K_REQUIRED, wg_listen_port},
	{"address", K_REPEAT, wg_address},
	{"mtu", 0, wg_mtu},
	{NULL, 0, NULL},
};

static const struct key_def peer_keys[] = {
	{"interface", K_REQUIRED, peer_interface},
	{"public-key", K_REQUIRED, peer_public_key},
	{"preshared-key", 0, peer_psk},
	{"allowed-ips", K_REPEAT, peer_allowed_ips},
	{"endpoint", 0, peer_endpoint},
	{"persistent-keepalive", 0, peer_keepalive},
	{NULL, 0, NULL},
};

static const struct key_def route_keys[] = {
	{"prefix", K_REQUIRED, route_prefix},
	{"via", 0, route_via},
	{"port", 0, route_port},
	{"peer", 0, route_peer},
	{"exception", 0, route_exception},
	{"drop", 0, route_drop},
	{NULL, 0, NULL},
};

static const struct key_def exception_keys[] = {
	{"tap", K_REQUIRED, exception_tap},
	{NULL, 0, NULL},
};

static const struct sect_def sections[] = {
	{"eal", false, false, eal_keys, NULL, NULL},
	{"engine", false, false, engine_keys, NULL, NULL},
	{"port", true, true, port_keys, port_begin, NULL},
	{"wireguard", true, true, wg_keys, wg_begin, wg_end},
	{"peer", false, true, peer_keys, peer_begin, NULL},
	{"route", false, true, route_keys, route_begin, route_end},
	{"exception", false, false, exception_keys, NULL, NULL},
};

/* ---- lines ------------------------------------------------------------ */

/* Text to quote in a message about a malformed line: a long token is not
 * shown, as it may be a key pasted in the wrong place. */
static const char *
shown(const char *s)
{
	return strlen(s) <= 32 ? s : "(long text, not shown)";
}

static int
section_end(struct parser *p)
{
	const struct sect_def *s = p->sect;

	if (s == NULL)
		return 0;
	for (unsigned int i = 0; s->keys[i].name != NULL; i++)
		if ((s->keys[i].flags & K_REQUIRED) && !((p->seen >> i) & 1))
			return fail(p, -EINVAL, p->sect_line, "%s needs %s", p->label,
				    s->keys[i].name);
	return s->end != NULL ? s->end(p) : 0;
}

static int
section_begin(struct parser *p, char *s)
{
	size_t n = strlen(s);
	const struct sect_def *def = NULL;
	char *type, *name;
	unsigned int i;
	int rc;

	if (s[n - 1] != ']')
		return ERR(p, "missing ']' in section header");
	s[n - 1] = '\0';
	type = trim(s + 1);
	for (name = type; *name != '\0' && !is_space(*name); name++)
		;
	if (*name != '\0')
		*name++ = '\0';
	name = trim(name);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(sections[i].name, type) == 0)
			def = &sections[i];
	if (def == NULL)
		return ERR(p, "unknown section '[%s]'", shown(type));
	if (def->named && *name == '\0')
		return ERR(p, "section [%s] needs a name", type);
	if (!def->named && *name != '\0')
		return ERR(p, "section [%s] takes no name", type);
	if (def->named && !valid_name(name, false))
		return ERR(p, "bad %s name '%s' (1..15 chars of " NAME_CHARS ")", type, name);
	i = (unsigned int)(def - sections);
	if (!def->repeatable && ((p->sects_seen >> i) & 1))
		return ERR(p, "duplicate section [%s]", type);
	rc = section_end(p);
	if (rc < 0)
		return rc;
	p->sects_seen |= 1u << i;
	p->sect = def;
	p->sect_line = p->line;
	p->seen = 0;
	snprintf(p->label, sizeof(p->label), *name ? "[%s %s]" : "[%s]", type, name);
	return def->begin != NULL ? def->begin(p, name) : 0;
}

/* One line, NUL-terminated and free of control characters. */
static int
parse_line(struct parser *p, char *s)
{
	char *eq, *key, *val;
	unsigned int i;

	strip_comment(s);
	s = trim(s);
	if (*s == '\0')
		return 0;
	if (*s == '[')
		return section_begin(p, s);
	eq = strchr(s, '=');
	if (eq == NULL)
		return ERR(p, "expected 'key = value', got '%s'", shown(s));
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (*key == '\0')
		return ERR(p, "missing key before '='");
	if (p->sect == NULL)
		return ERR(p, "key '%s' outside of any section", shown(key));
	for (i = 0; p->sect->keys[i].name != NULL; i++)
		if (strcmp(p->sect->keys[i].name, key) == 0)
			break;
	if (p->sect->keys[i].name == NULL)
		return ERR(p, "unknown key '%s' in %s", shown(key), p->label);
	if (((p->seen >> i) & 1) && !(p->sect->keys[i].flags & K_REPEAT))
		return ERR(p, "duplicate key '%s' in %s", key, p->label);
	if (*val == '\0')
		return ERR(p, "empty value for '%s'", key);
	p->seen |= 1u << i;
	return p->sect->keys[i].set(p, val);
}

/* ---- checks across sections ------------------------------------------- */

struct key_ref {
	const uint8_t *key;
	unsigned int wg, idx;
};

static int
cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = memcmp(x->key, y->key, DP_CFG_KEY_LEN);

	if (c != 0)
		return c;
	if (x->wg != y->wg)
		return x->wg < y->wg ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct ip_ref {
	const struct dp_cfg_prefix *pf;
	unsigned int wg, idx; /* idx: peer (allowed-ips) or route */
};

static int
cmp_ip_ref(const void *a, const void *b)
{
	const struct ip_ref *x = a, *y = b;
	int c;

	if (x->wg != y->wg)
		return x->wg < y->wg ? -1 : 1;
	c = cmp_prefix(x->pf, y->pf);
	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
check_peers(struct parser *p, struct key_ref *keys, size_t *n_keys)
{
	struct dp_cfg *cfg = p->cfg;
	uint8_t pub[DP_CFG_MAX_WG][DP_CFG_KEY_LEN];
	struct ip_ref *ips;
	size_t n_ips = 0, k = 0;
	char a[DP_CFG_PREFIX_STRLEN];

	/* A peer with the interface's own public key could never handshake. */
	for (unsigned int w = 0; w < cfg->n_wgs; w++)
		if (crypto_scalarmult_curve25519_base(pub[w], cfg->wgs[w].private_key) != 0)
			memset(pub[w], 0, sizeof(pub[w]));
	for (unsigned int i = 0; i < cfg->n_peers; i++) {
		unsigned int w;

		for (w = 0; w < cfg->n_wgs; w++)
			if (strcmp(cfg->wgs[w].name, p->paux[i].iface) == 0)
				break;
		if (w == cfg->n_wgs)
			return fail(p, -EINVAL, p->paux[i].iface_line,
				    "peer refers to unknown interface '%s'", p->paux[i].iface);
		if (sodium_memcmp(pub[w], cfg->peers[i].public_key, DP_CFG_KEY_LEN) == 0)
			return fail(p, -EINVAL, cfg->peers[i].line,
				    "peer public-key is the own key of interface %s",
				    cfg->wgs[w].name);
		cfg->peers[i].wg = w;
		n_ips += cfg->peers[i].n_allowed_ips;
		keys[i] = (struct key_ref){cfg->peers[i].public_key, w, i};
	}
	if (cfg->n_peers > cfg->max_peers)
		return fail(p, -EINVAL, cfg->peers[cfg->max_peers].line,
			    "more peers than max-peers (%u)", cfg->max_peers);
	*n_keys = cfg->n_peers;
	if (cfg->n_peers > 1)
		qsort(keys, cfg->n_peers, sizeof(keys[0]), cmp_key_ref);
	for (size_t i = 1; i < cfg->n_peers; i++)
		if (keys[i].wg == keys[i - 1].wg &&
		    memcmp(keys[i].key, keys[i - 1].key, DP_CFG_KEY_LEN) == 0)
			return fail(
				p, -EINVAL, cfg->peers[keys[i].idx].line,
				"duplicate public-key on interface %s (also the peer at line %u)",
				cfg->wgs[keys[i].wg].name, cfg->peers[keys[i - 1].idx].line);

	if (n_ips == 0)
		return 0;
	ips = calloc(n_ips, sizeof(*ips));
	if (ips == NULL)
		return fail(p, -ENOMEM, 0, "out of memory");
	for (unsigned int i = 0; i < cfg->n_peers; i++)
		for (unsigned int j = 0; j < cfg->peers[i].n_allowed_ips; j++)
			ips[k++] =
				(struct ip_ref){&cfg->peers[i].allowed_ips[j], cfg->peers[i].wg, i};
	qsort(ips, n_ips, sizeof(ips[0]), cmp_ip_ref);
	for (size_t i = 1; i < n_ips; i++) {
		const struct ip_ref *x = &ips[i - 1], *y = &ips[i];
		int rc;

		if (x->wg != y->wg || cmp_prefix(x->pf, y->pf) != 0)
			continue;
		dp_prefix_format(y->pf, a, sizeof(a));
		if (x->idx == y->idx)
			rc = fail(p, -EINVAL, cfg->peers[y->idx].line,
				  "allowed-ips %s listed twice", a);
		else
			rc = fail(p, -EINVAL, cfg->peers[y->idx].line,
				  "allowed-ips %s already belongs to the peer at line %u", a,
				  cfg->peers[x->idx].line);
		free(ips);
		return rc;
	}
	free(ips);
	return 0;
}

static int
check_routes(struct parser *p, const struct key_ref *keys, size_t n_keys)
{
	struct dp_cfg *cfg = p->cfg;
	struct ip_ref *pfx;
	char a[DP_CFG_PREFIX_STRLEN];

	for (unsigned int i = 0; i < cfg->n_routes; i++) {
		struct dp_cfg_route *r = &cfg->routes[i];
		const struct route_aux *aux = &p->raux[i];
		size_t lo = 0, hi = n_keys;
		unsigned int j;

		switch (r->kind) {
		case DP_ROUTE_VIA:
			for (j = 0; j < cfg->n_ports; j++)
				if (strcmp(cfg->ports[j].name, aux->port) == 0)
					break;
			if (j == cfg->n_ports)
				return fail(p, -EINVAL, aux->port_line,
					    "route via unknown port '%s'", aux->port);
			r->port = j;
			break;
		case DP_ROUTE_PEER:
			/* keys is sorted by key: find the first entry >= peer_key */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (memcmp(keys[mid].key, aux->peer_key, DP_CFG_KEY_LEN) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == n_keys ||
			    memcmp(keys[lo].key, aux->peer_key, DP_CFG_KEY_LEN) != 0)
				return fail(
					p, -EINVAL, aux->peer_line,
					"route to unknown peer (no [peer] has that public-key)");
			if (lo + 1 < n_keys &&
			    memcmp(keys[lo + 1].key, aux->peer_key, DP_CFG_KEY_LEN) == 0)
				return fail(p, -EINVAL, aux->peer_line,
					    "route peer is ambiguous: that public-key is on "
					    "interfaces %s and %s",
					    cfg->wgs[keys[lo].wg].name,
					    cfg->wgs[keys[lo + 1].wg].name);
			r->peer = keys[lo].idx;
			break;
		case DP_ROUTE_EXCEPTION:
			if (cfg->exception_tap[0] == '\0')
				return fail(
					p, -EINVAL, r->line,
					"route to exception, but there is no [exception] section");
			break;
		case DP_ROUTE_DROP:
			break;
		}
	}

	if (cfg->n_routes < 2)
		return 0;
	pfx = calloc(cfg->n_routes, sizeof(*pfx));
	if (pfx == NULL)
		return fail(p, -ENOMEM, 0, "out of memory");
	for (unsigned int i = 0; i < cfg->n_routes; i++)
		pfx[i] = (struct ip_ref){&cfg->routes[i].prefix, 0, i};
	qsort(pfx, cfg->n_routes, sizeof(pfx[0]), cmp_ip_ref);
	for (size_t i = 1; i < cfg->n_routes; i++) {
		if (cmp_prefix(pfx[i - 1].pf, pfx[i].pf) == 0) {
			unsigned int line = cfg->routes[pfx[i].idx].line;
			unsigned int other = cfg->routes[pfx[i - 1].idx].line;

			dp_prefix_format(pfx[i].pf, a, sizeof(a));
			free(pfx);
			return fail(p, -EINVAL, line, "duplicate route %s (also at line %u)", a,
				    other);
		}
	}
	free(pfx);
	return 0;
}

/* IPv6 needs a link MTU of at least 1280 (RFC 8200 §5). */
static int
check_wg_mtu(struct parser *p)
{
	const struct dp_cfg *cfg = p->cfg;

	for (unsigned int w = 0; w < cfg->n_wgs; w++) {
		const struct dp_cfg_wg *wg = &cfg->wgs[w];
		bool v6 = false;

		if (wg->mtu >= 1280)
			continue;
		for (unsigned int i = 0; i < wg->n_addrs; i++)
			v6 |= wg->addrs[i].family == AF_INET6;
		for (unsigned int i = 0; i < cfg->n_peers && !v6; i++)
			for (unsigned int j = 0;
			     cfg->peers[i].wg == w && j < cfg->peers[i].n_allowed_ips; j++)
				v6 |= cfg->peers[i].allowed_ips[j].family == AF_INET6;
		if (v6)
			return fail(p, -EINVAL, wg->line,
				    "[wireguard %s] carries IPv6 but its mtu %u is below 1280",
				    wg->name, wg->mtu);
	}
	return 0;
}

/* Point eal_argv into eal_buf, which holds eal_words NUL-terminated words. */
static int
build_eal_argv(struct parser *p)
{
	struct dp_cfg *cfg = p->cfg;
	char *s = cfg->eal_buf;

	cfg->eal_argv = calloc((size_t)p->eal_words + 1, sizeof(char *));
	if (cfg->eal_argv == NULL)
		return fail(p, -ENOMEM, 0, "out of memory");
	for (int i = 0; i < p->eal_words; i++) {
		cfg->eal_argv[i] = s;
		s += strlen(s) + 1;
	}
	cfg->eal_argc = p->eal_words;
	return 0;
}

static int
finish(struct parser *p)
{
	struct dp_cfg *cfg = p->cfg;
	struct key_ref *keys = NULL;
	size_t n_keys = 0;
	int rc;

	if (cfg->n_ports == 0)
		return fail(p, -EINVAL, 0, "no [port] section: at least one port is required");
	if (cfg->n_peers > 0) {
		keys = calloc(cfg->n_peers, sizeof(*keys));
		if (keys == NULL)
			return fail(p, -ENOMEM, 0, "out of memory");
	}
	rc = check_peers(p, keys, &n_keys);
	if (rc == 0)
		rc = check_routes(p, keys, n_keys);
	free(keys);
	if (rc == 0)
		rc = check_wg_mtu(p);
	if (rc == 0)
		rc = build_eal_argv(p);
	return rc;
}

int
dp_cfg_parse(const char *text, size_t len, const char *name, struct dp_cfg *cfg, char *err,
	     size_t errlen)
{
	struct parser p = {
		.cfg = cfg,
		.name = name != NULL ? name : "<config>",
		.err = err,
		.errlen = errlen,
	};
	char *buf = NULL;
	size_t pos = 0;
	int rc = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL || (text == NULL && len > 0))
		return fail(&p, -EINVAL, 0, "no configuration");
	memset(cfg, 0, sizeof(*cfg));
	if (sodium_init() < 0) {
		rc = fail(&p, -ENOSYS, 0, "libsodium failed to initialise");
		goto out;
	}
	strcpy(cfg->socket_path, DP_CFG_DEF_SOCKET);
	cfg->workers = DP_CFG_DEF_WORKERS;
	cfg->mbufs = DP_CFG_DEF_MBUFS;
	cfg->burst = DP_CFG_DEF_BURST;
	cfg->max_peers = DP_CFG_DEF_MAX_PEERS;
	cfg->routes4 = DP_CFG_DEF_ROUTES4;
	cfg->routes6 = DP_CFG_DEF_ROUTES6;
	for (size_t i = 0; rc == 0 && i < sizeof(EAL_PROG); i++) /* with its NUL */
		rc = eal_push(&p, EAL_PROG[i]);
	p.eal_words = 1;
	buf = malloc(DP_CFG_LINE_MAX + 1);
	if (rc < 0 || buf == NULL) {
		rc = fail(&p, -ENOMEM, 0, "out of memory");
		goto out;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* UTF-8 byte order mark */

	while (pos < len && rc == 0) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

		p.line++;
		pos += n + (nl != NULL);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > DP_CFG_LINE_MAX) {
			rc = ERR(&p, "line too long (%zu bytes, max %d)", n, DP_CFG_LINE_MAX);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];

			if (c == '\0')
				rc = ERR(&p, "NUL byte in line");
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				rc = ERR(&p, "control character 0x%02x in line", c);
			if (rc < 0)
				break;
		}
		if (rc < 0)
			break;
		memcpy(buf, line, n);
		buf[n] = '\0';
		rc = parse_line(&p, buf);
		sodium_memzero(buf, n);
	}
	if (rc == 0)
		rc = section_end(&p);
	if (rc == 0)
		rc = finish(&p);
out:
	free(buf);
	free(p.paux);
	free(p.raux);
	if (rc < 0)
		dp_cfg_free(cfg);
	return rc;
}

int
dp_cfg_load(const char *path, struct dp_cfg *cfg, char *err, size_t errlen)
{
	struct parser p = {.name = path, .err = err, .errlen = errlen};
	size_t cap = 0, total = 0;
	char *buf = NULL;
	int fd, rc = 0;

	if (cfg != NULL)
		memset(cfg, 0, sizeof(*cfg));
	if (path == NULL || cfg == NULL) {
		p.name = "<config>";
		return fail(&p, -EINVAL, 0, "no configuration file");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return fail(&p, rc, 0, "cannot open: %s", strerror(-rc));
	}
	for (;;) {
		ssize_t n;

		if (total == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			nb = malloc(ncap); /* not realloc: the old copy is wiped */
			if (nb == NULL) {
				rc = fail(&p, -ENOMEM, 0, "out of memory");
				break;
			}
			if (buf != NULL) {
				memcpy(nb, buf, total);
				sodium_memzero(buf, total);
				free(buf);
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + total, cap - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			fail(&p, rc, 0, "cannot read: %s", strerror(-rc));
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > DP_CFG_FILE_MAX) {
			rc = fail(&p, -EFBIG, 0, "file too large (max %u MiB)",
				  DP_CFG_FILE_MAX >> 20);
			break;
		}
	}
	close(fd);
	if (rc == 0)
		rc = dp_cfg_parse(buf, total, path, cfg, err, errlen);
	if (buf != NULL) {
		sodium_memzero(buf, total);
		free(buf);
	}
	return rc;
}

void
dp_cfg_free(struct dp_cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned int i = 0; i < cfg->n_ports; i++)
		free(cfg->ports[i].device);
	if (cfg->peers != NULL) {
		for (unsigned int i = 0; i < cfg->n_peers; i++)
			free(cfg->peers[i].allowed_ips);
		sodium_memzero(cfg->peers, cfg->n_peers * sizeof(cfg->peers[0]));
		free(cfg->peers);
	}
	free(cfg->routes);
	free(cfg->eal_argv);
	free(cfg->eal_buf);
	sodium_memzero(cfg, sizeof(*cfg));
}
