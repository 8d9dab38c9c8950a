/*
 * engine.c — building the engine from its config, the lcore loops, and the
 * rings between lcores. Workers: rx burst -> classify/route -> decrypt /
 * encrypt -> tx burst with a drain timer, then their handoff ring and
 * events, then a quiescent-state report. Main lcore: handshakes, ARP/ND,
 * control packets, the TAP, timers, keypair reclamation, the engine socket.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <sodium.h>

#include "engine_sock.h"
#include "exception.h"
#include "fib.h"
#include "fwd.h"
#include "icmp.h"
#include "neigh.h"
#include "port.h"
#include "ratelimit.h"
#include "wg_data.h"
#include "wg_handshake.h"
#include "wg_peer.h"

struct dp_engine *dp_eng;

bool
dp_main_event(uint32_t type, uint32_t peer, struct wg_keypair *kp)
{
	struct dp_event ev = {.type = type, .peer = peer, .kp = kp};

	return rte_ring_enqueue_elem(dp_eng->main_events, &ev, sizeof(ev)) == 0;
}

bool
dp_worker_event(unsigned worker, uint32_t type, uint32_t peer, struct wg_keypair *kp)
{
	struct dp_event ev = {.type = type, .peer = peer, .kp = kp};

	return rte_ring_enqueue_elem(dp_eng->lcores[worker].events, &ev, sizeof(ev)) == 0;
}

void
dp_to_main(struct dp_lcore *lc, struct rte_mbuf *m, enum dp_action act)
{
	dp_meta(m)->action = (uint8_t)act;
	if (rte_ring_enqueue(dp_eng->main_ring, m) != 0) {
		dp_drop(lc, m, DP_DROP_CONTROL_RING_FULL);
		return;
	}
	lc->stats.to_main++;
}

static void
tx_error(struct rte_mbuf **unsent, uint16_t count, void *arg)
{
	struct dp_lcore *lc = arg;

	lc->stats.drops[DP_DROP_TX_FULL] += count;
	lc->stats.tx_pkts -= count;
	for (uint16_t i = 0; i < count; i++) {
		lc->stats.tx_bytes -= rte_pktmbuf_pkt_len(unsent[i]);
		rte_pktmbuf_free(unsent[i]);
	}
}

void
dp_tx(struct dp_lcore *lc, uint16_t port, struct rte_mbuf *m)
{
	lc->stats.tx_pkts++;
	lc->stats.tx_bytes += rte_pktmbuf_pkt_len(m);
	rte_eth_tx_buffer(dp_eng->ports[port].port_id, lc->txq, lc->txb[port], m);
}

void
dp_tx_flush(struct dp_lcore *lc)
{
	for (unsigned p = 0; p < dp_eng->n_ports; p++)
		rte_eth_tx_buffer_flush(dp_eng->ports[p].port_id, lc->txq, lc->txb[p]);
}

void
dp_engine_stop(void)
{
	if (dp_eng != NULL)
		atomic_store(&dp_eng->quit, true);
}

static void
handoff_in(struct dp_lcore *lc)
{
	struct rte_mbuf *pkts[DP_MAX_BURST], *dec[DP_MAX_BURST];
	unsigned n = rte_ring_dequeue_burst(lc->handoff, (void **)pkts, dp_eng->burst, NULL);
	unsigned ndec = 0;

	lc->stats.handoff_in += n;
	for (unsigned i = 0; i < n; i++) {
		if (dp_meta(pkts[i])->action == DP_ACT_DECRYPT)
			dec[ndec++] = pkts[i];
		else
			wg_encrypt_enqueue(lc, pkts[i]);
	}
	if (ndec > 0)
		wg_decrypt_burst(lc, dec, ndec);
	wg_encrypt_flush(lc);
}

void
dp_worker_events_drain(struct dp_lcore *lc)
{
	if (!lc->is_main && rte_ring_count(lc->events) > 0) {
		struct dp_event ev[64];
		unsigned n = rte_ring_dequeue_burst_elem(lc->events, ev, sizeof(ev[0]), 64, NULL);

		for (unsigned i = 0; i < n; i++)
			wg_worker_event(lc, &ev[i]);
	}
}

static void
events_in(struct dp_lcore *lc)
{
	struct dp_event ev[64];
	unsigned n = rte_ring_dequeue_burst_elem(lc->events, ev, sizeof(ev[0]), 64, NULL);

	for (unsigned i = 0; i < n; i++)
		wg_worker_event(lc, &ev[i]);
}

int
dp_worker_loop(void *arg)
{
	struct dp_lcore *lc = arg;
	struct rte_mbuf *pkts[DP_MAX_BURST];
	uint64_t drain = (rte_get_tsc_hz() + 1000000 - 1) / 1000000 * DP_DRAIN_US;

	rte_rcu_qsbr_thread_register(dp_eng->qs, lc->index);
	rte_rcu_qsbr_thread_online(dp_eng->qs, lc->index);
	while (!atomic_load_explicit(&dp_eng->quit, memory_order_relaxed)) {
		uint64_t now;
		bool busy = false;

		events_in(lc);
		for (unsigned q = 0; q < lc->n_rxq; q++) {
			uint16_t port = lc->rxq_port[q];
			uint16_t n = rte_eth_rx_burst(dp_eng->ports[port].port_id, lc->rxq_queue[q],
						      pkts, (uint16_t)dp_eng->burst);

			if (n > 0)
				dp_rx_process(lc, port, pkts, n);
			busy |= n == dp_eng->burst;
		}
		handoff_in(lc);
		now = rte_rdtsc();
		/* not saturated: send what is buffered now rather than wait for a
		 * full burst or the drain timer (latency); under load the tx
		 * buffers fill and go out in full bursts anyway */
		if (!busy || now - lc->drain_tsc > drain) {
			dp_tx_flush(lc);
			lc->drain_tsc = now;
		}
		lc->stats.loops++;
		rte_rcu_qsbr_quiescent(dp_eng->qs, lc->index);
	}
	rte_rcu_qsbr_thread_offline(dp_eng->qs, lc->index);
	rte_rcu_qsbr_thread_unregister(dp_eng->qs, lc->index);
	dp_tx_flush(lc);
	return 0;
}

