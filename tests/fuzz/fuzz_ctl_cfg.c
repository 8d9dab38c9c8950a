/*
 * fuzz_ctl_cfg.c — libFuzzer target for gate44-control's configuration
 * parser (control/cfg.c: ctl_cfg_parse) on any text (the input is
 * NUL-terminated; a NUL inside it ends the text, as for a C string). The
 * key files an [interface] names are served from memory by fuzz_fopen
 * (build.sh compiles cfg.c with -Dfopen=fuzz_fopen): "k.good" holds a
 * valid key, "k.zero" an all-zero one, "k.long" a key followed by junk,
 * "k.fuzz" whatever follows the first NUL of the input; every other path
 * does not exist. Invariants:
 *  - on error the struct is wiped and err says "fuzz.conf:...";
 *  - a key file is accepted only when it holds, blanks around it aside,
 *    the one canonical text of a key (as the other key checks promise);
 *  - on success: counts within bounds, every string NUL-terminated in its
 *    array, names unique, every interface with a key whose public half is
 *    X25519(private) and an endpoint, every pool with a prefix of its
 *    alloc_len's family no longer than it and an existing interface,
 *    reservations valid prefixes; every prefix prints and parses back
 *    (ctl_prefix_format / ctl_prefix_parse).
 * Single-threaded.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <sodium.h>

#include "cfg.h"

#include "fuzz_common.h"

FILE *fuzz_fopen(const char *path, const char *mode);

/* The bytes after the input's first NUL: the content of "k.fuzz". */
static const uint8_t *key_file;
static size_t key_file_len;
static bool key_file_read; /* by this run */

FILE *
fuzz_fopen(const char *path, const char *mode)
{
	static const char good[] = "  WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY=\n";
	static const char zero[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	static const char longer[] = "WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY=\n"
				     "WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY=\n"
				     "WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY=\n";
	const char *text = NULL;

	if (strcmp(path, "k.good") == 0)
		text = good;
	else if (strcmp(path, "k.zero") == 0)
		text = zero;
	else if (strcmp(path, "k.long") == 0)
		text = longer;
	if (strcmp(path, "k.fuzz") == 0 && key_file_len > 0 && strcmp(mode, "r") == 0) {
		key_file_read = true;
		return fmemopen((void *)key_file, key_file_len, "r");
	}
	if (text == NULL || strcmp(mode, "r") != 0) {
		errno = ENOENT;
		return NULL;
	}
	return fmemopen((void *)text, strlen(text), "r");
}

static struct ctl_cfg cfg;
static const struct ctl_cfg zero_cfg;

static void
str_check(const char *s, size_t size, bool empty_ok)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size);
	FUZZ_CHECK(empty_ok || n > 0);
}

static void
prefix_check(const struct ctl_cfg_prefix *p)
{
	struct ctl_cfg_prefix back;
	char text[64];

	FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6);
	FUZZ_CHECK(p->plen <= (p->family == AF_INET ? 32 : 128));
	ctl_prefix_format(p, text, sizeof(text));
	FUZZ_CHECK(ctl_prefix_parse(text, &back) == 0);
	FUZZ_CHECK(back.family == p->family && back.plen == p->plen &&
		   memcmp(back.addr, p->addr, 16) == 0);
}

/* k.fuzz was read and accepted: it held, blanks aside, the canonical text
 * of the key it decodes to. */
