/*
 * fuzz_http_json.c — libFuzzer target for what the HTTP API does with a
 * request body before its handlers (control/api_*.c, still moving) take
 * over: jansson's json_loadb with the flags of control/http.c, then the
 * field validators the handlers call, on every string of the document:
 * ctl_ipam_prefix_parse / _format / _check_amprnet / _contains / _overlap
 * (control/ipam.c), ctl_prefix_parse (control/cfg.c) and
 * ctl_wgconf_key_check (control/wgconf.c). Invariants:
 *  - a body that loads dumps and loads back equal (what the API echoes);
 *  - a parsed prefix has its host bits zero, prints canonically and parses
 *    back to itself; the config parser accepts what the API parser does
 *    and reads the same prefix;
 *  - containment and overlap are consistent on every pair of prefixes;
 *  - a string ctl_wgconf_key_check accepts is the one canonical text of
 *    its 32 bytes (wgconf.c: "one key, one text form").
 * Single-threaded; no store is opened.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <jansson.h>
#include <sodium.h>

#include "cfg.h"
#include "ipam.h"
#include "wgconf.h"

#include "fuzz_common.h"

enum {
	MAX_PREFIXES = 32,
	MAX_DEPTH = 64,
};

struct seen {
	struct ctl_ipam_prefix p[MAX_PREFIXES];
	unsigned n;
};

static void
prefix_string(const char *s, struct seen *seen)
{
	struct ctl_ipam_prefix p, back;
	struct ctl_cfg_prefix cp;
	char err[256], text[CTL_PREFIX_STRLEN];
	unsigned bits;

	err[0] = '\0';
	if (ctl_ipam_prefix_parse(s, &p, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(p.family == AF_INET || p.family == AF_INET6);
	bits = p.family == AF_INET ? 32 : 128;
	FUZZ_CHECK(p.plen <= bits);
	for (unsigned i = p.plen; i < 128; i++)
		FUZZ_CHECK(!(p.addr[i / 8] & (0x80 >> (i % 8))));
	FUZZ_CHECK(ctl_ipam_prefix_format(&p, text, sizeof(text)) == 0);
	FUZZ_CHECK(ctl_ipam_prefix_parse(text, &back, NULL, 0) == 0);
	FUZZ_CHECK(ctl_ipam_prefix_equal(&p, &back));
	FUZZ_CHECK(ctl_ipam_prefix_format(&p, text, 4) == -ENOSPC);
	err[0] = '\0';
	if (ctl_ipam_check_amprnet(&p, err, sizeof(err)) != 0)
		FUZZ_CHECK(err[0] != '\0');

	/* the configuration's parser is the more lenient one */
	FUZZ_CHECK(ctl_prefix_parse(s, &cp) == 0);
	FUZZ_CHECK(cp.family == p.family && cp.plen == p.plen &&
		   memcmp(cp.addr, p.addr, 16) == 0);

	if (seen->n < MAX_PREFIXES)
		seen->p[seen->n++] = p;
}

static void
key_string(const char *s)
{
	uint8_t key[32];
	char canon[45];
	size_t len = 0;

	if (ctl_wgconf_key_check(s) != 0)
		return;
	FUZZ_CHECK(sodium_base642bin(key, sizeof(key), s, strlen(s), NULL, &len, NULL,
				     sodium_base64_VARIANT_ORIGINAL) == 0 &&
		   len == 32);
	sodium_bin2base64(canon, sizeof(canon), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	if (strcmp(canon, s) != 0)
		fprintf(stderr, "key '%s' accepted, canonical text '%s'\n", s, canon);
	FUZZ_CHECK(strcmp(canon, s) == 0);
}

static void
walk(json_t *v, struct seen *seen, int depth)
{
	const char *key;
	json_t *x;
	size_t i;

	if (depth > MAX_DEPTH)
		return;
	if (json_is_string(v)) {
		prefix_string(json_string_value(v), seen);
		key_string(json_string_value(v));
	} else if (json_is_object(v)) {
		json_object_foreach (v, key, x) {
			prefix_string(key, seen);
			walk(x, seen, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			walk(x, seen, depth + 1);
	}
}

static void
pairs_check(const struct seen *seen)
{
	for (unsigned i = 0; i < seen->n; i++) {
		for (unsigned j = 0; j < seen->n; j++) {
			const struct ctl_ipam_prefix *a = &seen->p[i], *b = &seen->p[j];
			bool ab = ctl_ipam_prefix_contains(a, b), ba = ctl_ipam_prefix_contains(b, a);

			FUZZ_CHECK(ctl_ipam_prefix_overlap(a, b) == (ab || ba));
			FUZZ_CHECK(ctl_ipam_prefix_equal(a, b) == (ab && ba));
			if (ab)
				FUZZ_CHECK(a->plen <= b->plen && a->family == b->family);
		}
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
	struct seen seen = {.n = 0};
	json_error_t jerr;
	json_t *j, *back;
	char *text;

	fuzz_rng_seed(0);
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		return 0;
	text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text != NULL) {
		back = json_loads(text, JSON_DECODE_ANY, &jerr);
		FUZZ_CHECK(back != NULL && json_equal(j, back));
		json_decref(back);
		free(text);
	}
	walk(j, &seen, 0);
	pairs_check(&seen);
	json_decref(j);
	return 0;
}
