/*
 * bench_engine.h — shared state of gate44-bench-engine: bench_engine.c
 * builds the engine and its ring ports, bench_phases.c drives the traffic
 * from the generator lcore and bench_report.c writes the figures.
 */
#ifndef GATE44_BENCH_ENGINE_H
#define GATE44_BENCH_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "gen.h"

struct dp_engine;

enum {
	BENCH_MAX_STAGES = 8,
	BENCH_MAX_SIZES = 8,
	BENCH_IMIX = 0xffff,        /* the sizes list's "imix" */
	BENCH_RX_RING = 1024,       /* generator -> engine: what a NIC ring holds */
	BENCH_TX_RING = 16384,      /* engine -> generator */
	BENCH_GEN_LCORE = 2,        /* the generator (on core 0, as the main lcore) */
	BENCH_FLOOD_PEERS = 1000,   /* established peers beside the flood */
	BENCH_MAX_REPS = 9,
};

/* A port of the system under test, seen from the generator: the engine's
 * net_ring device (engine-only), or our own ethdev on the wire (end to end). */
struct bench_port {
	struct rte_ring *rx;        /* the engine's rx queue 0 */
	struct rte_ring *tx[2];     /* its tx queues: worker, main lcore */
	bool ethdev;                /* end to end: port_id, queue 0 both ways */
	uint16_t port_id;
};

struct bench_mem {
	uint64_t rss;               /* resident bytes of the process */
	uint64_t heap;              /* bytes allocated from DPDK's heap */
};

/* One timed run: a direction, a size, a peer count. */
struct bench_run {
	unsigned peers;
	unsigned size;              /* inner IPv4 bytes, BENCH_IMIX */
	bool encrypt;               /* internet -> users */
	uint64_t sent, received, engine_drops;
	double seconds;
	double mpps, gbps;          /* of inner packets and inner bytes */
	double cycles_per_pkt;      /* of the worker core: tsc_hz / pps */
	double full_ratio;          /* share of generator polls that met a full rx ring */
	double offered_mpps;        /* the rate the generator sent at */
	double pace_pps;            /* 0: as fast as the port takes them */
	unsigned reps;              /* full-load runs; the figures are the median's */
	bool generator_bound;       /* end to end: all the generator sent came through */
	double mpps_min, mpps_max;
	double lat_load_mpps;       /* the rate the latency was measured at */
	double lat_p50_us, lat_p99_us, lat_p999_us;
	uint64_t lat_samples;
};

struct bench_hs {
	unsigned peers;             /* handshakes in the timed batch */
	unsigned completed, failed;
	double seconds, per_sec;
};

struct bench_flood {
	double base_mpps;           /* established peers' data rate, no flood */
	double flood_mpps;          /* the same during the flood */
	uint64_t initiations_sent;
	double initiation_rate;     /* offered, per second */
	uint64_t cookies, responses;
	uint64_t engine_hs_rx;
	double seconds;
};

struct bench {
	struct dp_engine *eng;
	struct gen g;
	uint8_t pop_pub[32];
	struct bench_port wan, inet;
	unsigned peers[BENCH_MAX_STAGES], n_stages;
	unsigned sizes[BENCH_MAX_SIZES], n_sizes;
	bool quick, flood;
	bool smoke;                 /* a few thousand packets a run: does it work (tests) */
	bool cold;                  /* frames from DRAM, not warmed as a NIC would */
	bool hugepages;             /* EAL --in-memory on hugepages, else --no-huge */
	unsigned reps;              /* full-load runs per figure (median) */
	bool e2e;                   /* over the wire: no latency, no engine counters */
	const char *label;          /* the system under test (end to end) */
	const char *json_path;
	uint64_t tsc_hz;
	unsigned mem_mb;

	struct bench_run runs[BENCH_MAX_STAGES * BENCH_MAX_SIZES * 2];
	unsigned n_runs;
	struct bench_hs hs[BENCH_MAX_STAGES];
	unsigned n_hs;
	struct bench_flood fl;
	struct bench_mem mem_empty, mem_engine, mem_peers, mem_established;
	unsigned mem_established_peers;
	uint64_t stray;             /* frames from the engine nobody expected */
	int dynfield;               /* offset of the tx timestamp in an mbuf */
	char error[256];
};

extern struct bench b;

/* "1,1000,10000" (and "imix" when allowed) into v[0..*n), at most max
 * numbers of 1..10 000 000: 0, or -1 on anything else. */
int bench_parse_list(const char *s, unsigned *v, unsigned max, unsigned *n, bool allow_imix);
int bench_setup_gen(unsigned max_peers);
/* The generator's packet pool for max_peers peers: buffers, bytes. */
unsigned bench_pool_mbufs(unsigned max_peers);
uint64_t bench_pool_bytes(unsigned max_peers);
void bench_run(void);          /* on the generator lcore */
int bench_report(void);        /* after the lcores stopped */
void bench_mem_sample(struct bench_mem *m);
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* GATE44_BENCH_ENGINE_H */
