/*
 * wg_handshake.h — WireGuard handshakes and timers on the main lcore:
 * validate MACs (cookie replies under load, per-source rate limiting),
 * answer initiations, consume responses and cookie replies, initiate when a
 * worker asks or a timer says so, and drive every protocol timer from the
 * stamps workers leave on their peers. X25519 runs only here.
 */
#ifndef GATE44_WG_HANDSHAKE_H
#define GATE44_WG_HANDSHAKE_H

#include <rte_mbuf.h>

#include "engine.h"

/* m: a handshake message (data at the WireGuard header, meta->src/wg_if). */
void wg_handshake_input(struct dp_lcore *lc, struct rte_mbuf *m);
/* Send an initiation to p now unless one went out in the last
 * REKEY_TIMEOUT (retry: a timer's retransmission, always sent). */
void wg_handshake_initiate(struct dp_lcore *lc, struct wg_peer *p, bool retry);
/* Walk a slice of the peer table and fire due timers; once a second, let
 * the rate limiter forget idle sources. */
void wg_timers_run(struct dp_lcore *lc, uint64_t now_ns);

#endif /* GATE44_WG_HANDSHAKE_H */