static void
key_file_check(void)
{
	char canon[45], *text;
	uint8_t priv[32];
	size_t start = 0, end, len = 0;

	text = fuzz_cstr(key_file, key_file_len);
	if (text == NULL)
		return;
	/* cfg.c reads at most 127 bytes and trims isspace() around them */
	end = strnlen(text, 127);
	while (start < end && strchr(" \t\n\v\f\r", text[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\n\v\f\r", text[end - 1]) != NULL)
		end--;
	FUZZ_CHECK(sodium_base642bin(priv, sizeof(priv), text + start, end - start, NULL, &len,
				     NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
		   len == 32);
	sodium_bin2base64(canon, sizeof(canon), priv, 32, sodium_base64_VARIANT_ORIGINAL);
	if (end - start != 44 || memcmp(text + start, canon, 44) != 0)
		fprintf(stderr, "key file '%.*s' accepted, canonical text '%s'\n",
			(int)(end - start), text + start, canon);
	FUZZ_CHECK(end - start == 44 && memcmp(text + start, canon, 44) == 0);
	free(text);
}

static void
cfg_check(const struct ctl_cfg *c)
{
	str_check(c->database, sizeof(c->database), true);
	str_check(c->listen, sizeof(c->listen), true);
	str_check(c->engine_socket, sizeof(c->engine_socket), true);
	str_check(c->uapi_dir, sizeof(c->uapi_dir), true);
	FUZZ_CHECK(c->connected_window_s >= 1 && c->counters_interval_s >= 1);
	FUZZ_CHECK(c->max_body >= 1024 && c->rate >= 1 && c->burst >= 1);

	FUZZ_CHECK(c->n_ifs <= CTL_CFG_MAX_IFS);
	for (unsigned i = 0; i < c->n_ifs; i++) {
		const struct ctl_cfg_if *f = &c->ifs[i];
		uint8_t pub[32];

		str_check(f->name, sizeof(f->name), false);
		str_check(f->endpoint, sizeof(f->endpoint), false);
		str_check(f->dns, sizeof(f->dns), true);
		str_check(f->client_allowed_ips, sizeof(f->client_allowed_ips), true);
		FUZZ_CHECK(f->mtu >= 1280 && f->mtu <= 9000);
		FUZZ_CHECK(!sodium_is_zero(f->private_key, 32));
		FUZZ_CHECK(crypto_scalarmult_curve25519_base(pub, f->private_key) == 0);
		FUZZ_CHECK(memcmp(pub, f->public_key, 32) == 0);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->ifs[j].name, f->name) != 0);
	}
	FUZZ_CHECK(c->n_pools <= CTL_CFG_MAX_POOLS);
	for (unsigned i = 0; i < c->n_pools; i++) {
		const struct ctl_cfg_pool *p = &c->pools[i];
		bool found = false;

		str_check(p->name, sizeof(p->name), false);
		str_check(p->interface, sizeof(p->interface), true);
		prefix_check(&p->prefix);
		FUZZ_CHECK(p->alloc_len == (p->prefix.family == AF_INET ? 32 : 64));
		FUZZ_CHECK(p->prefix.plen <= p->alloc_len);
		FUZZ_CHECK(p->n_reserved <= CTL_CFG_MAX_RESERVED);
		for (unsigned j = 0; j < p->n_reserved; j++)
			prefix_check(&p->reserved[j]);
		for (unsigned j = 0; j < c->n_ifs; j++)
			found |= strcmp(c->ifs[j].name, p->interface) == 0;
		FUZZ_CHECK(found);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->pools[j].name, p->name) != 0);
	}
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
	char err[512], *text = fuzz_cstr(data, size);
	size_t n = strlen(text != NULL ? text : "");
	int rc;

	if (text == NULL)
		return 0;
	key_file_read = false;
	key_file = n < size ? data + n + 1 : NULL;
	key_file_len = n < size ? size - n - 1 : 0;
	fuzz_rng_seed(0);
	memset(err, 0x5a, sizeof(err));
	rc = ctl_cfg_parse(text, "fuzz.conf", &cfg, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		if (rc != -ENOMEM)
			FUZZ_CHECK(strncmp(err, "fuzz.conf", 9) == 0);
		FUZZ_CHECK(memcmp(&cfg, &zero_cfg, sizeof(cfg)) == 0);
	} else {
		cfg_check(&cfg);
		if (key_file_read)
			key_file_check();
		ctl_cfg_wipe(&cfg);
	}
	free(text);
	return 0;
}
