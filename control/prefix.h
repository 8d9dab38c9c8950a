/*
 * prefix.h — the one parser of "address/length" text in gate44-control.
 * The configuration file (cfg.c: pools and their reservations) and the
 * HTTP API with IPAM (ipam.c: users' own prefixes) both call it, so they
 * accept exactly the same texts and give the same reasons for the rest.
 * Pure; any thread.
 *
 * The rules: an IPv4 address inet_pton(3) takes (dotted quad, no leading
 * zeros) or an IPv6 one (it holds a ':'), a '/', then the length in
 * decimal, 1 to 3 digits without a leading zero ("/0" itself is fine,
 * "/09" and "/024" are not), at most 32 or 128; the host bits must be zero.
 *
 * Header-only (static inline) on purpose: cfg.c is also built alone,
 * without the store and IPAM (tests/fuzz/build.sh links fuzz_ctl_cfg from
 * cfg.c only), and ipam.c lives in the store library that the unit tests
 * link without cfg.c. A header both include is the one place either build
 * finds the parser without dragging the other module along.
 */
#ifndef GATE44_CTL_PREFIX_H
#define GATE44_CTL_PREFIX_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" and its NUL */
#define CTL_PREFIX_STRLEN 51

/*
 * An IPv4 or IPv6 prefix with its host bits zero: family is AF_INET or
 * AF_INET6, addr is in network byte order (IPv4 in addr[0..3], the rest
 * zero), plen the length. struct ctl_cfg_prefix (cfg.h) has the same
 * fields.
 */
struct ctl_ipam_prefix {
	int family;
	uint8_t addr[16];
	uint8_t plen;
};

static inline void ctl_prefix_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void
ctl_prefix_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Parse s into *p (zeroed first): 0, or -EINVAL with the reason in err
 * (may be NULL), one of
 *   "'<s>' needs a length (address/length)"
 *   "'<s>': bad address"
 *   "'<s>': bad length (0..32)"            (or 0..128)
 *   "'<s>' has host bits set (did you mean 44.1.2.0/24?)"
 * with s cut to 64 bytes.
 */
static inline int
ctl_prefix_parse_text(const char *s, struct ctl_ipam_prefix *p, char *err, size_t errlen)
{
	char buf[CTL_PREFIX_STRLEN], fixed[INET6_ADDRSTRLEN];
	struct ctl_ipam_prefix q;
	const char *slash, *d;
	unsigned len = 0, max, b;
	bool host = false;
	size_t n;

	memset(p, 0, sizeof(*p));
	if (s == NULL) {
		ctl_prefix_seterr(err, errlen, "no prefix");
		return -EINVAL;
	}
	slash = strchr(s, '/');
	if (slash == NULL) {
		ctl_prefix_seterr(err, errlen, "'%.64s' needs a length (address/length)", s);
		return -EINVAL;
	}
	n = (size_t)(slash - s);
	p->family = memchr(s, ':', n) != NULL ? AF_INET6 : AF_INET;
	max = p->family == AF_INET ? 32 : 128;
	if (n == 0 || n >= sizeof(buf))
		goto bad_addr;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(p->family, buf, p->addr) != 1)
		goto bad_addr;
	d = slash + 1;
	if (d[0] == '\0' || strlen(d) > 3 || (d[0] == '0' && d[1] != '\0'))
		goto bad_len;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			goto bad_len;
		len = len * 10 + (unsigned)(*d - '0');
	}
	if (len > max)
		goto bad_len;
	p->plen = (uint8_t)len;
	q = *p;
	for (b = len; b < max; b++) {
		host |= (q.addr[b / 8] & (0x80 >> (b % 8))) != 0;
		q.addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
	}
	if (host) {
		if (inet_ntop(q.family, q.addr, fixed, sizeof(fixed)) == NULL)
			snprintf(fixed, sizeof(fixed), "?");
		ctl_prefix_seterr(err, errlen, "'%.64s' has host bits set (did you mean %s/%u?)", s,
				  fixed, len);
		memset(p, 0, sizeof(*p));
		return -EINVAL;
	}
	return 0;

bad_addr:
	memset(p, 0, sizeof(*p));
	ctl_prefix_seterr(err, errlen, "'%.64s': bad address", s);
	return -EINVAL;
bad_len:
	memset(p, 0, sizeof(*p));
	ctl_prefix_seterr(err, errlen, "'%.64s': bad length (0..%u)", s, max);
	return -EINVAL;
}

#endif /* GATE44_CTL_PREFIX_H */
