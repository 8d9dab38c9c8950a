/*
 * tai64n.h — TAI64N timestamps for handshake initiations (paper §5.4.2),
 * big-endian so they compare with memcmp. Any thread.
 */
#ifndef GATE44_TAI64N_H
#define GATE44_TAI64N_H

#include <stdint.h>

#include "wg_const.h"

/* From a wall-clock time (seconds and nanoseconds since the Unix epoch).
 * Nanoseconds are rounded down to a multiple of 2^24 (~16.8 ms), as Linux
 * does, so the timestamp does not leak a fine-grained clock. */
void cr_tai64n_from(uint8_t out[WG_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec);
/* From CLOCK_REALTIME. */
void cr_tai64n_now(uint8_t out[WG_TAI64N_LEN]);
/* <0, 0, >0 as a is older, equal, newer than b. */
int cr_tai64n_cmp(const uint8_t a[WG_TAI64N_LEN], const uint8_t b[WG_TAI64N_LEN]);

#endif /* GATE44_TAI64N_H */
