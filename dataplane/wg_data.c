/*
 * wg_data.c — WireGuard transport data (see wg_data.h). Runs on the worker
 * that owns the peer; its keypair slots, counters, replay windows and
 * staged queue are touched by no other thread. Every failure is a counted
 * drop, never a log line.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "fib.h"
#include "fwd.h"
#include "wg_data.h"

int
wg_handshake_len(const uint8_t *msg, uint32_t len)
{
	if (len < 4 || msg[1] != 0 || msg[2] != 0 || msg[3] != 0)
		return -EINVAL;
	switch (msg[0]) {
	case WG_MSG_INITIATION:
		return len == WG_MSG_INITIATION_LEN ? 0 : -EINVAL;
	case WG_MSG_RESPONSE:
		return len == WG_MSG_RESPONSE_LEN ? 0 : -EINVAL;
	case WG_MSG_COOKIE:
		return len == WG_MSG_COOKIE_LEN ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

void
wg_peer_endpoint_get(struct wg_peer *p, struct dp_endpoint *ep)
{
	uint32_t sn;

	do {
		sn = rte_seqlock_read_begin(&p->endpoint_lock);
		*ep = p->endpoint;
	} while (rte_seqlock_read_retry(&p->endpoint_lock, sn));
}

void
wg_peer_endpoint_set(struct wg_peer *p, const struct dp_endpoint *ep)
{
	rte_seqlock_write_lock(&p->endpoint_lock);
	p->endpoint = *ep;
	rte_seqlock_write_unlock(&p->endpoint_lock);
}

static inline bool
endpoint_eq(const struct dp_endpoint *a, const struct dp_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* The keypair a receiver index names, or NULL. */
static inline struct wg_keypair *
kp_lookup(uint32_t idx)
{
	struct wg_keypair *kp =
		__atomic_load_n(&dp_eng->kp_table[idx & dp_eng->kp_mask], __ATOMIC_ACQUIRE);

	return kp != NULL && kp->local_index == idx ? kp : NULL;
}

/* Tell main a keypair is no longer referenced by this worker. */
static void
kp_retire(struct wg_keypair *kp)
{
	if (kp != NULL)
		dp_main_event(DP_MEV_KEYPAIR_RETIRED, kp->peer_id, kp);
}

static void
stamp_current(struct wg_peer *p)
{
	p->st.cur_birth_ns = p->current != NULL ? p->current->birth_ns : 0;
	p->st.cur_initiator = p->current != NULL && p->current->initiator;
}

/* Responder: the first data on the "next" keypair confirms it. */
static void
kp_confirm(struct wg_peer *p, struct wg_keypair *kp)
{
	kp->confirmed = true;
	if (kp != p->next)
		return;
	kp_retire(p->previous);
	p->previous = p->current;
	p->current = kp;
	p->next = NULL;
	stamp_current(p);
}

static void staged_flush(struct dp_lcore *lc, struct wg_peer *p, bool keepalive_if_empty);

static void
staged_push(struct dp_lcore *lc, struct wg_peer *p, struct rte_mbuf *m)
{
	dp_meta(m)->staged_next = NULL;
	if (p->staged_count >= WG_MAX_QUEUED_PACKETS) {
		/* full: drop the oldest, as Linux does */
		struct rte_mbuf *old = p->staged_head;

		p->staged_head = dp_meta(old)->staged_next;
		p->staged_count--;
		if (p->staged_head == NULL)
			p->staged_tail = NULL;
		dp_drop(lc, old, DP_DROP_WG_NO_KEYPAIR);
	}
	if (p->staged_tail != NULL)
		dp_meta(p->staged_tail)->staged_next = m;
	else
		p->staged_head = m;
	p->staged_tail = m;
	p->staged_count++;
}

static void
want_handshake(struct wg_peer *p)
{
	if (!__atomic_load_n(&p->st.want_handshake, __ATOMIC_RELAXED)) {
		__atomic_store_n(&p->st.want_handshake, true, __ATOMIC_RELAXED);
		dp_main_event(DP_MEV_NEED_HANDSHAKE, p->id, NULL);
	}
}

static inline bool
kp_can_send(const struct wg_keypair *kp, uint64_t now)
{
	return kp != NULL && (kp->initiator || kp->confirmed) &&
	       dp_ns_since(now, kp->birth_ns) < (uint64_t)WG_REJECT_AFTER_TIME_S * 1000000000ULL &&
	       kp->send_counter < WG_REJECT_AFTER_MESSAGES;
}

/* With many peers every packet of a burst names a keypair and a peer that
 * are not in the cache: ask for them all first, each step a pass over the
 * burst, so the misses overlap instead of following one another. */