/* Main lcore: what workers sent us. */
static void
main_ring_in(struct dp_lcore *lc)
{
	struct rte_mbuf *pkts[64];
	unsigned n = rte_ring_dequeue_burst(dp_eng->main_ring, (void **)pkts, 64, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *meta = dp_meta(m);

		switch (meta->action) {
		case DP_ACT_HANDSHAKE:
			wg_handshake_input(lc, m);
			break;
		case DP_ACT_NEIGH_WAIT: {
			/* the neighbour module fills in the addresses, we the type */
			uint8_t v = *rte_pktmbuf_mtod(m, uint8_t *) >> 4;
			struct rte_ether_hdr *eth =
				(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));

			if (eth == NULL) {
				dp_drop(lc, m, DP_DROP_NO_MBUF);
				break;
			}
			eth->ether_type = rte_cpu_to_be_16(v == 6 ? RTE_ETHER_TYPE_IPV6
								   : RTE_ETHER_TYPE_IPV4);
			dp_neigh_resolve(dp_eng->neigh, meta->out_port, meta->family, meta->nh_addr,
					 m);
			break;
		}
		case DP_ACT_CONTROL:
		default:
			dp_icmp_control(lc, m);
			break;
		}
	}
}

static void
main_events_in(struct dp_lcore *lc)
{
	struct dp_event ev[64];
	unsigned n = rte_ring_dequeue_burst_elem(dp_eng->main_events, ev, sizeof(ev[0]), 64, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct wg_peer *p = &dp_eng->peers[ev[i].peer];

		switch (ev[i].type) {
		case DP_MEV_NEED_HANDSHAKE:
			if (p->in_use && p->hs_local_index == 0)
				wg_handshake_initiate(lc, p, false);
			break;
		case DP_MEV_KEYPAIR_RETIRED:
			wg_kp_release(dp_eng, ev[i].kp);
			break;
		case DP_MEV_PEER_RELEASED:
			wg_peer_id_release(dp_eng, ev[i].peer);
			break;
		default:
			break;
		}
	}
}

static void
main_neigh_tx(void *ctx, uint16_t port, struct rte_mbuf *m)
{
	dp_tx(ctx, port, m);
}

