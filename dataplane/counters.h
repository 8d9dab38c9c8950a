/*
 * counters.h — every counter of the engine, and a named reason for every
 * drop, from one X-macro (as VPP does) so the enum, the names exported over
 * the engine socket and rte_telemetry, and the docs cannot drift. Counters
 * are per lcore and cache-aligned; readers sum them. Written by the lcore
 * that owns them only.
 */
#ifndef GATE44_COUNTERS_H
#define GATE44_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>

/* _(ENUM, "name", "help") */
#define DP_DROP_REASONS(_)                                                             \
	_(RX_MALFORMED, "rx_malformed", "frame too short or bad L2/L3 header")             \
	_(RX_UNSUPPORTED, "rx_unsupported", "ethertype or protocol not handled")          \
	_(IP_BAD_CSUM, "ip_bad_checksum", "IPv4 header checksum wrong")                    \
	_(IP_TTL_EXCEEDED, "ttl_exceeded", "TTL or hop limit reached zero")               \
	_(IP_NO_ROUTE, "no_route", "no route to the destination")                         \
	_(IP_ROUTE_DROP, "route_drop", "destination routed to drop")                       \
	_(IP_TOO_BIG, "too_big", "packet exceeds the next hop's MTU")                      \
	_(NEIGH_UNRESOLVED, "neighbor_unresolved", "next hop not resolved, queue full")    \
	_(WG_SHORT, "wg_short", "WireGuard message shorter than its type needs")          \
	_(WG_BAD_TYPE, "wg_bad_type", "unknown WireGuard message type")                   \
	_(WG_UNKNOWN_INDEX, "wg_unknown_index", "no keypair for the receiver index")       \
	_(WG_REPLAY, "wg_replay", "counter already seen or behind the window")            \
	_(WG_KEY_EXPIRED, "wg_key_expired", "keypair past REJECT_AFTER_TIME/MESSAGES")     \
	_(WG_DECRYPT, "wg_decrypt", "transport data failed authentication")              \
	_(WG_INNER_MALFORMED, "wg_inner_malformed", "decrypted packet not IPv4/IPv6")      \
	_(WG_ALLOWED_IPS, "wg_allowed_ips", "inner source not in the peer's allowed IPs")  \
	_(WG_NO_KEYPAIR, "wg_no_keypair", "no usable keypair, handshake queue full")      \
	_(WG_NO_ENDPOINT, "wg_no_endpoint", "peer has no known endpoint")                  \
	_(WG_HS_RING_FULL, "wg_handshake_ring_full", "main lcore busy: handshake dropped") \
	_(WG_HS_INVALID, "wg_handshake_invalid", "handshake message did not validate")     \
	_(WG_HS_RATELIMIT, "wg_handshake_ratelimited", "handshake source over its rate")   \
	_(WG_HS_UNKNOWN_PEER, "wg_handshake_unknown_peer", "initiator static not a peer")  \
	_(WG_HS_REPLAY, "wg_handshake_replay", "initiation timestamp not newer")           \
	_(WG_HS_FLOOD, "wg_handshake_flood", "initiation sooner than 1/50 s after last")   \
	_(HANDOFF_RING_FULL, "handoff_ring_full", "owner lcore's ring full")              \
	_(CONTROL_RING_FULL, "control_ring_full", "main lcore's ring full")               \
	_(EXCEPTION_DOWN, "exception_down", "no exception path configured or TAP full")   \
	_(TX_FULL, "tx_full", "port transmit queue full")                                 \
	_(NO_MBUF, "no_mbuf", "mempool empty when a packet had to be built")

enum dp_drop {
#define _(e, n, h) DP_DROP_##e,
	DP_DROP_REASONS(_)
#undef _
	DP_DROP_MAX
};

extern const char *const dp_drop_names[DP_DROP_MAX];
extern const char *const dp_drop_help[DP_DROP_MAX];

/* Per-lcore counters (one instance per lcore, summed by readers). */
struct dp_lcore_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t forwarded;
	uint64_t decrypted;
	uint64_t encrypted;
	uint64_t handoff_out;
	uint64_t handoff_in;
	uint64_t to_main;
	uint64_t handshakes_rx;
	uint64_t handshakes_tx;
	uint64_t cookies_tx;
	uint64_t icmp_tx;
	uint64_t exception_up;        /* sent to the host kernel */
	uint64_t exception_down;      /* received from the host kernel */
	uint64_t loops;
	uint64_t drops[DP_DROP_MAX];
} __rte_cache_aligned;

#endif /* GATE44_COUNTERS_H */
