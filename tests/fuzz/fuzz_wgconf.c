/*
 * fuzz_wgconf.c — libFuzzer target for the wg-quick client configuration
 * renderer (control/wgconf.c: ctl_wgconf_render, ctl_wgconf_key_check)
 * with every field taken from the input. The header promises that no
 * input can smuggle a line into the file; this target checks the whole
 * output against the grammar of what may be rendered:
 *   ["# " comment] "[Interface]" ("PrivateKey = " key | "# PrivateKey = (set
 *   your private key here)") "Address = " list ["DNS = " list] "MTU = " n ""
 *   "[Peer]" "PublicKey = " key ["PresharedKey = " key] "Endpoint = "
 *   host:port "AllowedIPs = " list ["PersistentKeepalive = " n]
 * line by line, printable ASCII only, keys and comment exactly as given,
 * list entries canonical (inet_ntop of themselves) and as many as given.
 * A refusal is EINVAL (never EOVERFLOW: that would be a wrong size bound).
 *
 * Input: mtu (2 bytes, le), port (2), keepalive (2), flags (1: bit 0
 * comment, 1 private key, 2 preshared key given), then '\n'-separated
 * fields: comment, private key, public key, preshared key, endpoint host,
 * addresses, DNS, allowed IPs (lists comma-separated, up to 40 entries).
 * Single-threaded; nothing kept between runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "wgconf.h"

#include "fuzz_common.h"

enum {
	F_COMMENT,
	F_PRIVATE,
	F_PUBLIC,
	F_PSK,
	F_HOST,
	F_ADDRS,
	F_DNS,
	F_ALLOWED,
	N_FIELDS,
	LIST_IN_MAX = 40,
};

struct list {
	const char *v[LIST_IN_MAX];
	size_t n;
};

/* Split s (modified) at ',' into l; an empty s is an empty list. */
static void
list_split(char *s, struct list *l)
{
	l->n = 0;
	if (*s == '\0')
		return;
	while (s != NULL && l->n < LIST_IN_MAX) {
		char *comma = strchr(s, ',');

		if (comma != NULL)
			*comma++ = '\0';
		l->v[l->n++] = s;
		s = comma;
	}
}

/* The next line of the rendered text must start with prefix; returns the
 * rest of that line (NUL-terminated in place) and advances *pos. */
static char *
line_take(char **pos, const char *prefix)
{
	char *line = *pos, *nl;

	FUZZ_CHECK(line != NULL && *line != '\0');
	nl = strchr(line, '\n');
	FUZZ_CHECK(nl != NULL);
	*nl = '\0';
	*pos = nl + 1;
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		fprintf(stderr, "line '%s' does not start with '%s'\n", line, prefix);
	FUZZ_CHECK(strncmp(line, prefix, strlen(prefix)) == 0);
	return line + strlen(prefix);
}

/* One canonical address, with "/plen" when with_plen. */
static void
entry_check(const char *e, bool with_plen)
{
	char addr[INET6_ADDRSTRLEN + 8], back[INET6_ADDRSTRLEN];
	const char *slash = strchr(e, '/');
	uint8_t bin[16];
	int af;
	size_t n = slash != NULL ? (size_t)(slash - e) : strlen(e);

	FUZZ_CHECK((slash != NULL) == with_plen);
	FUZZ_CHECK(n > 0 && n < sizeof(addr));
	memcpy(addr, e, n);
	addr[n] = '\0';
	af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	FUZZ_CHECK(inet_pton(af, addr, bin) == 1);
	FUZZ_CHECK(inet_ntop(af, bin, back, sizeof(back)) != NULL);
	FUZZ_CHECK(strcmp(back, addr) == 0);
	if (with_plen) {
		char *end;
		unsigned long plen = strtoul(slash + 1, &end, 10);

		FUZZ_CHECK(*end == '\0' && slash[1] != '\0');
		FUZZ_CHECK(plen <= (af == AF_INET ? 32u : 128u));
	}
}

/* "a, b, c" with count entries. */
static void
list_check(char *s, size_t count, bool with_plen)
{
	size_t n = 0;

	for (;;) {
		char *sep = strstr(s, ", ");

		if (sep != NULL)
			*sep = '\0';
		entry_check(s, with_plen);
		n++;
		if (sep == NULL)
			break;
		s = sep + 2;
	}
	FUZZ_CHECK(n == count);
}

static void
uint_check(const char *s, unsigned want)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", want);
	FUZZ_CHECK(strcmp(s, buf) == 0);
}

