/*
 * wg_handshake.c — handshakes and timers (see wg_handshake.h). Main lcore
 * only: it alone touches a peer's Noise state, cookie maker, timestamps and
 * handshake bookkeeping; workers learn of new keypairs by an event, and the
 * main lcore learns of traffic from the stamps the workers write.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <sodium.h>

#include "ratelimit.h"
#include "tai64n.h"
#include "wg_data.h"
#include "wg_handshake.h"
#include "wg_peer.h"

#define NS (1000000000ULL)

/* source address and port, as the cookie binds them */
static size_t
src_bytes(const struct dp_endpoint *ep, uint8_t out[18])
{
	size_t alen = ep->family == AF_INET ? 4 : 16;

	memcpy(out, ep->addr, alen);
	memcpy(out + alen, &ep->port, 2);
	return alen + 2;
}

static void
send_msg(struct dp_lcore *lc, struct wg_peer *p, uint16_t wg_if, const void *msg, size_t len,
	 const struct dp_endpoint *ep)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp_eng->mp);
	void *d;

	if (m == NULL) {
		lc->stats.drops[DP_DROP_NO_MBUF]++;
		return;
	}
	memset(dp_meta(m), 0, sizeof(struct dp_meta));
	d = rte_pktmbuf_append(m, (uint16_t)len);
	memcpy(d, msg, len);
	if (p != NULL) {
		/* wg(8) counts handshake bytes in a peer's transfer too */
		p->hs_tx_bytes += len;
		p->st_tx_stamp_ns = dp_now_ns();
	}
	lc->stats.handshakes_tx++;
	wg_send_udp(lc, m, wg_if, ep);
}

static bool
under_load(uint64_t now)
{
	/* Linux: more than 1/8 of the handshake queue waiting means load; it
	 * stays "under load" for a second after that */
	if (rte_ring_count(dp_eng->main_ring) > DP_MAIN_RING / 8)
		dp_eng->under_load_until_ns = now + NS;
	return now < dp_eng->under_load_until_ns;
}

/* Hand a completed keypair to the peer's owner. */
static void
keypair_ready(struct dp_lcore *lc, struct wg_peer *p, struct wg_keypair *kp,
	      const struct cr_wg_keypair *keys, uint32_t remote_index, bool initiator, uint64_t now)
{
	memcpy(kp->send_key, keys->send, WG_KEY_LEN);
	memcpy(kp->recv_key, keys->recv, WG_KEY_LEN);
	kp->remote_index = remote_index;
	kp->initiator = initiator;
	kp->confirmed = initiator;
	kp->birth_ns = now;
	p->last_handshake_ns = (uint64_t)time(NULL) * NS;
	p->last_handshake_mono_ns = now;
	p->hs_attempts = 0;
	if (!dp_worker_event(dp_peer_owner(p->id), DP_EV_KEYPAIR_NEW, p->id, kp)) {
		lc->stats.drops[DP_DROP_HANDOFF_RING_FULL]++;
		wg_kp_release(dp_eng, kp);
	}
}

/* Looks the initiator up once its static key is known: the precomputed
 * static-static DH for the handshake, the peer for the caller. */
struct ss_lookup {
	const struct dp_wg_if *wif;
	struct wg_peer *peer;         /* NULL: unknown (or not looked up yet) */
};

static int
peer_ss(void *ctx, const uint8_t remote_s[WG_KEY_LEN], uint8_t out[WG_KEY_LEN])
{
	struct ss_lookup *l = ctx;

	l->peer = wg_peer_find(dp_eng, l->wif->index, remote_s);
	if (l->peer == NULL || !l->peer->ss_valid)
		return -ENOENT;
	memcpy(out, l->peer->ss, WG_KEY_LEN);
	return 0;
}