static void
prefetch_keypairs(struct rte_mbuf **pkts, unsigned n)
{
	struct wg_keypair *kps[DP_MAX_BURST];

	for (unsigned i = 0; i < n; i++) {
		const struct cr_wg_msg_data_hdr *h = rte_pktmbuf_mtod(pkts[i], const void *);

		rte_prefetch0(&dp_eng->kp_table[rte_le_to_cpu_32(h->receiver) & dp_eng->kp_mask]);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct cr_wg_msg_data_hdr *h = rte_pktmbuf_mtod(pkts[i], const void *);

		kps[i] = dp_eng->kp_table[rte_le_to_cpu_32(h->receiver) & dp_eng->kp_mask];
		if (kps[i] != NULL) {
			rte_prefetch0(kps[i]);
			rte_prefetch0((const uint8_t *)kps[i] + RTE_CACHE_LINE_SIZE);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const struct cr_wg_msg_data_hdr *h = rte_pktmbuf_mtod(pkts[i], const void *);
		uint64_t word = rte_le_to_cpu_64(h->counter) / WG_REPLAY_WORD_BITS;
		const struct wg_peer *p;

		if (kps[i] == NULL || kps[i]->peer_id >= dp_eng->max_peers)
			continue;
		/* the replay window's word for this counter */
		rte_prefetch0(&kps[i]->replay.bitmap[word & (WG_REPLAY_WORDS - 1)]);
		p = &dp_eng->peers[kps[i]->peer_id];
		rte_prefetch0(p);
		rte_prefetch0((const uint8_t *)p + RTE_CACHE_LINE_SIZE);
		rte_prefetch0((const uint8_t *)p + 2 * RTE_CACHE_LINE_SIZE);
		rte_prefetch0((const uint8_t *)p + 3 * RTE_CACHE_LINE_SIZE);
	}
}

/* The same for packets to encrypt: their peers, then the current keypairs. */
static void
prefetch_peers(struct rte_mbuf **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct wg_peer *p = &dp_eng->peers[dp_meta(pkts[i])->peer];

		rte_prefetch0((const uint8_t *)p + offsetof(struct wg_peer, endpoint));
		rte_prefetch0((const uint8_t *)p + offsetof(struct wg_peer, current));
		rte_prefetch0((const uint8_t *)p + offsetof(struct wg_peer, st));
	}
	for (unsigned i = 0; i < n; i++) {
		const struct wg_keypair *kp = dp_eng->peers[dp_meta(pkts[i])->peer].current;

		if (kp != NULL) {
			rte_prefetch0(kp);
			rte_prefetch0((const uint8_t *)kp + RTE_CACHE_LINE_SIZE);
		}
	}
}