static void
output_check(char *text, const struct ctl_wgconf *c, unsigned mtu)
{
	char *pos = text, *v, *colon;

	for (const char *p = text; *p != '\0'; p++)
		FUZZ_CHECK(*p == '\n' || (*p >= 0x20 && *p <= 0x7e));

	if (c->comment != NULL)
		FUZZ_CHECK(strcmp(line_take(&pos, "# "), c->comment) == 0);
	FUZZ_CHECK(*line_take(&pos, "[Interface]") == '\0');
	if (c->private_key != NULL)
		FUZZ_CHECK(strcmp(line_take(&pos, "PrivateKey = "), c->private_key) == 0);
	else
		FUZZ_CHECK(*line_take(&pos, "# PrivateKey = (set your private key here)") == '\0');
	list_check(line_take(&pos, "Address = "), c->n_addresses, true);
	if (c->n_dns > 0)
		list_check(line_take(&pos, "DNS = "), c->n_dns, false);
	uint_check(line_take(&pos, "MTU = "), mtu);
	FUZZ_CHECK(*line_take(&pos, "") == '\0');
	FUZZ_CHECK(*line_take(&pos, "[Peer]") == '\0');
	FUZZ_CHECK(strcmp(line_take(&pos, "PublicKey = "), c->public_key) == 0);
	if (c->preshared_key != NULL)
		FUZZ_CHECK(strcmp(line_take(&pos, "PresharedKey = "), c->preshared_key) == 0);
	v = line_take(&pos, "Endpoint = ");
	colon = strrchr(v, ':');
	FUZZ_CHECK(colon != NULL);
	uint_check(colon + 1, c->endpoint_port);
	*colon = '\0';
	if (v[0] == '[') {
		FUZZ_CHECK(v[strlen(v) - 1] == ']');
		v[strlen(v) - 1] = '\0';
		entry_check(v + 1, false);
		FUZZ_CHECK(strchr(v + 1, ':') != NULL);
	} else {
		FUZZ_CHECK(strchr(v, ':') == NULL && *v != '\0');
	}
	list_check(line_take(&pos, "AllowedIPs = "), c->n_allowed_ips ? c->n_allowed_ips : 2,
		   true);
	if (c->persistent_keepalive != 0)
		uint_check(line_take(&pos, "PersistentKeepalive = "), c->persistent_keepalive);
	FUZZ_CHECK(*pos == '\0');
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sodium_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	char *field[N_FIELDS] = {0}, *text, *out, *s;
	struct list addrs, dns, allowed;
	struct ctl_wgconf c = {0};
	unsigned flags, mtu;

	fuzz_rng_seed(0);
	c.mtu = (uint16_t)fuzz_u64(&in, 2);
	c.endpoint_port = (uint16_t)fuzz_u64(&in, 2);
	c.persistent_keepalive = (uint16_t)fuzz_u64(&in, 2);
	flags = fuzz_u8(&in);
	text = fuzz_cstr(in.p, in.n);
	if (text == NULL)
		return 0;
	s = text;
	for (unsigned i = 0; i < N_FIELDS; i++) {
		char *nl = s != NULL ? strchr(s, '\n') : NULL;

		field[i] = s != NULL ? s : (char *)"";
		if (nl != NULL)
			*nl++ = '\0';
		s = nl;
	}
	c.comment = flags & 1 ? field[F_COMMENT] : NULL;
	c.private_key = flags & 2 ? field[F_PRIVATE] : NULL;
	c.public_key = field[F_PUBLIC];
	c.preshared_key = flags & 4 ? field[F_PSK] : NULL;
	c.endpoint_host = field[F_HOST];
	list_split(field[F_ADDRS], &addrs);
	list_split(field[F_DNS], &dns);
	list_split(field[F_ALLOWED], &allowed);
	c.addresses = addrs.v;
	c.n_addresses = addrs.n;
	c.dns = dns.v;
	c.n_dns = dns.n;
	c.allowed_ips = allowed.v;
	c.n_allowed_ips = allowed.n;

	/* the key check alone, on each key field */
	(void)ctl_wgconf_key_check(field[F_PRIVATE]);
	(void)ctl_wgconf_key_check(field[F_PSK]);

	errno = 0;
	out = ctl_wgconf_render(&c);
	if (out == NULL) {
		FUZZ_CHECK(errno == EINVAL);
	} else {
		mtu = c.mtu != 0 ? c.mtu : CTL_WGCONF_MTU_DEFAULT;
		FUZZ_CHECK(ctl_wgconf_key_check(c.public_key) == 0);
		s = strdup(out); /* the check cuts its lines */
		if (s != NULL)
			output_check(s, &c, mtu);
		free(s);
		ctl_wgconf_free(out);
	}
	free(text);
	return 0;
}