static void
consume_initiation(struct dp_lcore *lc, struct dp_wg_if *wif, const struct dp_meta *meta,
		   const struct cr_wg_msg_initiation *msg, uint64_t now)
{
	struct cr_noise_hs hs;
	struct cr_wg_msg_response resp;
	struct cr_wg_keypair keys;
	struct wg_keypair *kp;
	struct wg_peer *p;
	uint8_t ts[WG_TAI64N_LEN];
	uint32_t sender;
	struct ss_lookup look = {.wif = wif};

	/* on success the lookup has run: the static key decrypted before ss */
	if (cr_wg_initiation_consume_ss(&hs, &wif->self, msg, &sender, ts, peer_ss, &look) != 0) {
		lc->stats.drops[DP_DROP_WG_HS_INVALID]++;
		return;
	}
	p = look.peer;
	if (p == NULL) {
		lc->stats.drops[DP_DROP_WG_HS_UNKNOWN_PEER]++;
		goto out;
	}
	if (!cr_wg_timestamp_is_newer(ts, p->last_tai64n)) {
		lc->stats.drops[DP_DROP_WG_HS_REPLAY]++;
		goto out;
	}
	if (p->last_initiation_rx_ns != 0 &&
	    now - p->last_initiation_rx_ns < NS / WG_INITIATIONS_PER_SECOND) {
		lc->stats.drops[DP_DROP_WG_HS_FLOOD]++;
		goto out;
	}
	memcpy(p->last_tai64n, ts, sizeof(ts));
	p->last_initiation_rx_ns = now;
	p->hs_rx_bytes += WG_MSG_INITIATION_LEN;
	wg_peer_endpoint_set(p, &meta->src); /* authenticated: the peer is there */
	kp = wg_kp_alloc(dp_eng, p);
	if (kp == NULL) {
		lc->stats.drops[DP_DROP_WG_NO_KEYPAIR]++;
		goto out;
	}
	if (cr_wg_response_create(&hs, p->psk, kp->local_index, sender, &resp) != 0 ||
	    cr_wg_keypair_derive(&hs, 0, &keys) != 0) {
		lc->stats.drops[DP_DROP_WG_HS_INVALID]++;
		wg_kp_release(dp_eng, kp);
		goto out;
	}
	cr_cookie_add_macs(&p->cookie, (uint8_t *)&resp, sizeof(resp), now);
	/* the owner learns of the keypair before the peer can use it */
	keypair_ready(lc, p, kp, &keys, sender, false, now);
	send_msg(lc, p, wif->index, &resp, sizeof(resp), &meta->src);
	sodium_memzero(&keys, sizeof(keys));
out:
	cr_noise_hs_clear(&hs);
}

static void
consume_response(struct dp_lcore *lc, struct dp_wg_if *wif, const struct dp_meta *meta,
		 const struct cr_wg_msg_response *msg, uint64_t now)
{
	uint32_t idx = rte_le_to_cpu_32(msg->receiver);
	struct wg_keypair *kp = dp_eng->kp_table[idx & dp_eng->kp_mask];
	struct cr_wg_keypair keys;
	struct wg_peer *p;

	if (kp == NULL || kp->local_index != idx) {
		lc->stats.drops[DP_DROP_WG_HS_INVALID]++;
		return;
	}
	p = &dp_eng->peers[kp->peer_id];
	if (!p->in_use || p->hs_local_index != idx || p->wg_if != wif->index ||
	    p->hs.state != CR_NOISE_INITIATION_SENT) {
		lc->stats.drops[DP_DROP_WG_HS_INVALID]++;
		return;
	}
	if (cr_wg_response_consume(&p->hs, &wif->self, p->psk, msg) != 0 ||
	    cr_wg_keypair_derive(&p->hs, 1, &keys) != 0) {
		lc->stats.drops[DP_DROP_WG_HS_INVALID]++;
		return;
	}
	p->hs_local_index = 0;
	p->hs_rx_bytes += WG_MSG_RESPONSE_LEN;
	wg_peer_endpoint_set(p, &meta->src);
	keypair_ready(lc, p, kp, &keys, rte_le_to_cpu_32(msg->sender), true, now);
	sodium_memzero(&keys, sizeof(keys));
}

static void
consume_cookie(struct dp_lcore *lc, const struct cr_wg_msg_cookie *msg, uint64_t now)
{
	uint32_t idx = rte_le_to_cpu_32(msg->receiver);
	struct wg_keypair *kp = dp_eng->kp_table[idx & dp_eng->kp_mask];
	struct wg_peer *p;

	if (kp == NULL || kp->local_index != idx) {
		lc->stats.drops[DP_DROP_WG_HS_INVALID]++;
		return;
	}
	p = &dp_eng->peers[kp->peer_id];
	if (!p->in_use || cr_cookie_reply_consume(&p->cookie, msg, now) != 0)
		lc->stats.drops[DP_DROP_WG_HS_INVALID]++;
}

