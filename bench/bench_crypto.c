/*
 * bench_crypto.c — gate44-bench-crypto: the per-core cost of the data-path
 * crypto. Seals and opens bursts of 32 WireGuard messages, each with its own
 * key (as in a burst from many peers), through every burst AEAD backend at
 * the usual packet sizes, then times X25519 (libsodium crypto_scalarmult,
 * the handshake's cost). Prints a table; --json FILE also writes the results
 * with the machine they were measured on. Single-threaded, pinned to the CPU
 * it starts on; a micro-benchmark, not a test.
 *
 * Cycles are TSC ticks (reference cycles), calibrated against
 * CLOCK_MONOTONIC_RAW; with turbo the core may run faster than the TSC.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <x86intrin.h>

#include <intel-ipsec-mb.h>
#include <jansson.h>
#include <sodium.h>

#include "aead_burst.h"

enum {
	BURST = 32,
	TAG_LEN = 16,
	KEY_LEN = 32,
	CLOCK_EVERY = 16, /* bursts between clock reads */
	DEFAULT_MS = 1000,
	QUICK_MS = 100,
};

static const unsigned sizes[] = {64, 128, 256, 512, 1024, 1420};
static const enum cr_aead_backend backends[] = {CR_AEAD_BACKEND_SODIUM, CR_AEAD_BACKEND_IPSEC_MB};

struct result {
	const char *backend;
	const char *op;
	unsigned size;
	double mpps, gbps, cpb;
};

static double tsc_hz;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
calibrate_tsc(unsigned ms)
{
	struct timespec req = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	double t0, t1;
	uint64_t c0, c1;

	t0 = now_s();
	c0 = __rdtsc();
	nanosleep(&req, NULL);
	t1 = now_s();
	c1 = __rdtsc();
	return (double)(c1 - c0) / (t1 - t0);
}

/* The value of "key : value" on the first /proc/cpuinfo line with key. */
static void
cpuinfo_field(const char *key, char *out, size_t outlen)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	size_t klen = strlen(key);

	snprintf(out, outlen, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, key, klen) != 0 || colon == NULL)
			continue;
		colon++;
		while (*colon == ' ')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, outlen, "%s", colon);
		break;
	}
	fclose(f);
}

static bool
has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Seal or open bursts for ms milliseconds; fill r. Return 0 or -EIO when an
 * op fails (a bug, not a measurement). */
static int
run_aead(struct cr_aead_burst *b, unsigned size, bool seal, unsigned ms, struct result *r)
{
	static uint8_t keys[BURST][KEY_LEN];
	static uint8_t pt[BURST][1420], ct[BURST][1420 + TAG_LEN], out[BURST][1420 + TAG_LEN];
	struct cr_aead_op ops[BURST];
	uint64_t counter = 0, bursts = 0, c0, c1;
	double t0, t1, deadline;

	randombytes_buf(keys, sizeof(keys));
	randombytes_buf(pt, sizeof(pt));
	for (unsigned i = 0; i < BURST; i++)
		ops[i] = (struct cr_aead_op){
			.key = keys[i], .src = pt[i], .dst = ct[i], .counter = i, .len = size};
	/* the messages to open, sealed once; also warms the caches */
	if (cr_aead_burst_seal(b, ops, BURST) != BURST)
		return -EIO;
	if (!seal)
		for (unsigned i = 0; i < BURST; i++) {
			ops[i].src = ct[i];
			ops[i].dst = out[i];
		}
	for (unsigned w = 0; w < 64; w++)
		if ((seal ? cr_aead_burst_seal(b, ops, BURST)
			  : cr_aead_burst_open(b, ops, BURST)) != BURST)
			return -EIO;

	t0 = now_s();
	deadline = t0 + ms / 1000.0;
	c0 = __rdtsc();
	do {
		for (unsigned k = 0; k < CLOCK_EVERY; k++) {
			unsigned ok;

			if (seal) {
				/* a fresh nonce per message, as on the wire */
				for (unsigned i = 0; i < BURST; i++)
					ops[i].counter = counter++;
				ok = cr_aead_burst_seal(b, ops, BURST);
			} else {
				ok = cr_aead_burst_open(b, ops, BURST);
			}
			if (ok != BURST)
				return -EIO;
		}
		bursts += CLOCK_EVERY;
		t1 = now_s();
	} while (t1 < deadline);
	c1 = __rdtsc();

	double pkts = (double)bursts * BURST, secs = t1 - t0;

	r->backend = cr_aead_backend_name(cr_aead_burst_backend(b));
	r->op = seal ? "seal" : "open";
	r->size = size;
	r->mpps = pkts / secs / 1e6;
	r->gbps = pkts * size * 8 / secs / 1e9;
	r->cpb = (double)(c1 - c0) / (pkts * size);
	sodium_memzero(keys, sizeof(keys));
	return 0;
}