void
wg_decrypt_burst(struct dp_lcore *lc, struct rte_mbuf **pkts, unsigned n)
{
	struct cr_aead_op ops[DP_MAX_BURST];
	struct wg_keypair *kps[DP_MAX_BURST];
	struct rte_mbuf *live[DP_MAX_BURST], *inner[DP_MAX_BURST];
	unsigned nlive = 0, ninner = 0;
	uint64_t now = dp_now_ns();

	prefetch_keypairs(pkts, n);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct cr_wg_msg_data_hdr *h = rte_pktmbuf_mtod(m, const void *);
		uint32_t idx = rte_le_to_cpu_32(h->receiver);
		uint64_t ctr = rte_le_to_cpu_64(h->counter);
		struct wg_keypair *kp = kp_lookup(idx);
		struct wg_peer *p;

		if (kp == NULL) {
			dp_drop(lc, m, DP_DROP_WG_UNKNOWN_INDEX);
			continue;
		}
		if (lc->is_main || dp_peer_owner(kp->peer_id) != lc->index) {
			dp_meta(m)->peer = idx;
			dp_handoff(lc, dp_peer_owner(kp->peer_id), m, DP_ACT_DECRYPT);
			continue;
		}
		p = &dp_eng->peers[kp->peer_id];
		if (kp != p->current && kp != p->previous && kp != p->next) {
			/* a keypair the main lcore just made: its event may still be
			 * in our ring (the peer answers faster than we poll) */
			dp_worker_events_drain(lc);
			if (kp != p->current && kp != p->previous && kp != p->next) {
				dp_drop(lc, m, DP_DROP_WG_UNKNOWN_INDEX);
				continue;
			}
		}
		if (dp_ns_since(now, kp->birth_ns) >= (uint64_t)WG_REJECT_AFTER_TIME_S * 1000000000ULL) {
			dp_drop(lc, m, DP_DROP_WG_KEY_EXPIRED);
			continue;
		}
		if (cr_replay_peek(&kp->replay, ctr) != 0) {
			dp_drop(lc, m, DP_DROP_WG_REPLAY);
			continue;
		}
		ops[nlive] = (struct cr_aead_op){
			.key = kp->recv_key,
			.src = (const uint8_t *)(h + 1),
			.dst = (uint8_t *)(h + 1),
			.counter = ctr,
			.len = rte_pktmbuf_data_len(m) - WG_MSG_DATA_HDR_LEN - WG_AEAD_TAG_LEN,
		};
		kps[nlive] = kp;
		live[nlive++] = m;
	}
	if (nlive == 0)
		return;
	cr_aead_burst_open(lc->aead, ops, nlive);
	for (unsigned i = 0; i < nlive; i++) {
		struct rte_mbuf *m = live[i];
		struct wg_keypair *kp = kps[i];
		struct wg_peer *p = &dp_eng->peers[kp->peer_id];
		struct dp_meta *meta = dp_meta(m);
		uint32_t msglen = rte_pktmbuf_data_len(m);
		uint32_t allowed_nh;
		const uint8_t *src;
		int fam;

		if (ops[i].status != 0) {
			dp_drop(lc, m, DP_DROP_WG_DECRYPT);
			continue;
		}
		if (cr_replay_check(&kp->replay, ops[i].counter) != 0) {
			dp_drop(lc, m, DP_DROP_WG_REPLAY); /* a duplicate within this burst */
			continue;
		}
		/* authenticated: now it may confirm keys and move the endpoint */
		if (!kp->confirmed) {
			kp_confirm(p, kp);
			staged_flush(lc, p, false);
		}
		if (meta->src.family != 0 && !endpoint_eq(&meta->src, &p->endpoint))
			wg_peer_endpoint_set(p, &meta->src);
		p->st.rx_bytes += msglen;
		p->st.rx_pkts++;
		p->st.last_rx_ns = now;
		lc->stats.decrypted++;
		if (ops[i].len == 0) { /* keepalive */
			rte_pktmbuf_free(m);
			continue;
		}
		p->st.last_data_rx_ns = now;
		rte_pktmbuf_adj(m, WG_MSG_DATA_HDR_LEN);
		rte_pktmbuf_trim(m, WG_AEAD_TAG_LEN);
		fam = dp_ip_check(m);
		if (fam <= 0) {
			dp_drop(lc, m, DP_DROP_WG_INNER_MALFORMED);
			continue;
		}
		/* cryptokey routing: the inner source must be one of its allowed IPs */
		src = rte_pktmbuf_mtod(m, const uint8_t *) +
		      (fam == AF_INET ? offsetof(struct rte_ipv4_hdr, src_addr)
				      : offsetof(struct rte_ipv6_hdr, src_addr));
		allowed_nh = dp_fib_lookup(dp_eng->wg[p->wg_if].allowed, fam, src);
		if (allowed_nh != dp_nh_make(DP_NH_PEER, p->id)) {
			dp_drop(lc, m, DP_DROP_WG_ALLOWED_IPS);
			continue;
		}
		meta->family = (uint8_t)fam;
		meta->peer = p->id;
		meta->wg_if = p->wg_if;
		meta->in_port = UINT16_MAX;
		inner[ninner++] = m;
	}
	if (ninner > 0)
		dp_route(lc, inner, ninner, true);
}

void
wg_encrypt_enqueue(struct dp_lcore *lc, struct rte_mbuf *m)
{
	uint32_t id = dp_meta(m)->peer;

	if (lc->is_main || dp_peer_owner(id) != lc->index) {
		dp_handoff(lc, dp_peer_owner(id), m, DP_ACT_ENCRYPT);
		return;
	}
	if (lc->n_enc == DP_MAX_BURST)
		wg_encrypt_flush(lc);
	lc->enc[lc->n_enc++] = m;
}

/* Choose the outer source address on the port toward ep: an address of
 * the port in the same subnet as the next hop if there is one, else the
 * first of the family. */
static const uint8_t *
src_addr_for(uint16_t port, int family, const uint8_t *dst)
{
	const struct dp_port *p = &dp_eng->ports[port];
	const uint8_t *first = NULL;

	for (unsigned i = 0; i < p->n_addrs; i++) {
		const struct dp_addr *a = &p->addrs[i];
		unsigned bits = a->plen, k;

		if (a->family != family)
			continue;
		if (first == NULL)
			first = a->addr;
		for (k = 0; k < bits / 8; k++)
			if (a->addr[k] != dst[k])
				break;
		if (k == bits / 8 &&
		    (bits % 8 == 0 || ((a->addr[k] ^ dst[k]) & (0xff00 >> (bits % 8))) == 0))
			return a->addr;
	}
	return first;
}