void
wg_handshake_input(struct dp_lcore *lc, struct rte_mbuf *m)
{
	const uint8_t *msg = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	struct dp_meta meta = *dp_meta(m);
	struct dp_wg_if *wif = &dp_eng->wg[meta.wg_if];
	uint64_t now = dp_now_ns();
	uint8_t src[18];
	size_t srclen = src_bytes(&meta.src, src);

	if (m->nb_segs != 1 || wg_handshake_len(msg, len) != 0 || !wif->up) {
		dp_drop(lc, m, DP_DROP_WG_HS_INVALID);
		return;
	}
	if (msg[0] == WG_MSG_COOKIE) {
		consume_cookie(lc, (const struct cr_wg_msg_cookie *)msg, now);
		rte_pktmbuf_free(m);
		return;
	}
	bool load = under_load(now);

	switch (cr_cookie_validate(&wif->cookie, msg, len, src, srclen, load, now)) {
	case CR_MAC_VALID:
		break;
	case CR_MAC_NEED_COOKIE: {
		struct cr_wg_msg_cookie reply;
		uint32_t sender;

		memcpy(&sender, msg + 4, 4);
		if (cr_cookie_reply_create(&wif->cookie, &reply, rte_le_to_cpu_32(sender), msg,
					   len, src, srclen, now) == 0) {
			lc->stats.cookies_tx++;
			send_msg(lc, NULL, wif->index, &reply, sizeof(reply), &meta.src);
		}
		rte_pktmbuf_free(m);
		return;
	}
	default:
		dp_drop(lc, m, DP_DROP_WG_HS_INVALID);
		return;
	}
	if (load && !cr_ratelimit_allow(dp_eng->ratelimit, meta.src.family, meta.src.addr, now)) {
		dp_drop(lc, m, DP_DROP_WG_HS_RATELIMIT);
		return;
	}
	if (msg[0] == WG_MSG_INITIATION)
		consume_initiation(lc, wif, &meta, (const struct cr_wg_msg_initiation *)msg, now);
	else
		consume_response(lc, wif, &meta, (const struct cr_wg_msg_response *)msg, now);
	rte_pktmbuf_free(m);
}

void
wg_handshake_initiate(struct dp_lcore *lc, struct wg_peer *p, bool retry)
{
	struct dp_wg_if *wif = &dp_eng->wg[p->wg_if];
	struct cr_wg_msg_initiation msg;
	struct dp_endpoint ep;
	struct wg_keypair *kp;
	uint8_t ts[WG_TAI64N_LEN];
	uint64_t now = dp_now_ns();

	if (!p->in_use || !wif->up)
		return;
	if (!retry) {
		if (p->hs_sent_ns != 0 && now - p->hs_sent_ns < (uint64_t)WG_REKEY_TIMEOUT_S * NS)
			return;
		p->hs_attempts = 0;
		p->hs_attempt_start_ns = now;
	}
	wg_peer_endpoint_get(p, &ep);
	if (ep.family == 0)
		return; /* nowhere to send it: the peer has to come to us */
	/* a new attempt takes a new index; the old one is let go */
	if (p->hs_local_index != 0) {
		kp = dp_eng->kp_table[p->hs_local_index & dp_eng->kp_mask];
		if (kp != NULL && kp->local_index == p->hs_local_index)
			wg_kp_release(dp_eng, kp);
		p->hs_local_index = 0;
	}
	kp = wg_kp_alloc(dp_eng, p);
	if (kp == NULL) {
		lc->stats.drops[DP_DROP_WG_NO_KEYPAIR]++;
		return;
	}
	cr_tai64n_now(ts);
	if (cr_wg_initiation_create(&p->hs, &wif->self, p->public_key, kp->local_index, ts, &msg) !=
	    0) {
		wg_kp_release(dp_eng, kp);
		return;
	}
	p->hs_local_index = kp->local_index;
	cr_cookie_add_macs(&p->cookie, (uint8_t *)&msg, sizeof(msg), now);
	p->hs_sent_ns = now;
	p->hs_attempts++;
	/* retransmit after REKEY_TIMEOUT plus up to 1/3 s of jitter */
	p->hs_retry_at_ns =
		now + (uint64_t)WG_REKEY_TIMEOUT_S * NS +
		(uint64_t)randombytes_uniform(WG_REKEY_TIMEOUT_JITTER_MS) * 1000000ULL;
	send_msg(lc, p, p->wg_if, &msg, sizeof(msg), &ep);
}

