/*
 * cfg.c — gate44-control's configuration file (see cfg.h). Main thread.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sodium.h>
#include <sys/stat.h>

#include "cfg.h"
#include "prefix.h"

enum { SEC_NONE, SEC_CONTROL, SEC_IF, SEC_POOL };

static int
bad(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
bad(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, errlen, "%s:%u: %s", name, line, msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
	return -EINVAL;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The one parser of prefix.h, as the configuration's struct. */
static int
prefix_parse(const char *s, struct ctl_cfg_prefix *p, char *why, size_t whylen)
{
	struct ctl_ipam_prefix q;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = ctl_prefix_parse_text(s, &q, why, whylen);
	if (rc != 0)
		return rc;
	p->family = q.family;
	memcpy(p->addr, q.addr, sizeof(p->addr));
	p->plen = q.plen;
	return 0;
}

int
ctl_prefix_parse(const char *s, struct ctl_cfg_prefix *p)
{
	return prefix_parse(s, p, NULL, 0);
}

void
ctl_prefix_format(const struct ctl_cfg_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s/%u", a, p->plen);
}

static int
parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long x;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end != '\0' || x < min || x > max)
		return -EINVAL;
	*out = (unsigned)x;
	return 0;
}

static int
copy(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

/*
 * Open path for reading only when it is a regular file. A FIFO would block
 * the daemon's start in open() or read() until someone writes to it; a
 * device reads forever (/dev/zero), blocks (/dev/tty) or has side effects
 * when opened; a directory or socket is not a file. stat() first, so that
 * no device is ever opened; then open with O_NONBLOCK (a FIFO swapped in
 * meanwhile does not block the open) and let fstat() of the descriptor
 * itself decide. Symbolic links are followed on purpose: keys linked from
 * /etc/wireguard or a secrets mount are common, and the file they lead to
 * must still be regular. Returns the fd, or -errno with *why set.
 */
static int
open_regular(const char *path, const char **why)
{
	struct stat st;
	int fd, rc;

	if (stat(path, &st) != 0) {
		rc = -errno;
		*why = strerror(-rc);
		return rc;
	}
	if (!S_ISREG(st.st_mode))
		goto not_regular;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		*why = strerror(-rc);
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		goto not_regular;
	}
	return fd;
not_regular:
	*why = "not a regular file (a FIFO, device, socket or directory)";
	return -EINVAL;
}