void
wg_send_udp(struct dp_lcore *lc, struct rte_mbuf *m, uint16_t wg_if, const struct dp_endpoint *ep)
{
	uint32_t nh = dp_fib_lookup(dp_eng->fib, ep->family, ep->addr);
	uint16_t port;
	const uint8_t *src;
	const uint8_t *gw = ep->addr;
	uint32_t plen = rte_pktmbuf_pkt_len(m);
	struct rte_udp_hdr *udp;

	switch (dp_nh_kind(nh)) {
	case DP_NH_ADJ:
		port = dp_eng->adj[dp_nh_index(nh)].port;
		gw = dp_eng->adj[dp_nh_index(nh)].addr;
		break;
	case DP_NH_CONNECTED:
		port = (uint16_t)dp_nh_index(nh);
		break;
	default: /* no tunnel inside a tunnel, nor to ourselves */
		dp_drop(lc, m, DP_DROP_IP_NO_ROUTE);
		return;
	}
	src = src_addr_for(port, ep->family, gw);
	if (src == NULL) {
		dp_drop(lc, m, DP_DROP_IP_NO_ROUTE);
		return;
	}
	udp = (struct rte_udp_hdr *)rte_pktmbuf_prepend(m, sizeof(*udp));
	if (udp == NULL) {
		dp_drop(lc, m, DP_DROP_NO_MBUF);
		return;
	}
	udp->src_port = dp_eng->wg[wg_if].listen_port;
	udp->dst_port = ep->port;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(plen + sizeof(*udp)));
	udp->dgram_cksum = 0;
	if (ep->family == AF_INET) {
		struct rte_ipv4_hdr *ip =
			(struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, sizeof(*ip));

		if (ip == NULL) {
			dp_drop(lc, m, DP_DROP_NO_MBUF);
			return;
		}
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = 0;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(plen + sizeof(*udp) + sizeof(*ip)));
		ip->packet_id = 0;
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		memcpy(&ip->src_addr, src, 4);
		memcpy(&ip->dst_addr, ep->addr, 4);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else {
		struct rte_ipv6_hdr *ip6 =
			(struct rte_ipv6_hdr *)rte_pktmbuf_prepend(m, sizeof(*ip6));

		if (ip6 == NULL) {
			dp_drop(lc, m, DP_DROP_NO_MBUF);
			return;
		}
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(plen + sizeof(*udp)));
		ip6->proto = IPPROTO_UDP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, src, 16);
		memcpy(ip6->dst_addr, ep->addr, 16);
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip6, udp); /* mandatory in IPv6 */
	}
	dp_output(lc, m, nh, ep->family, ep->addr);
}

