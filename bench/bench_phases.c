/*
 * bench_phases.c — the traffic of gate44-bench-engine, on the generator
 * lcore: handshakes, timed data runs in both directions, latency at half
 * load, the handshake flood. Every loop is bounded in time.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_mbuf_dyn.h>
#include <rte_mbuf_pool_ops.h>

#include "bench_engine.h"
#include "dp.h"
#include "engine.h"

enum {
	DATAROOM = RTE_PKTMBUF_HEADROOM + 1664, /* 1420 B inner + every header + tag */
	HS_WINDOW = 128,                        /* initiations in flight (no "under load") */
	REHANDSHAKE_S = 140,                    /* inside REJECT_AFTER_TIME (180 s) with room
						 * for a run and its repetitions */
};

static struct rte_mempool *pool;
static unsigned pool_size;

int
bench_parse_list(const char *s, unsigned *v, unsigned max, unsigned *n, bool allow_imix)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long x;

		if (*n >= max)
			return -1;
		if (allow_imix && strcmp(t, "imix") == 0) {
			v[(*n)++] = BENCH_IMIX;
			continue;
		}
		errno = 0;
		x = strtoul(t, &end, 10);
		if (errno != 0 || *end != '\0' || x == 0 || x > 10000000)
			return -1;
		v[(*n)++] = (unsigned)x;
	}
	return *n == 0 ? -1 : 0;
}