int
dp_main_loop(struct dp_engine *e)
{
	struct dp_lcore *lc = dp_main_lcore_ctx();
	uint64_t last_flush = 0;

	dp_neigh_timer(e->neigh, dp_now_ns()); /* its clock, before any traffic */

	while (!atomic_load_explicit(&e->quit, memory_order_relaxed)) {
		uint64_t now = dp_now_ns();

		main_events_in(lc);
		main_ring_in(lc);
		dp_exception_poll(lc);
		wg_timers_run(lc, now);
		dp_neigh_timer(e->neigh, now);
		wg_kp_reclaim(e, false);
		dp_engine_sock_poll(now);
		if (now - last_flush > DP_DRAIN_US * 1000ULL) {
			dp_tx_flush(lc);
			last_flush = now;
		}
		lc->stats.loops++;
		/* the main lcore is not a poller of NICs: yield a little when idle */
		if (rte_ring_count(e->main_ring) == 0 && rte_ring_count(e->main_events) == 0)
			usleep(50);
	}
	dp_tx_flush(lc);
	return 0;
}

static int
make_ring(struct rte_ring **r, const char *what, unsigned i, unsigned size, unsigned esize,
	  unsigned flags)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "g44_%s_%u", what, i);
	*r = esize ? rte_ring_create_elem(name, esize, size, (int)rte_socket_id(), flags)
		   : rte_ring_create(name, size, (int)rte_socket_id(), flags);
	return *r == NULL ? -rte_errno : 0;
}

static int
lcores_init(struct dp_engine *e, char *err, size_t errlen)
{
	unsigned lcore_id, w = 0;
	size_t qsz;
	int rc;

	e->n_workers = rte_lcore_count() - 1;
	if (e->cfg.workers >= 0 && (unsigned)e->cfg.workers < e->n_workers)
		e->n_workers = (unsigned)e->cfg.workers;
	if (e->n_workers == 0) {
		snprintf(err, errlen, "need at least one worker lcore (EAL -l gives %u lcore(s))",
			 rte_lcore_count());
		return -EINVAL;
	}
	qsz = rte_rcu_qsbr_get_memsize(e->n_workers);
	e->qs = rte_zmalloc("gate44_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (e->qs == NULL || rte_rcu_qsbr_init(e->qs, e->n_workers) != 0) {
		snprintf(err, errlen, "cannot set up RCU for %u workers", e->n_workers);
		return -ENOMEM;
	}
	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		struct dp_lcore *lc;

		if (w >= e->n_workers)
			break;
		lc = &e->lcores[w];
		lc->index = w;
		lc->lcore_id = lcore_id;
		lc->txq = (uint16_t)w;
		rc = make_ring(&lc->handoff, "ho", w, DP_HANDOFF_RING, 0, RING_F_SC_DEQ);
		if (rc == 0)
			rc = make_ring(&lc->events, "ev", w, DP_EVENT_RING, sizeof(struct dp_event),
				       RING_F_SC_DEQ | RING_F_SP_ENQ);
		if (rc != 0) {
			snprintf(err, errlen, "cannot create rings: %s", rte_strerror(-rc));
			return rc;
		}
		w++;
	}
	e->lcores[w].index = w;
	e->lcores[w].is_main = true;
	e->lcores[w].lcore_id = rte_get_main_lcore();
	e->lcores[w].txq = (uint16_t)w;
	rc = make_ring(&e->main_ring, "main", 0, DP_MAIN_RING, 0, RING_F_SC_DEQ);
	if (rc == 0)
		rc = make_ring(&e->main_events, "mev", 0, DP_MAIN_EVENT_RING,
			       sizeof(struct dp_event), RING_F_SC_DEQ);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create rings: %s", rte_strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i <= e->n_workers; i++) {
		struct dp_lcore *lc = &e->lcores[i];

		lc->aead = cr_aead_burst_create(CR_AEAD_BACKEND_AUTO);
		if (lc->aead == NULL) {
			snprintf(err, errlen, "cannot create the AEAD context");
			return -ENOMEM;
		}
	}
	return 0;
}

