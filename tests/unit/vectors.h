/*
 * vectors.h — loading ../shared/vectors JSON files for the unit tests.
 * A missing file or malformed vector is a test failure, never a skip.
 */
#ifndef GATE44_TEST_VECTORS_H
#define GATE44_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Parse $GATE44_VECTORS/<name> (default ../shared/vectors relative to the
 * source tree). Fails the running cmocka test when absent or invalid. */
json_t *vec_load(const char *name);
/* Decode a hex string into a malloc'd buffer (*len set); fails the test on
 * bad hex. Returns a non-NULL pointer even for "" (len 0). */
uint8_t *vec_hex(const char *hex, size_t *len);
/* Decode hex into a fixed buffer of exactly want bytes; fails otherwise. */
void vec_hex_fixed(const char *hex, uint8_t *out, size_t want);
/* json_object_get + json_string_value, failing the test when absent. */
const char *vec_str(const json_t *obj, const char *key);

#endif
