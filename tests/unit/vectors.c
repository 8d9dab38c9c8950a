/* vectors.c — see vectors.h. Test-only; runs in the test's thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vectors.h"

#ifndef GATE44_DEFAULT_VECTORS
#define GATE44_DEFAULT_VECTORS "../shared/vectors"
#endif

json_t *
vec_load(const char *name)
{
	const char *dir = getenv("GATE44_VECTORS");
	char path[4096];
	json_error_t err;
	json_t *root;

	if (dir == NULL || *dir == '\0')
		dir = GATE44_DEFAULT_VECTORS;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	root = json_load_file(path, 0, &err);
	if (root == NULL)
		fail_msg("cannot load vectors %s: %s (line %d)", path, err.text, err.line);
	return root;
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *
vec_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *out;

	if (n % 2 != 0)
		fail_msg("odd-length hex string");
	out = malloc(n / 2 + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			fail_msg("bad hex digit in %.16s", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

void
vec_hex_fixed(const char *hex, uint8_t *out, size_t want)
{
	size_t len;
	uint8_t *buf = vec_hex(hex, &len);

	if (len != want)
		fail_msg("hex value has %zu bytes, want %zu", len, want);
	memcpy(out, buf, len);
	free(buf);
}

const char *
vec_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL)
		fail_msg("vector lacks string field '%s'", key);
	return s;
}
