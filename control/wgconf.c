/*
 * wgconf.c — renders a tunnel's client configuration as a wg-quick(8) file
 * (see wgconf.h). Called by the control API's HTTP threads; reentrant, no
 * shared state.
 *
 * Validation first, text second: every field is parsed into a binary form
 * (keys decoded, addresses through inet_pton) and the text is printed from
 * that form, so what reaches the file is canonical and cannot carry a
 * newline, a '#' or a second key. The output buffer is sized once from the
 * inputs, never realloc'd (no stray copies of the private key), and wiped
 * by ctl_wgconf_free.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wgconf.h"

#define KEY_LEN	    32
#define KEY_B64_LEN 44

/* An address or network in binary form. */
struct cidr {
	int af; /* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t addr[16]; /* network byte order; 4 bytes used for AF_INET */
};

int
ctl_wgconf_key_check(const char *s)
{
	uint8_t key[KEY_LEN];
	size_t len = 0;
	int ret = 0;

	/* sodium_base642bin rejects non-canonical trailing bits, as wg's
	 * key_from_base64 does: one key, one text form. */
	/* the alphabet first: libsodium 1.0.18 decodes some bytes >= 0x80 as
	 * base64 digits (found by tests/fuzz/fuzz_wgconf) */
	if (s == NULL || strnlen(s, KEY_B64_LEN + 1) != KEY_B64_LEN || s[KEY_B64_LEN - 1] != '=' ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != KEY_B64_LEN - 1)
		return -EINVAL;
	if (sodium_base642bin(key, sizeof(key), s, KEY_B64_LEN, NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != KEY_LEN)
		ret = -EINVAL;
	sodium_memzero(key, sizeof(key));
	return ret;
}

/* A public key must also not be all zero: no peer has it, and the Noise
 * DH with it would be the zero point. */
static int
pubkey_check(const char *s)
{
	uint8_t key[KEY_LEN];
	size_t len = 0;

	if (ctl_wgconf_key_check(s) != 0)
		return -EINVAL;
	if (sodium_base642bin(key, sizeof(key), s, KEY_B64_LEN, NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    sodium_is_zero(key, sizeof(key)))
		return -EINVAL;
	return 0;
}

static unsigned int
af_bits(int af)
{
	return af == AF_INET ? 32 : 128;
}

/*
 * Parse "addr[/plen]" strictly: an IPv4 dotted quad or an IPv6 literal (no
 * zone), then 1-3 decimal digits. No prefix means a host route.
 */
static int
cidr_parse(const char *s, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t alen;
	unsigned int plen = 0;

	if (s == NULL)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1)
		c->af = AF_INET;
	else if (inet_pton(AF_INET6, buf, c->addr) == 1)
		c->af = AF_INET6;
	else
		return -EINVAL;
	if (slash == NULL) {
		c->plen = af_bits(c->af);
		return 0;
	}
	const char *p = slash + 1;
	size_t n = strspn(p, "0123456789");
	if (n == 0 || n > 3 || p[n] != '\0' || (n > 1 && p[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		plen = plen * 10 + (unsigned int)(p[i] - '0');
	if (plen > af_bits(c->af))
		return -EINVAL;
	c->plen = plen;
	return 0;
}

/* Are all bits of c->addr after the prefix zero? */
static bool
cidr_host_zero(const struct cidr *c)
{
	unsigned int bits = af_bits(c->af);

	for (unsigned int i = c->plen; i < bits; i++)
		if (c->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static bool
addr_is_zero(const struct cidr *c)
{
	return sodium_is_zero(c->addr, af_bits(c->af) / 8) == 1;
}

static bool
addr_bad_for_interface(const struct cidr *c)
{
	static const uint8_t loop6[16] = {[15] = 1};

	if (addr_is_zero(c))
		return true;
	if (c->af == AF_INET)
		return c->addr[0] == 127 || (c->addr[0] & 0xf0) == 0xe0;
	return c->addr[0] == 0xff || memcmp(c->addr, loop6, 16) == 0;
}

/*
 * An Address entry: a network becomes its first host (network + 1, same
 * prefix length); an address with host bits set is kept.
 */
static int
address_parse(const char *s, struct cidr *c)
{
	if (cidr_parse(s, c) != 0 || c->plen == 0)
		return -EINVAL;
	if (c->plen < af_bits(c->af) && cidr_host_zero(c)) {
		/* +1 on the last byte cannot carry: the host part is zero
		 * and at least one bit long. */
		c->addr[af_bits(c->af) / 8 - 1] |= 1;
	}
	return addr_bad_for_interface(c) ? -EINVAL : 0;
}

/* A DNS server: a plain IPv4 or IPv6 literal. */
static int
dns_parse(const char *s, struct cidr *c)
{
	if (s == NULL || strchr(s, '/') != NULL || cidr_parse(s, c) != 0 || addr_is_zero(c))
		return -EINVAL;
	return 0;
}

/* An AllowedIPs entry: a network with its host bits zero. */
static int
allowed_parse(const char *s, struct cidr *c)
{
	if (cidr_parse(s, c) != 0 || !cidr_host_zero(c))
		return -EINVAL;
	return 0;
}

/*
 * A DNS name as getaddrinfo and the apps take it: labels of 1-63 letters,
 * digits and inner hyphens, at most 253 characters, no trailing dot, and
 * a last label not all digits (inet_aton would read "1.2.3" as 1.2.0.3).
 */
static int
hostname_check(const char *s)
{
	size_t len = strnlen(s, CTL_WGCONF_HOST_MAX + 1);
	size_t label = 0;
	bool digits_only = true;

	if (len == 0 || len > CTL_WGCONF_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		char ch = s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return -EINVAL;
			if (ch == '\0')
				break;
			label = 0;
			digits_only = true;
			continue;
		}
		if (ch >= '0' && ch <= '9') {
			/* a digit keeps digits_only as it is */
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
			digits_only = false;
		} else if (ch == '-' && label > 0) {
			digits_only = false;
		} else {
			return -EINVAL;
		}
		if (++label > 63)
			return -EINVAL;
	}
	return digits_only ? -EINVAL : 0;
}

/*
 * The endpoint's host into its rendered form: "[v6]", "v4" or the name.
 * Brackets are accepted around IPv6 only.
 */
static int
endpoint_format(const char *host, char *out, size_t outsz)
{
	char buf[INET6_ADDRSTRLEN + 1];
	uint8_t addr[16];
	size_t len;

	if (host == NULL)
		return -EINVAL;
	len = strnlen(host, CTL_WGCONF_HOST_MAX + 1);
	if (len == 0 || len > CTL_WGCONF_HOST_MAX)
		return -EINVAL;
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return -EINVAL;
		goto v6;
	}
	if (inet_pton(AF_INET, host, addr) == 1) {
		if (inet_ntop(AF_INET, addr, out, (socklen_t)outsz) == NULL)
			return -EINVAL;
		return sodium_is_zero(addr, 4) ? -EINVAL : 0;
	}
	if (inet_pton(AF_INET6, host, addr) == 1)
		goto v6;
	if (hostname_check(host) != 0 || len >= outsz)
		return -EINVAL;
	memcpy(out, host, len + 1);
	return 0;
v6:
	if (sodium_is_zero(addr, 16) || inet_ntop(AF_INET6, addr, buf, sizeof(buf)) == NULL)
		return -EINVAL;
	if ((size_t)snprintf(out, outsz, "[%s]", buf) >= outsz)
		return -EINVAL;
	return 0;
}

static int
comment_check(const char *s)
{
	size_t len = strnlen(s, CTL_WGCONF_COMMENT_MAX + 1);

	if (len > CTL_WGCONF_COMMENT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -EINVAL;
	return 0;
}

/* The output buffer: sized once, appended to with bounds checks. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void
out_cidr(struct out *o, const struct cidr *c, bool with_plen)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(c->af, c->addr, buf, sizeof(buf)) == NULL) {
		o->overflow = true;
		return;
	}
	if (with_plen)
		out_printf(o, "%s/%u", buf, (unsigned int)c->plen);
	else
		out_printf(o, "%s", buf);
}

static void
out_list(struct out *o, const char *key, const struct cidr *v, size_t n, bool with_plen)
{
	out_printf(o, "%s = ", key);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			out_printf(o, ", ");
		out_cidr(o, &v[i], with_plen);
	}
	out_printf(o, "\n");
}

/* Everything validated, in binary form, ready to print. */
struct parsed {
	struct cidr addr[CTL_WGCONF_LIST_MAX];
	struct cidr dns[CTL_WGCONF_LIST_MAX];
	struct cidr allowed[CTL_WGCONF_LIST_MAX];
	char endpoint[CTL_WGCONF_HOST_MAX + 3]; /* name, v4 or "[v6]" */
	unsigned int mtu;
};

static int
list_ok(const char *const *v, size_t n, bool required)
{
	if (n > CTL_WGCONF_LIST_MAX || (n > 0 && v == NULL) || (required && n == 0))
		return -EINVAL;
	return 0;
}

static int
validate(const struct ctl_wgconf *c, struct parsed *p)
{
	bool have_v6 = false;

	if (c->comment != NULL && comment_check(c->comment) != 0)
		return -EINVAL;
	if (c->private_key != NULL && ctl_wgconf_key_check(c->private_key) != 0)
		return -EINVAL;
	if (pubkey_check(c->public_key) != 0)
		return -EINVAL;
	if (c->preshared_key != NULL && ctl_wgconf_key_check(c->preshared_key) != 0)
		return -EINVAL;
	if (list_ok(c->addresses, c->n_addresses, true) != 0 || list_ok(c->dns, c->n_dns, false) ||
	    list_ok(c->allowed_ips, c->n_allowed_ips, false))
		return -EINVAL;

	for (size_t i = 0; i < c->n_addresses; i++) {
		if (address_parse(c->addresses[i], &p->addr[i]) != 0)
			return -EINVAL;
		have_v6 |= p->addr[i].af == AF_INET6;
		for (size_t j = 0; j < i; j++)
			if (p->addr[j].af == p->addr[i].af &&
			    memcmp(p->addr[j].addr, p->addr[i].addr, 16) == 0)
				return -EINVAL;
	}
	for (size_t i = 0; i < c->n_dns; i++)
		if (dns_parse(c->dns[i], &p->dns[i]) != 0)
			return -EINVAL;
	for (size_t i = 0; i < c->n_allowed_ips; i++)
		if (allowed_parse(c->allowed_ips[i], &p->allowed[i]) != 0)
			return -EINVAL;

	p->mtu = c->mtu != 0 ? c->mtu : CTL_WGCONF_MTU_DEFAULT;
	if (p->mtu < (have_v6 ? CTL_WGCONF_MTU_MIN6 : CTL_WGCONF_MTU_MIN) ||
	    p->mtu > CTL_WGCONF_MTU_MAX)
		return -EINVAL;

	if (c->endpoint_port == 0 ||
	    endpoint_format(c->endpoint_host, p->endpoint, sizeof(p->endpoint)) != 0)
		return -EINVAL;
	return 0;
}

char *
ctl_wgconf_render(const struct ctl_wgconf *c)
{
	static const struct cidr full[2] = {
		{.af = AF_INET, .plen = 0},
		{.af = AF_INET6, .plen = 0},
	};
	struct parsed *p;
	struct out o = {0};
	size_t n_lists;

	if (c == NULL) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto err_nomem;
	if (validate(c, p) != 0)
		goto err_inval;

	/* Fixed lines < 400 bytes, the comment, the host, and each list entry
	 * at most INET6_ADDRSTRLEN + "/128, ". */
	n_lists = c->n_addresses + c->n_dns + (c->n_allowed_ips ? c->n_allowed_ips : 2);
	o.cap = 512 + (c->comment ? strlen(c->comment) : 0) + strlen(p->endpoint) +
		n_lists * (INET6_ADDRSTRLEN + 6);
	o.buf = malloc(o.cap);
	if (o.buf == NULL)
		goto err_nomem;

	if (c->comment != NULL)
		out_printf(&o, "# %s\n", c->comment);
	out_printf(&o, "[Interface]\n");
	if (c->private_key != NULL)
		out_printf(&o, "PrivateKey = %s\n", c->private_key);
	else
		out_printf(&o, "# PrivateKey = (set your private key here)\n");
	out_list(&o, "Address", p->addr, c->n_addresses, true);
	if (c->n_dns > 0)
		out_list(&o, "DNS", p->dns, c->n_dns, false);
	out_printf(&o, "MTU = %u\n", p->mtu);

	out_printf(&o, "\n[Peer]\n");
	out_printf(&o, "PublicKey = %s\n", c->public_key);
	if (c->preshared_key != NULL)
		out_printf(&o, "PresharedKey = %s\n", c->preshared_key);
	out_printf(&o, "Endpoint = %s:%u\n", p->endpoint, (unsigned int)c->endpoint_port);
	if (c->n_allowed_ips > 0)
		out_list(&o, "AllowedIPs", p->allowed, c->n_allowed_ips, true);
	else
		out_list(&o, "AllowedIPs", full, 2, true);
	if (c->persistent_keepalive != 0)
		out_printf(&o, "PersistentKeepalive = %u\n", (unsigned int)c->persistent_keepalive);

	if (o.overflow) {
		/* The size bound above is wrong: a bug, not bad input. */
		sodium_memzero(o.buf, o.cap);
		free(o.buf);
		free(p);
		errno = EOVERFLOW;
		return NULL;
	}
	free(p);
	return o.buf;

err_inval:
	free(p);
	errno = EINVAL;
	return NULL;
err_nomem:
	free(p);
	errno = ENOMEM;
	return NULL;
}

void
ctl_wgconf_free(char *text)
{
	if (text == NULL)
		return;
	sodium_memzero(text, strlen(text));
	free(text);
}
