/*
 * fuzz_uapi.c — libFuzzer target for the WireGuard UAPI text protocol of
 * gate44-control (control/uapi.c): uapi_parse_set on any bytes, then a
 * round trip through the formatter. Invariants:
 *  - a refused request returns -EPROTO, -EINVAL or -ENOMEM with *out all
 *    zero and a message in err;
 *  - an accepted one is what the parser promises: allowed IPs with host
 *    bits zero and a valid length, endpoints of family AF_INET/AF_INET6;
 *  - the transaction, taken as a device snapshot, formats (get=1), and that
 *    text, made a set=1 request again (without the read-only keys), parses
 *    back to the same device: keys, port, fwmark, and per peer the
 *    preshared key, endpoint, keepalive and allowed IPs, in order.
 * Single-threaded; nothing kept between runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <sodium.h>

#include "uapi.h"

#include "fuzz_common.h"

static const struct uapi_set zero_set;

static void
aip_check(const struct uapi_allowed_ip *a)
{
	unsigned bits = a->family == AF_INET ? 32 : 128;

	FUZZ_CHECK(a->family == AF_INET || a->family == AF_INET6);
	FUZZ_CHECK(a->plen <= bits);
	if (a->family == AF_INET)
		FUZZ_CHECK(sodium_is_zero(a->addr.bytes + 4, 12));
	for (unsigned i = a->plen; i < bits; i++)
		FUZZ_CHECK(!(a->addr.bytes[i / 8] & (0x80 >> (i % 8))));
}

static bool
endpoint_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return a->ss_family == AF_UNSPEC;
}

/* The transaction as the device it would leave (every peer operation a
 * peer, in order): what get=1 would show. */
static int
device_from_set(const struct uapi_set *s, struct uapi_device *d)
{
	memset(d, 0, sizeof(*d));
	d->has_private_key = s->has_private_key;
	memcpy(d->private_key, s->private_key, UAPI_KEY_LEN);
	d->listen_port = s->listen_port;
	d->fwmark = s->fwmark;
	d->n_peers = s->n_peers;
	d->peers = calloc(s->n_peers ? s->n_peers : 1, sizeof(*d->peers));
	if (d->peers == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct uapi_peer_op *op = &s->peers[i];
		struct uapi_peer_info *pi = &d->peers[i];

		memcpy(pi->public_key, op->public_key, UAPI_KEY_LEN);
		if (op->has_preshared_key)
			memcpy(pi->preshared_key, op->preshared_key, UAPI_KEY_LEN);
		if (op->has_endpoint)
			pi->endpoint = op->endpoint;
		pi->persistent_keepalive = op->persistent_keepalive;
		pi->last_handshake_sec = i;
		pi->tx_bytes = UINT64_MAX - i;
		pi->allowed_ips = op->allowed_ips;
		pi->n_allowed_ips = op->n_allowed_ips;
	}
	return 0;
}

/* get=1 text -> set=1 request: drop the read-only keys and errno=0. */
static char *
set_from_get(const char *get, size_t len, size_t *outlen)
{
	static const char *const ro[] = {
		"last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=",
		"rx_bytes=", "errno=",
	};
	char *out = malloc(len + 8), *o = out;
	const char *line = get, *end = get + len;

	if (out == NULL)
		return NULL;
	o += sprintf(o, "set=1\n");
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n;
		bool skip = false;

		FUZZ_CHECK(nl != NULL);
		n = (size_t)(nl - line) + 1;
		for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
			skip |= strncmp(line, ro[i], strlen(ro[i])) == 0;
		if (!skip) {
			memcpy(o, line, n);
			o += n;
		}
		line = nl + 1;
	}
	*outlen = (size_t)(o - out);
	return out;
}

static void
round_trip(const struct uapi_set *s)
{
	struct uapi_device dev;
	struct uapi_set back;
	char err[256], *get, *set;
	size_t get_len, set_len;
	int rc;

	if (device_from_set(s, &dev) != 0)
		return;
	get = uapi_format_get(&dev, &get_len);
	FUZZ_CHECK(get != NULL);
	FUZZ_CHECK(strlen(get) == get_len);
	FUZZ_CHECK(get_len >= 9 && strcmp(get + get_len - 9, "errno=0\n\n") == 0);
	set = set_from_get(get, get_len, &set_len);
	if (set == NULL)
		goto out;
	rc = uapi_parse_set(set, set_len, &back, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "re-parse: %d %s\n%.*s", rc, err, (int)set_len, set);
	FUZZ_CHECK(rc == 0);

	FUZZ_CHECK(back.has_private_key ==
		   (s->has_private_key && !sodium_is_zero(s->private_key, UAPI_KEY_LEN)));
	if (back.has_private_key)
		FUZZ_CHECK(memcmp(back.private_key, s->private_key, UAPI_KEY_LEN) == 0);
	FUZZ_CHECK(back.listen_port == s->listen_port);
	FUZZ_CHECK(back.has_listen_port == (s->listen_port != 0));
	FUZZ_CHECK(back.fwmark == s->fwmark);
	FUZZ_CHECK(!back.replace_peers);
	FUZZ_CHECK(back.n_peers == s->n_peers);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct uapi_peer_op *a = &s->peers[i], *b = &back.peers[i];

		FUZZ_CHECK(memcmp(a->public_key, b->public_key, UAPI_KEY_LEN) == 0);
		FUZZ_CHECK(b->has_preshared_key && b->has_persistent_keepalive);
		FUZZ_CHECK(memcmp(b->preshared_key, dev.peers[i].preshared_key, UAPI_KEY_LEN) ==
			   0);
		FUZZ_CHECK(b->persistent_keepalive == a->persistent_keepalive);
		FUZZ_CHECK(b->has_endpoint == a->has_endpoint);
		if (a->has_endpoint)
			FUZZ_CHECK(endpoint_equal(&a->endpoint, &b->endpoint));
		FUZZ_CHECK(!b->remove && !b->update_only && !b->replace_allowed_ips);
		FUZZ_CHECK(b->n_allowed_ips == a->n_allowed_ips);
		for (size_t j = 0; j < a->n_allowed_ips; j++) {
			const struct uapi_allowed_ip *x = &a->allowed_ips[j], *y = &b->allowed_ips[j];

			FUZZ_CHECK(x->family == y->family && x->plen == y->plen &&
				   memcmp(x->addr.bytes, y->addr.bytes, 16) == 0);
		}
	}
	uapi_set_free(&back);
	free(set);
out:
	uapi_text_free(get, get_len);
	free(dev.peers);
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
	struct uapi_set s;
	char err[256];
	int rc;

	fuzz_rng_seed(0);
	memset(err, 0x5a, sizeof(err));
	rc = uapi_parse_set((const char *)data, size, &s, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EPROTO || rc == -EINVAL || rc == -ENOMEM);
		FUZZ_CHECK(memcmp(&s, &zero_set, sizeof(s)) == 0);
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(s.n_peers <= s.cap_peers);
	for (size_t i = 0; i < s.n_peers; i++) {
		const struct uapi_peer_op *op = &s.peers[i];

		FUZZ_CHECK(op->n_allowed_ips <= op->cap_allowed_ips);
		for (size_t j = 0; j < op->n_allowed_ips; j++)
			aip_check(&op->allowed_ips[j]);
		if (op->has_endpoint)
			FUZZ_CHECK(op->endpoint.ss_family == AF_INET ||
				   op->endpoint.ss_family == AF_INET6);
	}
	round_trip(&s);
	uapi_set_free(&s);
	FUZZ_CHECK(memcmp(&s, &zero_set, sizeof(s)) == 0);
	return 0;
}