/* Up to len bytes from fd's start (fewer at its end): the count, or -errno. */
static ssize_t
read_some(int fd, char *buf, size_t len)
{
	size_t got = 0;
	unsigned i;
	ssize_t n;

	/* bounded: a regular file returns 0 at its end; EINTR is rare */
	for (i = 0; i < 64 && got < len; i++) {
		n = read(fd, buf + got, len - got);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
ctl_cfg_key_parse(const char *text, uint8_t key[32])
{
	char buf[128], *t;
	size_t klen;
	int rc = 0;

	if (strlen(text) >= sizeof(buf)) {
		sodium_memzero(key, 32); /* as promised on every refusal (fuzz_ctl_cfg) */
		return -EINVAL;
	}
	strcpy(buf, text);
	t = trim(buf);
	/* the alphabet first: libsodium 1.0.18 decodes some bytes >= 0x80 as
	 * base64 digits (found by tests/fuzz/fuzz_ctl_cfg) */
	if (strlen(t) != 44 || t[43] != '=' ||
	    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43 ||
	    sodium_base642bin(key, 32, t, 44, NULL, &klen, NULL, sodium_base64_VARIANT_ORIGINAL) !=
		    0 ||
	    klen != 32) {
		sodium_memzero(key, 32);
		rc = -EINVAL;
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* The key in the file at path (its first 127 bytes, blanks around it
 * aside): 0, or -errno with *why set. */
static int
read_key_file(const char *path, uint8_t key[32], const char **why)
{
	char buf[128];
	ssize_t n;
	int fd, rc;

	fd = open_regular(path, why);
	if (fd < 0)
		return fd;
	n = read_some(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		*why = strerror((int)-n);
		return (int)n;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL)
		rc = -EINVAL;
	else
		rc = ctl_cfg_key_parse(buf, key);
	if (rc != 0)
		*why = "not a base64 32-byte key";
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static int
valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static int
key_line(struct ctl_cfg *cfg, int sec, const char *k, const char *v, const char *name,
	 unsigned line, char *err, size_t errlen)
{
	struct ctl_cfg_if *i = sec == SEC_IF ? &cfg->ifs[cfg->n_ifs - 1] : NULL;
	struct ctl_cfg_pool *p = sec == SEC_POOL ? &cfg->pools[cfg->n_pools - 1] : NULL;
	int rc = 0;

	if (sec == SEC_CONTROL) {
		if (strcmp(k, "database") == 0)
			rc = copy(cfg->database, sizeof(cfg->database), v);
		else if (strcmp(k, "listen") == 0)
			rc = copy(cfg->listen, sizeof(cfg->listen), v);
		else if (strcmp(k, "engine-socket") == 0)
			rc = copy(cfg->engine_socket, sizeof(cfg->engine_socket), v);
		else if (strcmp(k, "uapi-dir") == 0)
			rc = copy(cfg->uapi_dir, sizeof(cfg->uapi_dir), v);
		else if (strcmp(k, "connected-window") == 0)
			rc = parse_uint(v, 1, 86400, &cfg->connected_window_s);
		else if (strcmp(k, "counters-interval") == 0)
			rc = parse_uint(v, 1, 3600, &cfg->counters_interval_s);
		else if (strcmp(k, "expiry-grace") == 0)
			rc = parse_uint(v, 0, 365 * 86400, &cfg->expiry_grace_s);
		else if (strcmp(k, "max-body") == 0)
			rc = parse_uint(v, 1024, 16 << 20, &cfg->max_body);
		else if (strcmp(k, "rate") == 0)
			rc = parse_uint(v, 1, 100000, &cfg->rate);
		else if (strcmp(k, "burst") == 0)
			rc = parse_uint(v, 1, 100000, &cfg->burst);
		else
			return bad(err, errlen, name, line, "unknown key '%s' in [control]", k);
	} else if (sec == SEC_IF) {
		if (strcmp(k, "private-key-file") == 0) {
			const char *why = "";

			rc = read_key_file(v, i->private_key, &why);
			if (rc != 0)
				return bad(err, errlen, name, line, "private-key-file '%s': %s", v,
					   why);
			crypto_scalarmult_curve25519_base(i->public_key, i->private_key);
		} else if (strcmp(k, "endpoint") == 0)
			rc = copy(i->endpoint, sizeof(i->endpoint), v);
		else if (strcmp(k, "dns") == 0)
			rc = copy(i->dns, sizeof(i->dns), v);
		else if (strcmp(k, "mtu") == 0) {
			unsigned mtu;

			rc = parse_uint(v, 1280, 9000, &mtu);
			i->mtu = (uint16_t)mtu;
		} else if (strcmp(k, "client-allowed-ips") == 0)
			rc = copy(i->client_allowed_ips, sizeof(i->client_allowed_ips), v);
		else
			return bad(err, errlen, name, line, "unknown key '%s' in [interface %s]", k,
				   i->name);
	} else if (sec == SEC_POOL) {
		if (strcmp(k, "interface") == 0)
			rc = valid_name(v, sizeof(p->interface)) ? copy(p->interface,
									 sizeof(p->interface), v)
								  : -EINVAL;
		else if (strcmp(k, "prefix") == 0) {
			char why[160];

			if (prefix_parse(v, &p->prefix, why, sizeof(why)) != 0)
				return bad(err, errlen, name, line, "bad prefix %s", why);
		} else if (strcmp(k, "reserve") == 0) {
			struct ctl_cfg_prefix r;
			char a[80], why[160];

			if (p->n_reserved == CTL_CFG_MAX_RESERVED)
				return bad(err, errlen, name, line, "too many reserved addresses");
			/* an address alone is its host prefix */
			if (strchr(v, '/') == NULL && strlen(v) < sizeof(a) - 8)
				snprintf(a, sizeof(a), "%s/%s", v, strchr(v, ':') ? "128" : "32");
			else
				snprintf(a, sizeof(a), "%s", "");
			if (prefix_parse(a[0] != '\0' ? a : v, &r, why, sizeof(why)) != 0)
				return bad(err, errlen, name, line, "bad reserved address %s", why);
			p->reserved[p->n_reserved++] = r;
		} else
			return bad(err, errlen, name, line, "unknown key '%s' in [pool %s]", k,
				   p->name);
	} else {
		return bad(err, errlen, name, line, "'%s' outside a section", k);
	}
	if (rc != 0)
		return bad(err, errlen, name, line, "bad value for '%s'", k);
	return 0;
}

static int
finish(struct ctl_cfg *cfg, const char *name, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->n_ifs; i++) {
		if (sodium_is_zero(cfg->ifs[i].private_key, 32))
			return bad(err, errlen, name, cfg->ifs[i].line,
				   "[interface %s] needs private-key-file", cfg->ifs[i].name);
		if (cfg->ifs[i].endpoint[0] == '\0')
			return bad(err, errlen, name, cfg->ifs[i].line,
				   "[interface %s] needs endpoint (host:port clients dial)",
				   cfg->ifs[i].name);
	}
	for (unsigned i = 0; i < cfg->n_pools; i++) {
		struct ctl_cfg_pool *p = &cfg->pools[i];
		bool found = false;

		if (p->prefix.family == 0)
			return bad(err, errlen, name, p->line, "[pool %s] needs prefix", p->name);
		p->alloc_len = p->prefix.family == AF_INET ? 32 : 64;
		if (p->prefix.plen > p->alloc_len)
			return bad(err, errlen, name, p->line, "[pool %s] prefix longer than /%u",
				   p->name, p->alloc_len);
		for (unsigned k = 0; k < cfg->n_ifs; k++)
			found |= strcmp(cfg->ifs[k].name, p->interface) == 0;
		if (!found)
			return bad(err, errlen, name, p->line,
				   "[pool %s] interface '%s' is not an [interface]", p->name,
				   p->interface);
	}
	return 0;
}

int
ctl_cfg_parse(const char *text, const char *name, struct ctl_cfg *cfg, char *err, size_t errlen)
{
	char *copy_text, *line;
	unsigned lineno = 0;
	int sec = SEC_NONE, rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->database, sizeof(cfg->database), "/var/lib/gate44/gate44.db");
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8044");
	snprintf(cfg->engine_socket, sizeof(cfg->engine_socket), "/run/gate44/engine.sock");
	snprintf(cfg->uapi_dir, sizeof(cfg->uapi_dir), "/var/run/wireguard");
	cfg->connected_window_s = 180;
	cfg->counters_interval_s = 10;
	cfg->expiry_grace_s = 7 * 86400;
	cfg->max_body = 65536;
	cfg->rate = 20;
	cfg->burst = 40;
	copy_text = strdup(text);
	if (copy_text == NULL)
		return -ENOMEM;
	lineno = 0;
	for (char *cur = copy_text; cur != NULL && rc == 0;) {
		char *next = strchr(cur, '\n'), *eq, *k, *v, *hash;

		if (next != NULL)
			*next++ = '\0';
		lineno++;
		hash = strchr(cur, '#');
		if (hash != NULL)
			*hash = '\0';
		line = trim(cur);
		cur = next;
		if (*line == '\0')
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']'), *sp;

			if (end == NULL || end[1] != '\0') {
				rc = bad(err, errlen, name, lineno, "bad section header");
				break;
			}
			*end = '\0';
			sp = strchr(line + 1, ' ');
			if (sp != NULL)
				*sp++ = '\0';
			if (strcmp(line + 1, "control") == 0 && sp == NULL) {
				sec = SEC_CONTROL;
			} else if (strcmp(line + 1, "interface") == 0 && sp != NULL &&
				   valid_name(trim(sp), 16)) {
				if (cfg->n_ifs == CTL_CFG_MAX_IFS) {
					rc = bad(err, errlen, name, lineno, "too many interfaces");
					break;
				}
				for (unsigned i = 0; i < cfg->n_ifs; i++)
					if (strcmp(cfg->ifs[i].name, trim(sp)) == 0)
						rc = bad(err, errlen, name, lineno,
							 "duplicate interface '%s'", trim(sp));
				sec = SEC_IF;
				strcpy(cfg->ifs[cfg->n_ifs].name, trim(sp));
				cfg->ifs[cfg->n_ifs].mtu = 1420;
				snprintf(cfg->ifs[cfg->n_ifs].client_allowed_ips,
					 sizeof(cfg->ifs[0].client_allowed_ips), "0.0.0.0/0, ::/0");
				cfg->ifs[cfg->n_ifs++].line = lineno;
			} else if (strcmp(line + 1, "pool") == 0 && sp != NULL &&
				   valid_name(trim(sp), 32)) {
				if (cfg->n_pools == CTL_CFG_MAX_POOLS) {
					rc = bad(err, errlen, name, lineno, "too many pools");
					break;
				}
				for (unsigned i = 0; i < cfg->n_pools; i++)
					if (strcmp(cfg->pools[i].name, trim(sp)) == 0)
						rc = bad(err, errlen, name, lineno,
							 "duplicate pool '%s'", trim(sp));
				sec = SEC_POOL;
				strcpy(cfg->pools[cfg->n_pools].name, trim(sp));
				cfg->pools[cfg->n_pools++].line = lineno;
			} else {
				rc = bad(err, errlen, name, lineno, "unknown section [%s%s%s]",
					 line + 1, sp ? " " : "", sp ? sp : "");
			}
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL) {
			rc = bad(err, errlen, name, lineno, "expected key = value");
			break;
		}
		*eq = '\0';
		k = trim(line);
		v = trim(eq + 1);
		rc = key_line(cfg, sec, k, v, name, lineno, err, errlen);
	}
	free(copy_text);
	if (rc == 0)
		rc = finish(cfg, name, err, errlen);
	if (rc != 0)
		ctl_cfg_wipe(cfg);
	return rc;
}

int
ctl_cfg_load(const char *path, struct ctl_cfg *cfg, char *err, size_t errlen)
{
	const char *why = "";
	struct stat st;
	char *text;
	ssize_t n;
	int fd, rc;

	memset(cfg, 0, sizeof(*cfg));
	fd = open_regular(path, &why);
	if (fd < 0) {
		bad(err, errlen, path, 0, "%s", why);
		return fd;
	}
	if (fstat(fd, &st) != 0 || st.st_size > (1 << 20)) {
		close(fd);
		return bad(err, errlen, path, 0, "unreadable or larger than 1 MiB");
	}
	text = calloc(1, (size_t)st.st_size + 1);
	n = text != NULL ? read_some(fd, text, (size_t)st.st_size) : -ENOMEM;
	close(fd);
	if (n != st.st_size) {
		free(text);
		return bad(err, errlen, path, 0, "cannot read");
	}
	if (memchr(text, '\0', (size_t)n) != NULL) {
		free(text);
		return bad(err, errlen, path, 0, "contains a NUL byte");
	}
	rc = ctl_cfg_parse(text, path, cfg, err, errlen);
	free(text);
	return rc;
}

void
ctl_cfg_wipe(struct ctl_cfg *cfg)
{
	sodium_memzero(cfg, sizeof(*cfg));
}