/* X25519 shared-secret computations per second. */
static double
run_x25519(unsigned ms, double *cycles_per_op)
{
	uint8_t priv[32], peer_priv[32], peer_pub[32], shared[32];
	uint64_t n = 0, c0, c1;
	double t0, t1, deadline;

	randombytes_buf(priv, sizeof(priv));
	randombytes_buf(peer_priv, sizeof(peer_priv));
	crypto_scalarmult_base(peer_pub, peer_priv);
	t0 = now_s();
	deadline = t0 + ms / 1000.0;
	c0 = __rdtsc();
	do {
		for (unsigned k = 0; k < 16; k++) {
			if (crypto_scalarmult(shared, priv, peer_pub) != 0)
				return -1;
			priv[0] ^= shared[0]; /* a data dependency: nothing to hoist */
		}
		n += 16;
		t1 = now_s();
	} while (t1 < deadline);
	c1 = __rdtsc();
	*cycles_per_op = (double)(c1 - c0) / (double)n;
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(peer_priv, sizeof(peer_priv));
	sodium_memzero(shared, sizeof(shared));
	return (double)n / (t1 - t0);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: gate44-bench-crypto [--quick] [--duration-ms N] [--json FILE]\n"
		"  --quick          %u ms per measurement instead of %u\n"
		"  --duration-ms N  N ms per measurement\n"
		"  --json FILE      also write the results as JSON to FILE\n",
		QUICK_MS, DEFAULT_MS);
}

