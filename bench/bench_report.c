/*
 * bench_report.c — gate44-bench-engine's figures: a JSON document (--json)
 * for bench/run's report, and a summary on stdout.
 */
#include <stdio.h>

#include <jansson.h>

#include "api.h"
#include "bench_engine.h"
#include "dp.h"
#include "engine.h"

static json_t *
mem_json(const struct bench_mem *m)
{
	return json_pack("{sI sI}", "rss_bytes", (json_int_t)m->rss, "heap_bytes",
			 (json_int_t)m->heap);
}

static json_t *
runs_json(void)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < b.n_runs; i++) {
		const struct bench_run *r = &b.runs[i];
		json_t *size = r->size == BENCH_IMIX ? json_string("imix") : json_integer(r->size);

		json_array_append_new(
			a, json_pack("{sI so ss sf sf sf sI sI sI sf sf sf sI sf sf sb s{sf sf sf sf sI}}", "peers",
				     (json_int_t)r->peers, "size", size, "direction",
				     r->encrypt ? "encrypt" : "decrypt", "mpps", r->mpps, "gbps",
				     r->gbps, "cycles_per_packet", r->cycles_per_pkt, "sent",
				     (json_int_t)r->sent, "received", (json_int_t)r->received,
				     "engine_drops", (json_int_t)r->engine_drops, "seconds",
				     r->seconds, "generator_full_ratio", r->full_ratio, "offered_mpps",
				     r->offered_mpps, "reps", (json_int_t)r->reps, "mpps_min",
				     r->mpps_min, "mpps_max", r->mpps_max, "generator_bound",
				     r->generator_bound, "latency",
				     "load_mpps", r->lat_load_mpps, "p50_us", r->lat_p50_us,
				     "p99_us", r->lat_p99_us, "p999_us", r->lat_p999_us, "samples",
				     (json_int_t)r->lat_samples));
	}
	return a;
}

static json_t *
hs_json(void)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < b.n_hs; i++) {
		const struct bench_hs *h = &b.hs[i];

		json_array_append_new(a, json_pack("{sI sI sI sf sf}", "handshakes",
						   (json_int_t)h->peers, "completed",
						   (json_int_t)h->completed, "failed",
						   (json_int_t)h->failed, "seconds", h->seconds,
						   "per_second", h->per_sec));
	}
	return a;
}

static json_t *
memory_json(void)
{
	unsigned n = b.mem_established_peers;
	double rss = n ? ((double)b.mem_established.rss - (double)b.mem_engine.rss) / n : 0;
	double heap = n ? ((double)b.mem_established.heap - (double)b.mem_engine.heap) / n : 0;

	/* hugepages are not in a process's RSS: DPDK's heap is counted apart */
	if (b.hugepages)
		rss += heap;

	/* the peer table is allocated (and zeroed, so resident) for max-peers
	 * slots when the engine starts: its share is added to the growth */
	double slots = n ? (double)sizeof(struct wg_peer) * b.eng->max_peers / n : 0;

	return json_pack("{sI so so so so sf sf sf sI sI}", "established_peers", (json_int_t)n,
			 "before_engine", mem_json(&b.mem_empty), "engine_no_peers",
			 mem_json(&b.mem_engine), "peers_configured", mem_json(&b.mem_peers),
			 "peers_established", mem_json(&b.mem_established), "rss_per_peer_bytes",
			 rss + slots, "rss_growth_per_peer_bytes", rss, "heap_per_peer_bytes", heap,
			 "peer_slot_bytes",
			 (json_int_t)sizeof(struct wg_peer), "keypair_bytes",
			 (json_int_t)sizeof(struct wg_keypair));
}

int
bench_report(void)
{
	json_t *doc;
	const struct bench_flood *f = &b.fl;
	int rc = 0;

	doc = json_pack("{ss sb sI sI so so so s{sf sf sI sf sI sI sI sf} sI ss}", "tool",
			b.e2e ? "gate44-bench-e2e" : "gate44-bench-engine", "quick", b.quick, "tsc_hz", (json_int_t)b.tsc_hz,
			"eal_memory_mb", (json_int_t)b.mem_mb, "runs", runs_json(), "handshakes",
			hs_json(), "memory", memory_json(), "flood", "base_mpps", f->base_mpps,
			"flood_mpps", f->flood_mpps, "initiations_sent",
			(json_int_t)f->initiations_sent, "initiations_per_second",
			f->initiation_rate, "cookie_replies", (json_int_t)f->cookies, "responses",
			(json_int_t)f->responses, "engine_handshakes_rx",
			(json_int_t)f->engine_hs_rx, "seconds", f->seconds, "stray_frames",
			(json_int_t)b.stray, "error", b.error);
	if (doc != NULL && b.eng != NULL)
		json_object_set_new(doc, "engine_stats", dp_api_stats_json());
	if (doc != NULL) {
		json_object_set_new(doc, "frames", json_string(b.cold ? "cold" : "warm"));
		json_object_set_new(doc, "memory_kind",
				    json_string(b.hugepages ? "hugepages" : "4 KiB pages (--no-huge)"));
	}
	if (doc != NULL && b.label != NULL)
		json_object_set_new(doc, "system", json_string(b.label));
	if (doc == NULL) {
		fprintf(stderr, "gate44-bench-engine: cannot build the JSON report\n");
		return -1;
	}
	if (b.json_path != NULL && json_dump_file(doc, b.json_path, JSON_INDENT(1)) != 0) {
		fprintf(stderr, "gate44-bench-engine: cannot write %s\n", b.json_path);
		rc = -1;
	}
	if (b.mem_established_peers > 0 && !b.e2e)
		printf("memory: %u established peers, %.0f B resident per peer (%zu of it the "
		       "peer's slot)\n",
		       b.mem_established_peers,
		       json_real_value(json_object_get(json_object_get(doc, "memory"),
						       "rss_per_peer_bytes")),
		       sizeof(struct wg_peer));
	if (b.error[0] != '\0') {
		fprintf(stderr, "gate44-bench-engine: %s\n", b.error);
		rc = -1;
	}
	json_decref(doc);
	return rc;
}