void
bench_progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\r\033[K[bench] ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void
bench_mem_sample(struct bench_mem *m)
{
	struct rte_malloc_socket_stats st;
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	m->rss = (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
	m->heap = rte_malloc_get_socket_stats((int)rte_socket_id(), &st) == 0
			  ? st.heap_allocsz_bytes : 0;
}

static inline uint64_t *
tstamp(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, b.dynfield, uint64_t *);
}

static unsigned
run_packets(unsigned size)
{
	unsigned n;

	if (size == BENCH_IMIX || size <= 128)
		n = 1500000;
	else if (size <= 600)
		n = 1000000;
	else
		n = 600000;
	return b.smoke ? 20000 : b.quick ? n / 4 : n;
}

/* rte_pktmbuf_pool_create, but objects may straddle pages: without
 * hugepages a 4 KiB page would otherwise hold one 2 KiB buffer. Nothing
 * DMAs into these buffers (ring ports, or af_packet's copies). */
static struct rte_mempool *
make_pool(const char *name, unsigned n)
{
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = DATAROOM,
		.mbuf_priv_size = RTE_ALIGN(sizeof(struct dp_meta), RTE_MBUF_PRIV_ALIGN),
	};
	unsigned elt = sizeof(struct rte_mbuf) + priv.mbuf_priv_size + DATAROOM;
	struct rte_mempool *mp;

	mp = rte_mempool_create_empty(name, n, elt, 256, sizeof(priv), (int)rte_socket_id(),
				      RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL) != 0) {
		rte_mempool_free(mp);
		return NULL;
	}
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0) {
		rte_mempool_free(mp);
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

static unsigned
lat_packets(void)
{
	return b.e2e ? 0 : b.smoke ? 2000 : b.quick ? 50000 : 200000;
}

unsigned
bench_pool_mbufs(unsigned max_peers)
{
	/* a run's packets with its latency share, or a handshake per peer:
	 * never both at once; the slack covers what the engine holds */
	return RTE_MAX(run_packets(64) + lat_packets(), max_peers) + 65536;
}

uint64_t
bench_pool_bytes(unsigned max_peers)
{
	/* mbuf header, the engine's per-packet metadata, data room, mempool
	 * object header: rounded up generously */
	return (uint64_t)bench_pool_mbufs(max_peers) * (DATAROOM + 384);
}

int
bench_setup_gen(unsigned max_peers)
{
	static const struct rte_mbuf_dynfield df = {
		.name = "gate44_bench_tsc", .size = sizeof(uint64_t), .align = __alignof__(uint64_t),
	};
	struct gen_net net = {
		.pop_wan = RTE_IPV4(10, 0, 0, 1),
		.pop_port = 51820,
		.gen_mac = {{0x02, 0x00, 0x00, 0x00, 0x44, 0x01}},
		.inet_src = RTE_IPV4(198, 18, 1, 0),
		.inet_dst = RTE_IPV4(198, 18, 2, 0),
	};
	int rc;

	memcpy(net.pop_pub, b.pop_pub, 32);
	b.dynfield = rte_mbuf_dynfield_register(&df);
	if (b.dynfield < 0)
		return -rte_errno;
	bench_progress("making %u client keys", max_peers);
	rc = gen_init(&b.g, &net, max_peers, 0x6a7e44, RTE_IPV4(44, 128, 0, 1),
		      RTE_IPV4(100, 64, 0, 1));
	if (rc != 0)
		return rc;
	/* one pool for the whole run, made (and touched) before the memory
	 * baselines: a run's packets plus a handshake for every peer */
	pool_size = bench_pool_mbufs(max_peers);
	bench_progress("making a pool of %u packet buffers", pool_size);
	pool = make_pool("bench_pool", pool_size);
	return pool == NULL ? -ENOMEM : 0;
}

/* ---- what comes out of the engine --------------------------------------- */

struct sink {
	int data_port;               /* 0 wan (encrypt runs), 1 inet (decrypt), -1 none */
	uint64_t data, last_tsc;
	double *lat;                 /* latency samples, microseconds */
	uint64_t n_lat, cap_lat;
	uint64_t responses, cookies, initiations;
	struct cr_wg_msg_response *keep; /* handshake responses, consumed later (copies:
					  * the engine's buffers go back at once) */
	unsigned n_keep, cap_keep;
};

/* The WireGuard message type of an Ethernet/IPv4/UDP frame the engine sent
 * (it always writes 20-byte IPv4 headers), 0 for anything else. */
static uint8_t
wg_type(struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	if (rte_pktmbuf_data_len(m) < 14 + 20 + 8 + 4 || p[12] != 0x08 || p[13] != 0x00 ||
	    p[14] != 0x45 || p[23] != IPPROTO_UDP)
		return 0;
	return p[42];
}

/* Hand frames to the system under test: the engine's rx ring, or the wire. */
static unsigned
port_send(struct bench_port *bp, struct rte_mbuf **m, unsigned n)
{
	if (bp->ethdev)
		return rte_eth_tx_burst(bp->port_id, 0, m, (uint16_t)RTE_MIN(n, 512u));
	return rte_ring_enqueue_burst(bp->rx, (void **)m, n, NULL);
}

/* What the system under test sent on one of its queues. */
static unsigned
port_recv(struct bench_port *bp, unsigned q, struct rte_mbuf **m, unsigned n)
{
	if (bp->ethdev)
		return q == 0 ? rte_eth_rx_burst(bp->port_id, 0, m, (uint16_t)n) : 0;
	return rte_ring_sc_dequeue_burst(bp->tx[q], (void **)m, n, NULL);
}

static void
reply_arp(struct bench_port *bp, struct rte_mbuf *m)
{
	if (port_send(bp, &m, 1) != 1)
		rte_pktmbuf_free(m);
}

/* Empty every tx ring of both ports once; return how many frames came. */
static unsigned
poll_out(struct sink *s)
{
	struct bench_port *ports[2] = {&b.wan, &b.inet};
	struct rte_mbuf *pkts[256], *dead[256];
	unsigned total = 0;

	for (unsigned pi = 0; pi < 2; pi++) {
		for (unsigned q = 0; q < 2; q++) {
			unsigned n = port_recv(ports[pi], q, pkts, 256);
			unsigned nd = 0;
			uint64_t now = rte_rdtsc();

			total += n;
			for (unsigned i = 0; i < n; i++) {
				struct rte_mbuf *m = pkts[i];
				uint8_t type;

				if (gen_arp_reply(m, &b.g.net.gen_mac)) {
					reply_arp(ports[pi], m);
					continue;
				}
				if ((int)pi == s->data_port &&
				    (pi == 1 || (wg_type(m) == WG_MSG_DATA &&
						 m->pkt_len > 42 + WG_MSG_DATA_HDR_LEN + WG_AEAD_TAG_LEN))) {
					uint64_t t = m->pool == pool ? *tstamp(m) : 0;

					s->data++;
					s->last_tsc = now;
					if (t != 0 && s->n_lat < s->cap_lat)
						s->lat[s->n_lat++] = (double)(now - t) * 1e6 /
								     (double)b.tsc_hz;
					dead[nd++] = m;
					continue;
				}
				type = pi == 0 ? wg_type(m) : 0;
				if (type == WG_MSG_RESPONSE && s->keep != NULL &&
				    s->n_keep < s->cap_keep &&
				    m->data_len >= 42 + sizeof(s->keep[0])) {
					s->responses++;
					memcpy(&s->keep[s->n_keep++],
					       rte_pktmbuf_mtod_offset(m, void *, 42),
					       sizeof(s->keep[0]));
					dead[nd++] = m;
					continue;
				}
				if (type == WG_MSG_RESPONSE)
					s->responses++;
				else if (type == WG_MSG_COOKIE)
					s->cookies++;
				else if (type == WG_MSG_INITIATION)
					s->initiations++;
				else
					b.stray++;
				dead[nd++] = m;
			}
			if (nd > 0)
				rte_pktmbuf_free_bulk(dead, nd);
		}
	}
	return total;
}

static uint64_t
engine_drops(void)
{
	uint64_t sum = 0;

	if (b.eng == NULL) /* end to end: the system under test does not say */
		return 0;
	for (unsigned l = 0; l <= b.eng->n_workers; l++)
		for (unsigned d = 0; d < DP_DROP_MAX; d++)
			sum += b.eng->lcores[l].stats.drops[d];
	return sum;
}

static uint64_t
engine_hs_rx(void)
{
	return b.eng != NULL ? b.eng->lcores[b.eng->n_workers].stats.handshakes_rx : 0;
}

/* Wait until the engine has handed back every buffer of the pool but
 * `held` (bounded: a second). */
static void
settle(unsigned held)
{
	struct sink s = {.data_port = -1};

	for (int i = 0; i < 1000 && rte_mempool_in_use_count(pool) > held; i++) {
		poll_out(&s);
		rte_delay_us_sleep(1000);
	}
}

/* ---- handshakes ----------------------------------------------------------- */

static int
handshake(unsigned n_peers, struct bench_hs *hs)
{
	uint64_t now = rte_get_timer_cycles(), fresh = (uint64_t)REHANDSHAKE_S * b.tsc_hz;
	unsigned *todo = malloc(sizeof(*todo) * n_peers), n = 0, sent = 0;
	struct rte_mbuf **msgs;
	struct cr_wg_msg_response *keep;
	struct sink s = {.data_port = -1};
	uint64_t t0, deadline, t_last = 0;
	int rc = 0;

	for (unsigned i = 0; todo != NULL && i < n_peers; i++)
		if (b.g.peers[i].established_ns == 0 || now - b.g.peers[i].established_ns > fresh)
			todo[n++] = i;
	memset(hs, 0, sizeof(*hs));
	hs->peers = n;
	if (todo == NULL || n == 0) {
		free(todo);
		return todo == NULL ? -ENOMEM : 0;
	}
	msgs = calloc(n, sizeof(*msgs));
	keep = calloc(n, sizeof(*keep));
	if (msgs == NULL || keep == NULL || rte_pktmbuf_alloc_bulk(pool, msgs, n) != 0) {
		free(msgs);
		free(keep);
		free(todo);
		return -ENOMEM;
	}
	/* the initiations first: the initiator's DH work is not the POP's */
	for (unsigned i = 0; i < n; i++) {
		if (i % 1024 == 0)
			bench_progress("%u peers: building initiations %u/%u", n_peers, i, n);
		rc = gen_initiation(&b.g, todo[i], msgs[i]);
		if (rc != 0)
			break;
	}
	s.keep = keep;
	s.cap_keep = n;
	t0 = rte_rdtsc();
	deadline = t0 + b.tsc_hz * (20 + n / 500);
	while (rc == 0 && s.responses + s.cookies < n && rte_rdtsc() < deadline) {
		unsigned room = HS_WINDOW - (unsigned)(sent - s.responses - s.cookies);
		unsigned k = RTE_MIN(room, n - sent), moved = 0;

		if (sent - s.responses - s.cookies < HS_WINDOW && k > 0)
			moved = port_send(&b.wan, &msgs[sent], k);
		sent += moved;
		if (poll_out(&s) > 0)
			t_last = rte_rdtsc();
		else if (moved == 0)
			rte_delay_us_sleep(20); /* leave core 0 to the main lcore */
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(&msgs[sent], n - sent);
	hs->seconds = t_last > t0 ? (double)(t_last - t0) / (double)b.tsc_hz : 0;
	bench_progress("%u peers: consuming %u responses", n_peers, s.n_keep);
	now = rte_get_timer_cycles();
	for (unsigned i = 0; i < s.n_keep; i++) {
		uint32_t peer;

		if (gen_response(&b.g, &keep[i], &peer, now) == 0)
			hs->completed++;
		else
			hs->failed++;
	}
	hs->failed += n - s.n_keep;
	hs->per_sec = hs->seconds > 0 ? hs->completed / hs->seconds : 0;
	free(msgs);
	free(keep);
	free(todo);
	return rc;
}

/* A keepalive from each established peer of [0, n): the POP confirms the
 * keypairs it answered with (paper §5.4.4) and learns nothing else. */
static void
confirm(unsigned n_peers)
{
	struct rte_mbuf *m[64];
	struct cr_aead_op ops[64];
	struct sink s = {.data_port = -1};
	unsigned *est = malloc(sizeof(*est) * n_peers), n = 0;

	for (unsigned i = 0; est != NULL && i < n_peers; i++)
		if (b.g.peers[i].established_ns != 0)
			est[n++] = i;
	for (unsigned base = 0; est != NULL && base < n; base += 64) {
		unsigned k = RTE_MIN(64u, n - base), sent = 0;
		uint64_t deadline;

		if (rte_pktmbuf_alloc_bulk(pool, m, k) != 0)
			break;
		for (unsigned j = 0; j < k; j++) {
			struct rte_ipv4_hdr *ip;

			/* a keepalive: a data message with no inner packet at all */
			gen_data_frame(&b.g, est[base + j], 32, 0, m[j], &ops[j]);
			ops[j].len = 0;
			m[j]->data_len = 14 + 20 + 8 + WG_MSG_DATA_HDR_LEN + WG_AEAD_TAG_LEN;
			m[j]->pkt_len = m[j]->data_len;
			ip = rte_pktmbuf_mtod_offset(m[j], struct rte_ipv4_hdr *, 14);
			ip->total_length = rte_cpu_to_be_16((uint16_t)(m[j]->pkt_len - 14));
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
			rte_pktmbuf_mtod_offset(m[j], struct rte_udp_hdr *, 34)->dgram_len =
				rte_cpu_to_be_16((uint16_t)(m[j]->pkt_len - 34));
		}
		cr_aead_burst_seal(b.g.aead, ops, k);
		deadline = rte_rdtsc() + b.tsc_hz;
		while (sent < k && rte_rdtsc() < deadline) {
			sent += port_send(&b.wan, &m[sent], k - sent);
			poll_out(&s);
		}
		if (sent < k)
			rte_pktmbuf_free_bulk(&m[sent], k - sent);
	}
	free(est);
	settle(0);
}

/* ---- data ------------------------------------------------------------------ */

/* Simple IMIX of inner packets: 7 x 64, 4 x 576, 1 x 1420 bytes. */
static unsigned
size_of(unsigned size, unsigned k)
{
	unsigned r = k % 12;

	if (size != BENCH_IMIX)
		return size;
	return r < 7 ? 64 : r < 11 ? 576 : 1420;
}

/* n frames from random peers of [0, n_peers): sealed transport data
 * (decrypt runs) or plain packets to their inner addresses (encrypt runs).
 * Return the inner bytes, 0 when the pool ran dry. */
static uint64_t
build(unsigned n_peers, unsigned size, bool encrypt, struct rte_mbuf **pkts, unsigned n)
{
	struct cr_aead_op ops[64];
	uint64_t bytes = 0;
	unsigned nops = 0;

	if (rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0)
		return 0;
	for (unsigned k = 0; k < n; k++) {
		uint32_t peer = n_peers == 1 ? 0 : (uint32_t)(gen_rand(&b.g) % n_peers);
		unsigned len = size_of(size, k);
		int rc;

		if (encrypt)
			rc = gen_plain_frame(&b.g, peer, len, (uint16_t)k, pkts[k]);
		else
			rc = gen_data_frame(&b.g, peer, len, (uint16_t)k, pkts[k], &ops[nops++]);
		if (rc != 0) {
			rte_pktmbuf_free_bulk(pkts, n);
			return 0;
		}
		*tstamp(pkts[k]) = 0;
		bytes += len;
		if (nops == 64 || (nops > 0 && k + 1 == n)) {
			cr_aead_burst_seal(b.g.aead, ops, nops);
			nops = 0;
		}
	}
	return bytes;
}

/* perf record --control: with GATE44_BENCH_PERF_CTL naming perf's control
 * FIFO, the profile covers the full-load phases only (bench/run --profile). */
static void
perf_ctl(const char *cmd)
{
	static FILE *f;
	static bool tried;

	if (!tried) {
		const char *path = getenv("GATE44_BENCH_PERF_CTL");

		tried = true;
		f = path != NULL ? fopen(path, "w") : NULL;
	}
	if (f != NULL) {
		fprintf(f, "%s\n", cmd);
		fflush(f);
	}
}

/* A NIC delivers a frame into the last-level cache (DDIO) just before the
 * driver sees it; frames sealed long before the timed phase sit in DRAM.
 * Touch each frame as it is handed over (unless --cold), so the engine
 * meets its packets where a NIC would have put them. */
static void
warm(struct rte_mbuf **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = rte_pktmbuf_mtod(pkts[i], const uint8_t *);

		for (uint32_t off = 0; off < pkts[i]->data_len; off += RTE_CACHE_LINE_SIZE)
			rte_prefetch0(d + off);
	}
}

/* Full load: keep the engine's rx ring full, count what comes out. */
static void
timed(struct bench_run *r, struct rte_mbuf **pkts, unsigned n, uint64_t bytes)
{
	struct sink s = {.data_port = r->encrypt ? 0 : 1};
	struct bench_port *in = r->encrypt ? &b.inet : &b.wan;
	uint64_t d0 = engine_drops(), drops = 0, polls = 0, full = 0;
	uint64_t t0 = rte_rdtsc(), now = t0, last = t0, deadline = t0 + 60 * b.tsc_hz, t_sent = 0;
	uint64_t next = t0, gap = r->pace_pps > 0 ? (uint64_t)(32.0 * b.tsc_hz / r->pace_pps) : 0;
	unsigned sent = 0, iter = 0;

	perf_ctl("enable");
	while (now < deadline) {
		if (sent < n && now >= next) {
			unsigned want = RTE_MIN(32u, n - sent);
			unsigned k;

			if (!b.cold)
				warm(&pkts[sent], want);
			k = port_send(in, &pkts[sent], want);

			polls++;
			full += k < want;
			sent += k;
			if (sent == n)
				t_sent = rte_rdtsc();
			next += k == want ? gap : 0;
		}
		now = rte_rdtsc();
		if (poll_out(&s) > 0)
			last = now;
		if ((++iter & 255) == 0 || sent == n) {
			drops = engine_drops() - d0;
			if (s.data + drops >= n)
				break;
		}
		if (sent == n && now - last > b.tsc_hz * 3 / 10)
			break;
	}
	perf_ctl("disable");
	if (sent < n)
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	r->offered_mpps =
		t_sent > t0 ? (double)sent * (double)b.tsc_hz / (double)(t_sent - t0) / 1e6 : 0;
	r->sent = sent;
	r->received = s.data;
	r->engine_drops = engine_drops() - d0;
	r->seconds = s.last_tsc > t0 ? (double)(s.last_tsc - t0) / (double)b.tsc_hz : 0;
	if (r->pace_pps > 0 && t_sent > t0) /* paced: the rate is the sending window's */
		r->seconds = (double)(t_sent - t0) / (double)b.tsc_hz;
	r->mpps = r->seconds > 0 ? (double)s.data / r->seconds / 1e6 : 0;
	r->gbps = r->seconds > 0 ? (double)bytes * ((double)s.data / n) * 8 / r->seconds / 1e9 : 0;
	r->cycles_per_pkt = r->mpps > 0 ? (double)b.tsc_hz / (r->mpps * 1e6) : 0;
	r->full_ratio = polls ? (double)full / (double)polls : 0;
}

static int
cmp_double(const void *a, const void *b_)
{
	double x = *(const double *)a, y = *(const double *)b_;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, uint64_t n, double p)
{
	uint64_t i = (uint64_t)ceil(p * (double)n) - 1;

	return n == 0 ? 0 : v[i >= n ? n - 1 : i];
}

/* Half of the measured rate, in bursts of 16, each frame stamped when it
 * enters the engine's rx ring and read when it leaves a tx ring. */
static void
latency(struct bench_run *r, struct rte_mbuf **pkts, unsigned n)
{
	struct sink s = {.data_port = r->encrypt ? 0 : 1};
	struct bench_port *in = r->encrypt ? &b.inet : &b.wan;
	double pps = r->mpps * 1e6 * 0.5;
	uint64_t gap, next, now, deadline, last;
	unsigned sent = 0;

	if (pps <= 0 || n == 0) {
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	s.lat = malloc(sizeof(double) * n);
	s.cap_lat = s.lat != NULL ? n : 0;
	gap = (uint64_t)(16.0 / pps * (double)b.tsc_hz);
	next = now = last = rte_rdtsc();
	deadline = now + 30 * b.tsc_hz;
	while (now < deadline) {
		now = rte_rdtsc();
		if (sent < n && now >= next) {
			unsigned k = RTE_MIN(16u, n - sent), moved;

			for (unsigned j = 0; j < k; j++)
				*tstamp(pkts[sent + j]) = now;
			moved = port_send(in, &pkts[sent], k);
			if (moved < k) /* the ring is full at half load: count them lost */
				rte_pktmbuf_free_bulk(&pkts[sent + moved], k - moved);
			sent += k;
			next += gap;
		}
		if (poll_out(&s) > 0)
			last = now;
		if (sent == n && (s.data >= n || now - last > b.tsc_hz / 5))
			break;
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	qsort(s.lat, s.n_lat, sizeof(double), cmp_double);
	r->lat_load_mpps = pps / 1e6;
	r->lat_samples = s.n_lat;
	r->lat_p50_us = pct(s.lat, s.n_lat, 0.50);
	r->lat_p99_us = pct(s.lat, s.n_lat, 0.99);
	r->lat_p999_us = pct(s.lat, s.n_lat, 0.999);
	free(s.lat);
}

static const char *
size_name(unsigned size, char *buf, size_t len)
{
	if (size == BENCH_IMIX)
		return "IMIX";
	snprintf(buf, len, "%u B", size);
	return buf;
}

/*
 * End to end, the system under test and the generator share the kernel's
 * work and an overloaded af_packet or UDP socket path loses nearly
 * everything: the rate is found the RFC 2544 way instead, the highest
 * offered rate at which at most 1% is lost (a binary search, each trial
 * freshly sealed).
 */
static void
e2e_search(struct bench_run *best, unsigned n_peers, unsigned size, bool encrypt)
{
	double lo = 0, hi = 0, dur = b.quick ? 0.25 : 0.5;
	unsigned trials = b.smoke ? 4 : b.quick ? 5 : 7;

	for (unsigned t = 0; t <= trials; t++) {
		struct bench_run r = *best;
		double rate = t == 0 ? 0 : (lo + hi) / 2;
		unsigned n = t == 0 ? run_packets(size) / 4
				    : (unsigned)fmax(2000.0, fmin(rate * dur, 1e6));
		struct rte_mbuf **pkts = malloc(sizeof(*pkts) * n);
		uint64_t bytes = pkts != NULL ? build(n_peers, size, encrypt, pkts, n) : 0;
		bool ok;

		if (bytes == 0) {
			free(pkts);
			snprintf(b.error, sizeof(b.error), "out of packet buffers");
			return;
		}
		r.pace_pps = rate;
		timed(&r, pkts, n, bytes);
		free(pkts);
		settle(0);
		ok = r.sent > 0 && (double)r.received >= 0.99 * (double)r.sent;
		if (t == 0) { /* full speed: the generator's ceiling */
			hi = r.offered_mpps * 1e6;
			if (ok) { /* took all the generator could send: a lower bound */
				*best = r;
				best->generator_bound = true;
				return;
			}
			continue;
		}
		if (ok) {
			lo = rate;
			*best = r;
		} else {
			hi = rate;
		}
	}
}

/* Sessions older than REHANDSHAKE_S are made again before a run: a long
 * stage (100 000 peers, repetitions) outlives the first ones, and a POP
 * rejects keys at 180 s. */
static void
refresh(unsigned n_peers)
{
	struct bench_hs hs;

	if (handshake(n_peers, &hs) == 0 && hs.peers > 0) {
		confirm(n_peers);
		fprintf(stderr, "\r\033[K[bench] %6u peers: %u sessions made again (older than %u s)\n",
			n_peers, hs.completed, (unsigned)REHANDSHAKE_S);
	}
}

/* The full-load phase again, freshly sealed, b.reps times in all; r keeps
 * the run with the median rate (a VM's neighbours move single runs by tens
 * of percent) and the spread of all of them. */
static void
repeat(struct bench_run *r, struct rte_mbuf **pkts, unsigned n)
{
	struct bench_run all[BENCH_MAX_REPS];
	unsigned reps = b.reps < 1 ? 1 : b.reps > BENCH_MAX_REPS ? BENCH_MAX_REPS : b.reps, got = 1;

	all[0] = *r;
	for (unsigned i = 1; i < reps && b.error[0] == '\0'; i++) {
		struct bench_run t = *r;
		uint64_t bytes;

		refresh(r->peers);
		bench_progress("%u peers: full load again (%u of %u)", r->peers, i + 1, reps);
		bytes = build(r->peers, r->size, r->encrypt, pkts, n);
		if (bytes == 0)
			break;
		timed(&t, pkts, n, bytes);
		settle(0);
		all[got++] = t;
	}
	/* insertion sort by rate, then the middle one */
	for (unsigned i = 1; i < got; i++)
		for (unsigned j = i; j > 0 && all[j].mpps < all[j - 1].mpps; j--) {
			struct bench_run x = all[j];

			all[j] = all[j - 1];
			all[j - 1] = x;
		}
	{
		struct bench_run med = all[got / 2];

		med.lat_load_mpps = r->lat_load_mpps;
		med.lat_p50_us = r->lat_p50_us;
		med.lat_p99_us = r->lat_p99_us;
		med.lat_p999_us = r->lat_p999_us;
		med.lat_samples = r->lat_samples;
		*r = med;
	}
	r->reps = got;
	r->mpps_min = all[0].mpps;
	r->mpps_max = all[got - 1].mpps;
}

static void
data_run(unsigned n_peers, unsigned size, bool encrypt)
{
	struct bench_run *r = &b.runs[b.n_runs];
	unsigned n = run_packets(size), n_lat = lat_packets();
	struct rte_mbuf **pkts = malloc(sizeof(*pkts) * (n + n_lat));
	char buf[16];
	const char *sz = size_name(size, buf, sizeof(buf));
	uint64_t bytes;

	memset(r, 0, sizeof(*r));
	r->peers = n_peers;
	r->size = size;
	r->encrypt = encrypt;
	if (b.e2e) {
		bench_progress("%u peers, %s, %s: searching the rate with <= 1%% loss", n_peers, sz,
			       encrypt ? "encrypt" : "decrypt");
		free(pkts);
		e2e_search(r, n_peers, size, encrypt);
		b.n_runs++;
		fprintf(stderr, "\r\033[K[bench] %s %6u peers %-5s %s: %6.3f Mpps %6.2f Gbit/s "
				"(%" PRIu64 " of %" PRIu64 " through)\n",
			b.label, n_peers, sz, encrypt ? "encrypt" : "decrypt", r->mpps, r->gbps,
			r->received, r->sent);
		return;
	}
	refresh(n_peers);
	bench_progress("%u peers, %s, %s: sealing %u packets", n_peers, sz,
		       encrypt ? "encrypt" : "decrypt", n + n_lat);
	bytes = pkts != NULL ? build(n_peers, size, encrypt, pkts, n + n_lat) : 0;
	if (bytes == 0) {
		snprintf(b.error, sizeof(b.error), "out of packet buffers");
		free(pkts);
		return;
	}
	bytes = bytes * n / (n + n_lat); /* the timed part's share */
	bench_progress("%u peers, %s, %s: full load", n_peers, sz, encrypt ? "encrypt" : "decrypt");
	timed(r, pkts, n, bytes);
	settle(n_lat);
	if (n_lat > 0) {
		bench_progress("%u peers, %s, %s: latency", n_peers, sz,
			       encrypt ? "encrypt" : "decrypt");
		latency(r, pkts + n, n_lat);
	}
	settle(0);
	repeat(r, pkts, n);
	b.n_runs++;
	free(pkts);
	fprintf(stderr, "\r\033[K[bench] %s%6u peers %-5s %s: %6.3f Mpps %6.2f Gbit/s %5.0f cyc/pkt",
		b.label != NULL ? b.label : "", n_peers, sz, encrypt ? "encrypt" : "decrypt", r->mpps,
		r->gbps, r->cycles_per_pkt);
	if (n_lat > 0)
		fprintf(stderr, ", p50/p99/p99.9 %.1f/%.1f/%.1f us", r->lat_p50_us, r->lat_p99_us,
			r->lat_p999_us);
	else
		fprintf(stderr, " (offered %.3f Mpps, %" PRIu64 " of %" PRIu64 " through)",
			r->offered_mpps, r->received, r->sent);
	fputc('\n', stderr);
}

/* ---- the flood ------------------------------------------------------------- */

/* Established peers' 1420-byte data, alone and then beside as many
 * initiations from spoofed sources (replays of real ones: valid mac1, no
 * mac2, so a POP under load answers each with a cookie reply). */
static void
flood(void)
{
	struct bench_flood *f = &b.fl;
	struct bench_run base = {.peers = BENCH_FLOOD_PEERS, .size = 1420};
	unsigned n = run_packets(1420) / 2, nf = n, sent = 0, sentf = 0;
	struct rte_mbuf **pkts = malloc(sizeof(*pkts) * n), **fl = malloc(sizeof(*fl) * nf);
	struct rte_mbuf *tmpl[64];
	struct sink s = {.data_port = 1};
	uint64_t bytes, hs0, t0, now, last, deadline;
	struct bench_hs hs;

	if (pkts == NULL || fl == NULL || rte_pktmbuf_alloc_bulk(pool, tmpl, 64) != 0)
		goto out;
	handshake(BENCH_FLOOD_PEERS, &hs);
	confirm(BENCH_FLOOD_PEERS);
	bench_progress("flood: the established peers alone");
	bytes = build(BENCH_FLOOD_PEERS, 1420, false, pkts, n);
	if (bytes == 0)
		goto out_tmpl;
	timed(&base, pkts, n, bytes);
	f->base_mpps = base.mpps;
	settle(64);
	bench_progress("flood: building %u spoofed initiations", nf);
	for (unsigned i = 0; i < 64; i++)
		gen_initiation(&b.g, b.g.n_peers - 1 - i, tmpl[i]);
	if (rte_pktmbuf_alloc_bulk(pool, fl, nf) != 0)
		goto out_tmpl;
	for (unsigned i = 0; i < nf; i++) {
		struct rte_mbuf *m = fl[i];
		struct rte_ipv4_hdr *ip;
		uint32_t src = RTE_IPV4(100, 64, 0, 0) | (uint32_t)(gen_rand(&b.g) & 0x3fffff);

		rte_memcpy(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_mtod(tmpl[i & 63], void *),
			   tmpl[i & 63]->data_len);
		m->data_len = tmpl[i & 63]->data_len;
		m->pkt_len = m->data_len;
		*tstamp(m) = 0;
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		ip->src_addr = rte_cpu_to_be_32(src);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, 34)->src_port =
			rte_cpu_to_be_16((uint16_t)(1024 + (src & 0x7fff)));
	}
	bytes = build(BENCH_FLOOD_PEERS, 1420, false, pkts, n);
	if (bytes == 0) {
		rte_pktmbuf_free_bulk(fl, nf);
		goto out_tmpl;
	}
	bench_progress("flood: %u initiations beside %u data packets", nf, n);
	hs0 = engine_hs_rx();
	t0 = last = now = rte_rdtsc();
	deadline = t0 + 60 * b.tsc_hz;
	while (now < deadline) {
		if (sent < n)
			sent += port_send(&b.wan, &pkts[sent], RTE_MIN(32u, n - sent));
		if (sentf < nf)
			sentf += port_send(&b.wan, &fl[sentf], RTE_MIN(32u, nf - sentf));
		now = rte_rdtsc();
		if (poll_out(&s) > 0)
			last = now;
		if (sent == n && sentf == nf && now - last > b.tsc_hz * 3 / 10)
			break;
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	if (sentf < nf)
		rte_pktmbuf_free_bulk(&fl[sentf], nf - sentf);
	f->seconds = s.last_tsc > t0 ? (double)(s.last_tsc - t0) / (double)b.tsc_hz : 0;
	f->flood_mpps = f->seconds > 0 ? (double)s.data / f->seconds / 1e6 : 0;
	f->initiations_sent = sentf;
	f->initiation_rate = f->seconds > 0 ? (double)sentf / f->seconds : 0;
	f->cookies = s.cookies;
	f->responses = s.responses;
	f->engine_hs_rx = engine_hs_rx() - hs0;
	settle(64);
out_tmpl:
	rte_pktmbuf_free_bulk(tmpl, 64);
out:
	free(pkts);
	free(fl);
	fprintf(stderr, "\r\033[K[bench] flood: data %.3f Mpps alone, %.3f Mpps beside %.0f "
			"initiations/s; %" PRIu64 " cookie replies, %" PRIu64 " responses\n",
		f->base_mpps, f->flood_mpps, f->initiation_rate, f->cookies, f->responses);
}

/* Let the engine learn the generator's MAC on both ports. */
static void
warm_up(void)
{
	struct rte_mbuf *pkts[64];
	struct bench_run r = {.peers = 1, .size = 64};
	struct bench_hs hs;
	uint64_t bytes;

	handshake(1, &hs);
	confirm(1);
	for (int dir = 0; dir < 2; dir++) {
		r.encrypt = dir == 1;
		bytes = build(1, 64, r.encrypt, pkts, 64);
		if (bytes != 0)
			timed(&r, pkts, 64, bytes);
		settle(0);
	}
}

void
bench_run(void)
{
	warm_up();
	for (unsigned st = 0; st < b.n_stages && b.error[0] == '\0'; st++) {
		unsigned n = b.peers[st];
		struct bench_hs *hs = &b.hs[b.n_hs];

		bench_progress("%u peers: handshakes", n);
		if (handshake(n, hs) != 0) {
			snprintf(b.error, sizeof(b.error), "handshakes with %u peers failed", n);
			break;
		}
		if (hs->peers >= 100)
			b.n_hs++;
		if (hs->peers > 0)
			fprintf(stderr, "\r\033[K[bench] %6u peers: %u handshakes in %.2f s: "
					"%.0f/s (%u failed)\n",
				n, hs->peers, hs->seconds, hs->per_sec, hs->failed);
		confirm(n);
		if (st + 1 == b.n_stages && !b.e2e) {
			unsigned est = 0;

			for (unsigned i = 0; i < n; i++)
				est += b.g.peers[i].established_ns != 0;
			b.mem_established_peers = est;
			bench_mem_sample(&b.mem_established);
		}
		for (unsigned z = 0; z < b.n_sizes && b.error[0] == '\0'; z++) {
			data_run(n, b.sizes[z], false);
			data_run(n, b.sizes[z], true);
		}
	}
	if (b.flood && b.error[0] == '\0')
		flood();
	bench_progress("done\n");
}
