/*
 * wg_data.h — WireGuard transport data on the worker that owns the peer:
 * decrypt bursts (replay window, roaming, cryptokey routing), encrypt bursts
 * (padding, counters, outer headers), the staged queue while a handshake is
 * under way, keepalives, and the keypair slot changes the main lcore asks
 * for. Worker lcores; messages for a peer owned elsewhere are handed off.
 */
#ifndef GATE44_WG_DATA_H
#define GATE44_WG_DATA_H

#include <rte_mbuf.h>

#include "engine.h"

/* 0 when msg is a handshake message (initiation, response, cookie reply)
 * of exactly its type's length, else -EINVAL. */
int wg_handshake_len(const uint8_t *msg, uint32_t len);

/* Transport data messages (data at the WireGuard header, meta->src and
 * meta->wg_if set). */
void wg_decrypt_burst(struct dp_lcore *lc, struct rte_mbuf **pkts, unsigned n);
/* Queue an inner packet (data at the IP header; meta->peer set) for
 * encryption on this lcore or hand it to the owner. */
void wg_encrypt_enqueue(struct dp_lcore *lc, struct rte_mbuf *m);
/* Seal everything queued by wg_encrypt_enqueue. */
void wg_encrypt_flush(struct dp_lcore *lc);
/* An event from the main lcore about a peer this worker owns. */
void wg_worker_event(struct dp_lcore *lc, const struct dp_event *ev);
/* Read a peer's endpoint consistently. */
void wg_peer_endpoint_get(struct wg_peer *p, struct dp_endpoint *ep);
void wg_peer_endpoint_set(struct wg_peer *p, const struct dp_endpoint *ep);
/* Prepend outer IPv4/IPv6 + UDP headers from local port to ep, then route
 * the datagram out (used for data and, on the main lcore, handshakes). */
void wg_send_udp(struct dp_lcore *lc, struct rte_mbuf *m, uint16_t wg_if,
		 const struct dp_endpoint *ep);

#endif /* GATE44_WG_DATA_H */