static int
write_json(const char *path, const char *cpu, const char *flags, unsigned ms,
	   const struct result *res, unsigned nres, double x_ops, double x_cyc,
	   enum cr_aead_backend auto_be)
{
	json_t *root, *machine, *results;
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	int ret;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	machine = json_pack("{s:s, s:b, s:b, s:b, s:b, s:f, s:s, s:s}", "cpu_model", cpu, "avx2",
			    has_flag(flags, "avx2"), "avx512f", has_flag(flags, "avx512f"),
			    "avx512ifma", has_flag(flags, "avx512ifma"), "constant_tsc",
			    has_flag(flags, "constant_tsc"), "tsc_hz", tsc_hz, "libsodium",
			    sodium_version_string(), "ipsec_mb", imb_get_version_str());
	results = json_array();
	for (unsigned i = 0; i < nres; i++)
		json_array_append_new(results, json_pack("{s:s, s:s, s:i, s:i, s:f, s:f, s:f}",
							 "backend", res[i].backend, "op", res[i].op,
							 "size", (int)res[i].size, "burst", BURST,
							 "mpps", res[i].mpps, "gbps", res[i].gbps,
							 "cycles_per_byte", res[i].cpb));
	root = json_pack("{s:s, s:s, s:o, s:i, s:s, s:o, s:{s:f, s:f}}", "benchmark",
			 "gate44-bench-crypto", "timestamp", stamp, "machine", machine,
			 "duration_ms", (int)ms, "auto_backend", cr_aead_backend_name(auto_be),
			 "aead", results, "x25519", "ops_per_sec", x_ops, "cycles_per_op", x_cyc);
	if (root == NULL)
		return -ENOMEM;
	ret = json_dump_file(root, path, JSON_INDENT(2)) == 0 ? 0 : -EIO;
	json_decref(root);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"quick", no_argument, NULL, 'q'},
		{"duration-ms", required_argument, NULL, 'd'},
		{"json", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct result res[2 * 2 * sizeof(sizes) / sizeof(sizes[0])];
	unsigned ms = DEFAULT_MS, nres = 0;
	const char *json_path = NULL;
	char cpu[256], flags[8192];
	enum cr_aead_backend auto_be;
	struct cr_aead_burst *b;
	double x_ops, x_cyc;
	cpu_set_t set;
	int c;

	while ((c = getopt_long(argc, argv, "qd:j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			ms = QUICK_MS;
			break;
		case 'd': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end != '\0' || v == 0 || v > 600000) {
				fprintf(stderr, "bad --duration-ms '%s'\n", optarg);
				return 2;
			}
			ms = (unsigned)v;
			break;
		}
		case 'j':
			json_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("sched_setaffinity (running unpinned)");

	cpuinfo_field("model name", cpu, sizeof(cpu));
	cpuinfo_field("flags", flags, sizeof(flags));
	tsc_hz = calibrate_tsc(ms >= 500 ? 200 : 50);
	b = cr_aead_burst_create(CR_AEAD_BACKEND_AUTO);
	auto_be = b != NULL ? cr_aead_burst_backend(b) : CR_AEAD_BACKEND_SODIUM;
	cr_aead_burst_free(b);

	printf("cpu: %s (avx2 %s, avx512f %s, avx512ifma %s), TSC %.3f GHz\n", cpu,
	       has_flag(flags, "avx2") ? "yes" : "no", has_flag(flags, "avx512f") ? "yes" : "no",
	       has_flag(flags, "avx512ifma") ? "yes" : "no", tsc_hz / 1e9);
	printf("libsodium %s, ipsec-mb %s; auto picks %s; bursts of %u, one key per message, "
	       "%u ms per line\n\n",
	       sodium_version_string(), imb_get_version_str(), cr_aead_backend_name(auto_be), BURST,
	       ms);
	printf("%-10s %-5s %6s %10s %10s %12s\n", "backend", "op", "bytes", "Mpps", "Gbit/s",
	       "cycles/byte");

	for (size_t k = 0; k < sizeof(backends) / sizeof(backends[0]); k++) {
		b = cr_aead_burst_create(backends[k]);
		if (b == NULL) {
			printf("%-10s unavailable: %s\n", cr_aead_backend_name(backends[k]),
			       strerror(errno));
			continue;
		}
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			for (int seal = 1; seal >= 0; seal--) {
				struct result *r = &res[nres];

				if (run_aead(b, sizes[s], seal, ms, r) != 0) {
					fprintf(stderr, "%s: an op failed\n",
						cr_aead_backend_name(backends[k]));
					cr_aead_burst_free(b);
					return 1;
				}
				nres++;
				printf("%-10s %-5s %6u %10.3f %10.3f %12.3f\n", r->backend, r->op,
				       r->size, r->mpps, r->gbps, r->cpb);
				fflush(stdout);
			}
		}
		cr_aead_burst_free(b);
	}

	x_ops = run_x25519(ms, &x_cyc);
	if (x_ops < 0) {
		fprintf(stderr, "x25519 failed\n");
		return 1;
	}
	printf("\nX25519 (libsodium crypto_scalarmult): %.0f ops/s, %.0f cycles/op\n", x_ops,
	       x_cyc);

	if (json_path != NULL) {
		int ret = write_json(json_path, cpu, flags, ms, res, nres, x_ops, x_cyc, auto_be);

		if (ret != 0) {
			fprintf(stderr, "cannot write %s: %s\n", json_path, strerror(-ret));
			return 1;
		}
	}
	return 0;
}