static int
ports_init(struct dp_engine *e, char *err, size_t errlen)
{
	unsigned w = 0;
	int rc;

	for (unsigned i = 0; i < e->cfg.n_ports; i++) {
		rc = dp_port_open(&e->ports[i], (uint16_t)i, &e->cfg.ports[i], e->mp, e->n_workers,
				  err, errlen);
		if (rc != 0)
			return rc;
		e->n_ports++;
	}
	e->exception_port = -1;
	if (e->cfg.exception_tap[0] != '\0') {
		rc = dp_port_open_tap(&e->ports[e->n_ports], (uint16_t)e->n_ports,
				      e->cfg.exception_tap, e->mp, e->n_workers, err, errlen);
		if (rc != 0)
			return rc;
		e->exception_port = (int)e->n_ports++;
	}
	/* rx queues of the NIC ports go round-robin to the workers; the TAP is
	 * the main lcore's */
	for (unsigned i = 0; i < e->n_ports; i++) {
		struct dp_port *p = &e->ports[i];

		if (p->is_exception)
			continue;
		for (uint16_t q = 0; q < p->nb_rxq; q++) {
			struct dp_lcore *lc = &e->lcores[w++ % e->n_workers];

			if (lc->n_rxq == DP_MAX_RXQ_PER_LCORE) {
				snprintf(err, errlen, "too many rx queues for %u workers",
					 e->n_workers);
				return -EINVAL;
			}
			lc->rxq_port[lc->n_rxq] = (uint16_t)i;
			lc->rxq_queue[lc->n_rxq++] = q;
		}
	}
	for (unsigned l = 0; l <= e->n_workers; l++) {
		struct dp_lcore *lc = &e->lcores[l];

		for (unsigned i = 0; i < e->n_ports; i++) {
			lc->txb[i] = rte_zmalloc_socket("gate44_txb",
							RTE_ETH_TX_BUFFER_SIZE(e->burst), 0,
							(int)rte_socket_id());
			if (lc->txb[i] == NULL)
				return -ENOMEM;
			rte_eth_tx_buffer_init(lc->txb[i], (uint16_t)e->burst);
			rte_eth_tx_buffer_set_err_callback(lc->txb[i], tx_error, lc);
		}
	}
	return 0;
}

int
dp_engine_init(struct dp_engine *e, char *err, size_t errlen)
{
	int rc;

	dp_eng = e;
	e->tsc_hz = rte_get_tsc_hz();
	randombytes_buf(&e->instance, sizeof(e->instance));
	e->instance >>= 11; /* exact in a JSON number (53 bits) */
	e->burst = RTE_MIN(e->cfg.burst, (unsigned)DP_MAX_BURST);
	rc = lcores_init(e, err, errlen);
	if (rc != 0)
		return rc;
	e->mp = rte_pktmbuf_pool_create("gate44_mbufs", e->cfg.mbufs, 256,
					RTE_ALIGN(sizeof(struct dp_meta), RTE_MBUF_PRIV_ALIGN),
					RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (e->mp == NULL) {
		snprintf(err, errlen, "cannot create the mbuf pool (%u mbufs): %s", e->cfg.mbufs,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	rc = wg_peers_init(e, e->cfg.max_peers, err, errlen);
	if (rc != 0)
		return rc;
	e->fib = dp_fib_create("g44fib", e->cfg.routes4, e->cfg.routes6, (int)rte_socket_id(), e->qs);
	e->ratelimit = cr_ratelimit_create(1u << 16);
	if (e->fib == NULL || e->ratelimit == NULL) {
		snprintf(err, errlen, "cannot create the FIB or the rate limiter");
		return -ENOMEM;
	}
	rc = ports_init(e, err, errlen);
	if (rc == 0)
		rc = dp_exception_init(e, err, errlen);
	if (rc != 0)
		return rc;
	e->neigh = dp_neigh_create("g44neigh", 1u << 14, (int)rte_socket_id(), e->ports,
				   e->n_ports, main_neigh_tx, dp_main_lcore_ctx(), e->mp,
				   &dp_main_lcore_ctx()->stats, e->qs);
	if (e->neigh == NULL) {
		snprintf(err, errlen, "cannot create the neighbour table");
		return -ENOMEM;
	}
	return 0;
}

void
dp_engine_fini(struct dp_engine *e)
{
	for (unsigned i = 0; i < e->n_ports; i++)
		dp_port_close(&e->ports[i]);
	if (e->neigh != NULL)
		dp_neigh_free(e->neigh);
	for (unsigned i = 0; i < e->n_wg; i++)
		if (e->wg[i].allowed != NULL)
			dp_fib_free(e->wg[i].allowed);
	if (e->fib != NULL)
		dp_fib_free(e->fib);
	wg_peers_fini(e);
	cr_ratelimit_free(e->ratelimit);
	for (unsigned i = 0; i <= e->n_workers; i++) {
		cr_aead_burst_free(e->lcores[i].aead);
		for (unsigned p = 0; p < e->n_ports; p++)
			rte_free(e->lcores[i].txb[p]);
	}
	for (unsigned i = 0; i < e->n_wg; i++) {
		sodium_memzero(&e->wg[i].self, sizeof(e->wg[i].self));
		cr_cookie_checker_clear(&e->wg[i].cookie);
	}
	rte_free(e->qs);
}