void
wg_encrypt_flush(struct dp_lcore *lc)
{
	struct cr_aead_op ops[DP_MAX_BURST];
	struct rte_mbuf *live[DP_MAX_BURST];
	struct wg_peer *peers[DP_MAX_BURST];
	unsigned nlive = 0, n = lc->n_enc;
	uint64_t now;

	if (n == 0) /* every loop of an idle worker comes here */
		return;
	now = dp_now_ns();
	lc->n_enc = 0;
	prefetch_peers(lc->enc, n);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = lc->enc[i];
		struct wg_peer *p = &dp_eng->peers[dp_meta(m)->peer];
		struct wg_keypair *kp = p->current;
		uint32_t len = rte_pktmbuf_pkt_len(m), padded;
		struct cr_wg_msg_data_hdr *h;
		uint16_t mtu = dp_eng->wg[p->wg_if].mtu;

		if (!p->in_use) {
			dp_drop(lc, m, DP_DROP_WG_NO_KEYPAIR);
			continue;
		}
		if (len > mtu) {
			dp_meta(m)->out_port = UINT16_MAX;
			dp_meta(m)->reason = DP_CTL_TOO_BIG;
			dp_to_main(lc, m, DP_ACT_CONTROL); /* fragmentation needed */
			continue;
		}
		if (!kp_can_send(kp, now)) {
			staged_push(lc, p, m);
			want_handshake(p);
			continue;
		}
		if (p->endpoint.family == 0) {
			dp_drop(lc, m, DP_DROP_WG_NO_ENDPOINT);
			continue;
		}
		/* pad to 16, but not past the tunnel MTU (paper §5.4.6) */
		padded = (len + WG_MSG_PADDING - 1) & ~(uint32_t)(WG_MSG_PADDING - 1);
		if (padded > mtu)
			padded = len > mtu ? len : mtu;
		if (rte_pktmbuf_append(m, (uint16_t)(padded - len + WG_AEAD_TAG_LEN)) == NULL ||
		    (h = (struct cr_wg_msg_data_hdr *)rte_pktmbuf_prepend(m, sizeof(*h))) == NULL) {
			dp_drop(lc, m, DP_DROP_NO_MBUF);
			continue;
		}
		memset((uint8_t *)(h + 1) + len, 0, padded - len);
		h->type = rte_cpu_to_le_32(WG_MSG_DATA);
		h->receiver = rte_cpu_to_le_32(kp->remote_index);
		h->counter = rte_cpu_to_le_64(kp->send_counter);
		ops[nlive] = (struct cr_aead_op){
			.key = kp->send_key,
			.src = (const uint8_t *)(h + 1),
			.dst = (uint8_t *)(h + 1),
			.counter = kp->send_counter,
			.len = padded,
		};
		kp->send_counter++;
		if (kp->initiator && (kp->send_counter > WG_REKEY_AFTER_MESSAGES ||
				      dp_ns_since(now, kp->birth_ns) >
					      (uint64_t)WG_REKEY_AFTER_TIME_S * 1000000000ULL))
			want_handshake(p);
		peers[nlive] = p;
		live[nlive++] = m;
	}
	if (nlive == 0)
		return;
	cr_aead_burst_seal(lc->aead, ops, nlive);
	for (unsigned i = 0; i < nlive; i++) {
		struct rte_mbuf *m = live[i];
		struct wg_peer *p = peers[i];
		struct dp_endpoint ep;

		p->st.tx_bytes += rte_pktmbuf_pkt_len(m);
		p->st.tx_pkts++;
		p->st.last_tx_ns = now;
		if (ops[i].len > 0)
			p->st.last_data_tx_ns = now;
		lc->stats.encrypted++;
		wg_peer_endpoint_get(p, &ep);
		wg_send_udp(lc, m, p->wg_if, &ep);
	}
}

static void
send_keepalive(struct dp_lcore *lc, struct wg_peer *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp_eng->mp);

	if (m == NULL) {
		lc->stats.drops[DP_DROP_NO_MBUF]++;
		return;
	}
	memset(dp_meta(m), 0, sizeof(struct dp_meta));
	dp_meta(m)->peer = p->id;
	wg_encrypt_enqueue(lc, m);
}

static void
staged_flush(struct dp_lcore *lc, struct wg_peer *p, bool keepalive_if_empty)
{
	struct rte_mbuf *m = p->staged_head;

	if (m == NULL) {
		if (keepalive_if_empty)
			send_keepalive(lc, p);
		return;
	}
	p->staged_head = p->staged_tail = NULL;
	p->staged_count = 0;
	while (m != NULL) {
		struct rte_mbuf *next = dp_meta(m)->staged_next;

		wg_encrypt_enqueue(lc, m);
		m = next;
	}
}

void
wg_worker_event(struct dp_lcore *lc, const struct dp_event *ev)
{
	struct wg_peer *p = &dp_eng->peers[ev->peer];

	switch (ev->type) {
	case DP_EV_KEYPAIR_NEW:
		if (ev->kp->initiator) {
			kp_retire(p->previous);
			p->previous = p->current;
			p->current = ev->kp;
			stamp_current(p);
			/* send what waited, or a keepalive to confirm the session */
			staged_flush(lc, p, true);
		} else {
			kp_retire(p->next);
			p->next = ev->kp;
		}
		__atomic_store_n(&p->st.want_handshake, false, __ATOMIC_RELAXED);
		break;
	case DP_EV_KEEPALIVE:
		if (kp_can_send(p->current, dp_now_ns()))
			send_keepalive(lc, p);
		break;
	case DP_EV_PEER_FLUSH:
	case DP_EV_KEYS_ZERO: {
		struct rte_mbuf *m = p->staged_head;

		kp_retire(p->previous);
		kp_retire(p->current);
		kp_retire(p->next);
		p->previous = p->current = p->next = NULL;
		stamp_current(p);
		while (ev->type == DP_EV_PEER_FLUSH && m != NULL) {
			struct rte_mbuf *next = dp_meta(m)->staged_next;

			dp_drop(lc, m, DP_DROP_WG_NO_KEYPAIR);
			m = next;
		}
		if (ev->type == DP_EV_PEER_FLUSH) {
			p->staged_head = p->staged_tail = NULL;
			p->staged_count = 0;
			dp_main_event(DP_MEV_PEER_RELEASED, p->id, NULL);
		}
		break;
	}
	default:
		break;
	}
	wg_encrypt_flush(lc);
}