/* The timers of one peer, from its stamps (Linux timers.c semantics). */
static void
peer_timers(struct dp_lcore *lc, struct wg_peer *p, uint64_t now)
{
	const struct wg_peer_stamps *st = &p->st;
	uint64_t last_rx = __atomic_load_n(&st->last_rx_ns, __ATOMIC_RELAXED);
	uint64_t last_tx = RTE_MAX(__atomic_load_n(&st->last_tx_ns, __ATOMIC_RELAXED),
				   p->st_tx_stamp_ns);
	uint64_t data_rx = __atomic_load_n(&st->last_data_rx_ns, __ATOMIC_RELAXED);
	uint64_t data_tx = __atomic_load_n(&st->last_data_tx_ns, __ATOMIC_RELAXED);
	uint64_t birth = __atomic_load_n(&st->cur_birth_ns, __ATOMIC_RELAXED);

	/* a worker has packets and no usable keypair */
	if (__atomic_load_n(&st->want_handshake, __ATOMIC_RELAXED) && p->hs_local_index == 0)
		wg_handshake_initiate(lc, p, false);

	/* retransmit_handshake: no response after REKEY_TIMEOUT (+ jitter) */
	if (p->hs_local_index != 0 && now >= p->hs_retry_at_ns) {
		if (p->hs_attempts > WG_MAX_TIMER_HANDSHAKES) {
			/* give up (REKEY_ATTEMPT_TIME): forget the attempt */
			struct wg_keypair *kp = dp_eng->kp_table[p->hs_local_index & dp_eng->kp_mask];

			if (kp != NULL && kp->local_index == p->hs_local_index)
				wg_kp_release(dp_eng, kp);
			p->hs_local_index = 0;
			cr_noise_hs_clear(&p->hs);
			__atomic_store_n(&p->st.want_handshake, false, __ATOMIC_RELAXED);
		} else {
			wg_handshake_initiate(lc, p, true);
		}
	}

	/* send_keepalive: data came in and we sent nothing back for 10 s */
	if (data_rx > last_tx &&
	    dp_ns_since(now, data_rx) >= (uint64_t)WG_KEEPALIVE_TIMEOUT_S * NS &&
	    p->keepalive_req_ns < data_rx) {
		p->keepalive_req_ns = now;
		dp_worker_event(dp_peer_owner(p->id), DP_EV_KEEPALIVE, p->id, NULL);
	}

	/* new_handshake: we sent data and heard nothing for KEEPALIVE + REKEY_TIMEOUT */
	if (data_tx > last_rx &&
	    dp_ns_since(now, data_tx) >= (uint64_t)(WG_KEEPALIVE_TIMEOUT_S + WG_REKEY_TIMEOUT_S) * NS &&
	    p->hs_local_index == 0 && p->new_hs_req_ns < data_tx) {
		p->new_hs_req_ns = now;
		wg_handshake_initiate(lc, p, false);
	}

	/* rekey on receive: the initiator's keys near REJECT_AFTER_TIME */
	if (birth != 0 && st->cur_initiator && data_rx > birth &&
	    dp_ns_since(now, birth) >= (uint64_t)(WG_REJECT_AFTER_TIME_S - WG_KEEPALIVE_TIMEOUT_S -
					    WG_REKEY_TIMEOUT_S) * NS &&
	    p->hs_local_index == 0)
		wg_handshake_initiate(lc, p, false);

	/* persistent keepalive */
	if (p->persistent_keepalive != 0 &&
	    dp_ns_since(now, RTE_MAX(last_tx, p->keepalive_req_ns)) >=
		    (uint64_t)p->persistent_keepalive * NS) {
		p->keepalive_req_ns = now;
		if (birth != 0)
			dp_worker_event(dp_peer_owner(p->id), DP_EV_KEEPALIVE, p->id, NULL);
		else
			wg_handshake_initiate(lc, p, false);
	}

	/* zero_key_material: nothing new for 3 x REJECT_AFTER_TIME */
	if (p->last_handshake_mono_ns != 0 &&
	    dp_ns_since(now, p->last_handshake_mono_ns) >= (uint64_t)WG_KEY_ZERO_AFTER_S * NS) {
		p->last_handshake_mono_ns = 0;
		dp_worker_event(dp_peer_owner(p->id), DP_EV_KEYS_ZERO, p->id, NULL);
	}
}

void
wg_timers_run(struct dp_lcore *lc, uint64_t now)
{
	static uint32_t cursor;
	static uint64_t slice_ns, rl_gc_ns;
	uint32_t n = dp_eng->max_peers, per;

	/* the rate limiter forgets sources idle for a second (Linux: its gc
	 * work, every second); without this its table fills for good and,
	 * under load, every new source is refused */
	if (now - rl_gc_ns >= (uint64_t)WG_RATELIMIT_GC_INTERVAL_S * NS) {
		rl_gc_ns = now;
		cr_ratelimit_gc(dp_eng->ratelimit, now);
	}

	/* every peer about 10 times a second, in slices */
	if (now - slice_ns < NS / 1000)
		return;
	slice_ns = now;
	per = n / 100 + 1;
	for (uint32_t i = 0; i < per; i++) {
		struct wg_peer *p = &dp_eng->peers[cursor];

		if (p->in_use)
			peer_timers(lc, p, now);
		if (++cursor >= n)
			cursor = 0;
	}
}
