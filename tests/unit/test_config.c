/*
 * test_config.c — unit tests of the configuration parser
 * (dataplane/config.c): the helper parsers, a table of good configurations
 * with their parsed values, a table of bad ones with the exact
 * "file:line: reason" expected, conf/gate44-dp.conf.example (found through
 * $GATE44_SRCDIR, which must be set), dp_cfg_load() with key files, and a
 * mutation fuzz loop over the example. Single-threaded.
 *
 * Set GATE44_SEED to replay another fuzz run; the seed used is printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "config.h"

#define NAME "t.conf"

/* wg genkey / wg pubkey pairs; KP0 is the public key of K0. */
#define K0  "WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY="
#define KP0 "JfgIoSM+I3iUlSsPywSNYy2+tU7qVHROMjK/8qM6UWw="
#define K1  "U9iv8U//EKaMPhZqt30vkwZKwbxQf+rs4egns1cjziQ="
#define K2  "FcQPlIscVsx8s9Tla9ZeQJWPzOBn4alG82gMtgKKiX4="
#define PSK "oi4iu4lYIW5acSswPMsm+i7wr4cW87aqxOZuksaJOms="

/* Common heads: P is lines 1-2, P W is lines 1-5, P W PE is lines 1-8. */
#define P  "[port p0]\ndevice = d0\n"
#define W  "[wireguard wg0]\nprivate-key = " K0 "\nlisten-port = 51820\n"
#define PE "[peer]\ninterface = wg0\npublic-key = " K1 "\n"

static const struct dp_cfg zero_cfg;

static void
decode(const char *b64, uint8_t key[32])
{
	assert_int_equal(dp_key_parse(b64, key), 0);
}

static void
assert_prefix(const struct dp_cfg_prefix *p, const char *want)
{
	char buf[DP_CFG_PREFIX_STRLEN];

	dp_prefix_format(p, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
parse_ok(const char *text, struct dp_cfg *cfg)
{
	char err[256] = "";
	int rc = dp_cfg_parse(text, strlen(text), NAME, cfg, err, sizeof(err));

	if (rc != 0)
		fail_msg("unexpected error %d: %s\n--- config:\n%s", rc, err, text);
	assert_string_equal(err, "");
}

/* ---- helpers ---------------------------------------------------------- */

static void
test_prefix_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *out; /* formatted back */
		bool network;
	} cases[] = {
		{"192.0.2.1/24", 0, "192.0.2.1/24", false},
		{"44.0.0.0/9", 0, "44.0.0.0/9", true},
		{"0.0.0.0/0", 0, "0.0.0.0/0", true},
		{"10.0.0.1/32", 0, "10.0.0.1/32", true},
		{"10.0.0.128/24", 0, "10.0.0.128/24", false},
		{"10.0.0.1/31", 0, "10.0.0.1/31", false},
		{"10.0.0.2/31", 0, "10.0.0.2/31", true},
		{"2001:db8::8000/112", 0, "2001:db8::8000/112", false},
		{"2001:db8::8000/113", 0, "2001:db8::8000/113", true},
		{"::/0", 0, "::/0", true},
		{"2001:db8::/32", 0, "2001:db8::/32", true},
		{"2001:db8::1/64", 0, "2001:db8::1/64", false},
		{"::ffff:1.2.3.4/128", 0, "::ffff:1.2.3.4/128", true},
		{"fd44::2/128", 0, "fd44::2/128", true},
		{"44.0.0.0/33", -EINVAL, NULL, false},
		{"::/129", -EINVAL, NULL, false},
		{"10.0.0.0", -EINVAL, NULL, false},
		{"10.0.0.0/", -EINVAL, NULL, false},
		{"/8", -EINVAL, NULL, false},
		{"10.0.0.0/+8", -EINVAL, NULL, false},
		{"10.0.0.0/-1", -EINVAL, NULL, false},
		{"10.0.0.0/0008", -EINVAL, NULL, false},
		{"10.0.0.0/8 ", -EINVAL, NULL, false},
		{" 10.0.0.0/8", -EINVAL, NULL, false},
		{"10.0.0/8", -EINVAL, NULL, false},
		{"256.0.0.0/8", -EINVAL, NULL, false},
		{"fe80::1%eth0/64", -EINVAL, NULL, false},
		{"10.0.0.0/8/8", -EINVAL, NULL, false},
		{"", -EINVAL, NULL, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_cfg_prefix p = {.plen = 99};
		int rc = dp_prefix_parse(cases[i].in, &p);

		if (rc != cases[i].rc)
			fail_msg("dp_prefix_parse('%s') = %d, want %d", cases[i].in, rc,
				 cases[i].rc);
		if (rc != 0) {
			assert_int_equal(p.plen, 99); /* untouched */
			continue;
		}
		assert_prefix(&p, cases[i].out);
		assert_int_equal(dp_prefix_is_network(&p), cases[i].network);
	}
	assert_int_equal(dp_prefix_parse(NULL, NULL), -EINVAL);
}

static void
test_addr_endpoint_key(void **state)
{
	static const struct {
		const char *in;
		int rc, family;
		const char *addr;
		uint16_t port;
	} eps[] = {
		{"192.0.2.10:51820", 0, AF_INET, "192.0.2.10", 51820},
		{"[2001:db8::1]:51820", 0, AF_INET6, "2001:db8::1", 51820},
		{"[::ffff:1.2.3.4]:1", 0, AF_INET6, "::ffff:1.2.3.4", 1},
		{"1.2.3.4:65535", 0, AF_INET, "1.2.3.4", 65535},
		{"1.2.3.4:65536", -EINVAL, 0, NULL, 0},
		{"1.2.3.4:0", -EINVAL, 0, NULL, 0},
		{"1.2.3.4:", -EINVAL, 0, NULL, 0},
		{"1.2.3.4", -EINVAL, 0, NULL, 0},
		{"2001:db8::1:51820", -EINVAL, 0, NULL, 0},
		{"[2001:db8::1]", -EINVAL, 0, NULL, 0},
		{"[2001:db8::1]51820", -EINVAL, 0, NULL, 0},
		{"[1.2.3.4]:5", -EINVAL, 0, NULL, 0},
		{"vpn.example.org:51820", -EINVAL, 0, NULL, 0},
		{"[]:1", -EINVAL, 0, NULL, 0},
		{":1", -EINVAL, 0, NULL, 0},
		{"1.2.3.4:1:2", -EINVAL, 0, NULL, 0},
		{"1.2.3.4:0051820", -EINVAL, 0, NULL, 0},
	};
	uint8_t key[32], want[32] = {0};
	uint8_t a[16];
	int family;

	(void)state;
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		struct sockaddr_storage ss;
		char buf[INET6_ADDRSTRLEN];
		int rc;

		memset(&ss, 0xa5, sizeof(ss));
		rc = dp_endpoint_parse(eps[i].in, &ss);
		if (rc != eps[i].rc)
			fail_msg("dp_endpoint_parse('%s') = %d, want %d", eps[i].in, rc, eps[i].rc);
		if (rc != 0)
			continue;
		assert_int_equal(ss.ss_family, eps[i].family);
		if (eps[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
			assert_int_equal(ntohs(sin->sin_port), eps[i].port);
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
			assert_int_equal(ntohs(sin6->sin6_port), eps[i].port);
			assert_int_equal(sin6->sin6_scope_id, 0);
		}
		assert_string_equal(buf, eps[i].addr);
	}

	assert_int_equal(dp_addr_parse("44.0.0.1", &family, a), 0);
	assert_int_equal(family, AF_INET);
	assert_memory_equal(a, "\x2c\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(dp_addr_parse("fe80::1", &family, a), 0);
	assert_int_equal(family, AF_INET6);
	assert_int_equal(dp_addr_parse("44.0.0.1/32", &family, a), -EINVAL);
	assert_int_equal(dp_addr_parse("", &family, a), -EINVAL);

	assert_int_equal(dp_key_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", key), 0);
	assert_memory_equal(key, want, 32);
	decode(KP0, key);
	static const char *bad_keys[] = {
		"",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	    /* no padding */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",    /* 45 chars */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",	    /* 31 bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",	    /* non-zero padding bits */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-=",	    /* url-safe alphabet */
		"AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA=",	    /* blank */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 36 bytes */
	};
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		memset(key, 0x5a, sizeof(key));
		if (dp_key_parse(bad_keys[i], key) != -EINVAL)
			fail_msg("dp_key_parse('%s') accepted", bad_keys[i]);
		for (int j = 0; j < 32; j++)
			assert_int_equal(key[j], 0x5a);
	}

	/* format: invalid prefixes and short buffers */
	struct dp_cfg_prefix p = {.family = AF_INET, .plen = 33};
	char buf[8];

	dp_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "?");
	p.family = 0;
	dp_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "?");
	assert_int_equal(dp_prefix_parse("192.168.100.200/24", &p), 0);
	dp_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "192.168");
	dp_prefix_format(&p, buf, 0);
	dp_prefix_format(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "?");
}

/* ---- good configurations ---------------------------------------------- */

static void
check_minimal(const struct dp_cfg *c)
{
	assert_int_equal(c->eal_argc, 1);
	assert_string_equal(c->eal_argv[0], "gate44-dp");
	assert_null(c->eal_argv[1]);
	assert_string_equal(c->socket_path, "/run/gate44/engine.sock");
	assert_int_equal(c->workers, -1);
	assert_int_equal(c->mbufs, 16383);
	assert_int_equal(c->burst, 32);
	assert_int_equal(c->max_peers, 131072);
	assert_int_equal(c->n_ports, 1);
	assert_string_equal(c->ports[0].name, "p0");
	assert_string_equal(c->ports[0].device, "d0");
	assert_int_equal(c->ports[0].n_addrs, 0);
	assert_int_equal(c->ports[0].mtu, 1500);
	assert_int_equal(c->ports[0].queues, 1);
	assert_false(c->ports[0].has_mac);
	assert_int_equal(c->ports[0].line, 1);
	assert_int_equal(c->n_wgs, 0);
	assert_int_equal(c->n_peers, 0);
	assert_int_equal(c->n_routes, 0);
	assert_string_equal(c->exception_tap, "");
}

static void
check_eal(const struct dp_cfg *c)
{
	static const char *want[] = {
		"gate44-dp",   "-l",	      "0-1",	       "a b",	       "q\"x\\", "",
		"back\\slash", "--log-level", "lib.eal:debug", "#notacomment", NULL};

	assert_int_equal(c->eal_argc, 10);
	for (int i = 0; i <= 10; i++) {
		if (want[i] == NULL)
			assert_null(c->eal_argv[i]);
		else
			assert_string_equal(c->eal_argv[i], want[i]);
	}
}

static void
check_engine(const struct dp_cfg *c)
{
	assert_string_equal(c->socket_path, "/tmp/e.sock");
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->mbufs, 1023);
	assert_int_equal(c->burst, 256);
	assert_int_equal(c->max_peers, 1);
	assert_int_equal(c->n_peers, 1);
}

static void
check_port(const struct dp_cfg *c)
{
	const struct dp_cfg_port *p = &c->ports[1];

	assert_int_equal(c->n_ports, 2);
	assert_string_equal(p->name, "Up_link-2");
	assert_string_equal(p->device, "net_pcap0,rx_pcap=/tmp/a#b;c,iface=x");
	assert_int_equal(p->n_addrs, 3);
	assert_prefix(&p->addrs[0], "192.0.2.1/24");
	assert_prefix(&p->addrs[1], "2001:db8::1/64");
	assert_prefix(&p->addrs[2], "fe80::1/64");
	assert_int_equal(p->mtu, 9000);
	assert_int_equal(p->queues, 64);
	assert_true(p->has_mac);
	assert_memory_equal(p->mac, "\x02\xab\xcd\xef\x00\x01", 6);
	assert_int_equal(p->line, 3);
}

static void
check_wg_peers(const struct dp_cfg *c)
{
	const struct dp_cfg_peer *p0 = &c->peers[0], *p1 = &c->peers[1];
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&p0->endpoint;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&p1->endpoint;
	uint8_t k[32];

	assert_int_equal(c->n_wgs, 2);
	/* sections keep the order of the file */
	assert_string_equal(c->wgs[1].name, "wg0");
	decode(K0, k);
	assert_memory_equal(c->wgs[1].private_key, k, 32);
	assert_int_equal(c->wgs[1].listen_port, 51820);
	assert_int_equal(c->wgs[1].mtu, 1420);
	assert_int_equal(c->wgs[1].n_addrs, 2);
	assert_prefix(&c->wgs[1].addrs[0], "44.31.1.1/24");
	assert_prefix(&c->wgs[1].addrs[1], "fd44::1/64");
	assert_string_equal(c->wgs[0].name, "wg1");
	assert_int_equal(c->wgs[0].listen_port, 1);
	assert_int_equal(c->wgs[0].mtu, 576);
	assert_int_equal(c->wgs[0].line, 9);

	assert_int_equal(c->n_peers, 3);
	/* the first [peer] comes before its interface in the file */
	assert_int_equal(p0->wg, 1);
	decode(K1, k);
	assert_memory_equal(p0->public_key, k, 32);
	assert_true(p0->has_psk);
	decode(PSK, k);
	assert_memory_equal(p0->psk, k, 32);
	assert_int_equal(p0->n_allowed_ips, 4);
	assert_prefix(&p0->allowed_ips[0], "44.31.1.2/32");
	assert_prefix(&p0->allowed_ips[1], "fd44::2/128");
	assert_prefix(&p0->allowed_ips[2], "44.31.200.0/24");
	assert_prefix(&p0->allowed_ips[3], "0.0.0.0/0");
	assert_true(p0->has_endpoint);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 443);
	assert_int_equal(p0->keepalive, 25);
	assert_int_equal(p0->line, 1);

	assert_int_equal(p1->wg, 0);
	assert_false(p1->has_psk);
	assert_int_equal(p1->n_allowed_ips, 0);
	assert_null(p1->allowed_ips);
	assert_true(p1->has_endpoint);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 51820);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc000020a);
	assert_int_equal(p1->keepalive, 0);
	/* same key on another interface is fine */
	assert_int_equal(c->peers[2].wg, 1);
	assert_int_equal(c->peers[2].keepalive, 65535);
	assert_false(c->peers[2].has_endpoint);
}

static void
check_routes(const struct dp_cfg *c)
{
	const struct dp_cfg_route *r = c->routes;

	assert_int_equal(c->n_routes, 6);
	assert_int_equal(r[0].kind, DP_ROUTE_VIA);
	assert_prefix(&r[0].prefix, "0.0.0.0/0");
	assert_memory_equal(r[0].via, "\xc0\x00\x02\xfe", 4);
	assert_int_equal(r[0].port, 1); /* a port defined after the route */
	assert_int_equal(r[1].kind, DP_ROUTE_VIA);
	assert_prefix(&r[1].prefix, "::/0");
	assert_int_equal(r[1].via[0], 0xfe);
	assert_int_equal(r[1].port, 0);
	assert_int_equal(r[2].kind, DP_ROUTE_PEER);
	assert_int_equal(r[2].peer, 1);
	assert_int_equal(r[3].kind, DP_ROUTE_EXCEPTION);
	assert_int_equal(r[4].kind, DP_ROUTE_DROP);
	assert_prefix(&r[4].prefix, "44.0.0.0/9");
	assert_int_equal(r[5].kind, DP_ROUTE_DROP); /* exception = no, drop = yes */
	assert_prefix(&r[5].prefix, "44.0.0.0/10");
	assert_string_equal(c->exception_tap, "gate44.host-1");
}

static void
check_syntax(const struct dp_cfg *c)
{
	assert_int_equal(c->n_ports, 1);
	assert_string_equal(c->ports[0].name, "p0");
	assert_string_equal(c->ports[0].device, "d0");
	assert_int_equal(c->ports[0].mtu, 1400);
	assert_int_equal(c->ports[0].queues, 2);
	assert_int_equal(c->workers, 3);
	assert_int_equal(c->eal_argc, 3);
	assert_string_equal(c->eal_argv[2], "a;b#c");
}

static void
check_syntax_case(const struct dp_cfg *c)
{
	assert_int_equal(c->n_ports, 1);
	assert_string_equal(c->ports[0].device, "d0");
	assert_int_equal(c->ports[0].mtu, 1400);
}

static void
check_wg_big_mtu_v4(const struct dp_cfg *c)
{
	assert_int_equal(c->wgs[0].mtu, 1279);
	assert_int_equal(c->n_peers, 1);
	assert_int_equal(c->peers[0].keepalive, 0);
}

struct good_case {
	const char *name;
	const char *text;
	void (*check)(const struct dp_cfg *c);
};

static const struct good_case good_cases[] = {
	{"minimal", P, check_minimal},
	{"minimal, no trailing newline", "[port p0]\ndevice = d0", check_minimal},
	{"eal",
	 P "[eal]\nargs = -l 0-1 \"a b\" \"q\\\"x\\\\\" \"\"\n"
	   "args = back\\slash --log-level \"lib.eal:debug\"\n"
	   "args = \"#notacomment\" # a comment\n",
	 check_eal},
	{"engine",
	 "[engine]\nsocket = /tmp/e.sock\nworkers = 0\nmbufs = 1023\nburst = 256\n"
	 "max-peers = 1\n" P W PE,
	 check_engine},
	{"port",
	 P "[port Up_link-2]\n"
	   "device = net_pcap0,rx_pcap=/tmp/a#b;c,iface=x   # the end\n"
	   "address = 192.0.2.1/24\naddress = 2001:db8::1/64\naddress = fe80::1/64\n"
	   "mtu = 9000\nqueues = 64\nmac = 02:AB:cd:EF:00:01\n",
	 check_port},
	{"wireguard and peers, any order",
	 "[peer]\ninterface = wg0\npublic-key = " K1 "\npreshared-key = " PSK "\n"
	 "allowed-ips = 44.31.1.2/32, fd44::2/128\n"
	 "allowed-ips=44.31.200.0/24,0.0.0.0/0\n"
	 "endpoint = [2001:db8::10]:443\npersistent-keepalive = 25\n"
	 "[wireguard wg1]\nprivate-key = " K1 "\nlisten-port = 1\nmtu = 576\n"
	 "address = 10.1.0.1/31\n"
	 "[peer]\ninterface = wg1\npublic-key = " K2 "\nendpoint = 192.0.2.10:51820\n"
	 "persistent-keepalive = off\n" W "address = 44.31.1.1/24\naddress = fd44::1/64\n"
	 "[peer]\ninterface = wg0\npublic-key = " K2 "\npersistent-keepalive = 65535\n" P,
	 check_wg_peers},
	{"routes",
	 "[port p0]\ndevice = d0\naddress = fe80::2/64\n"
	 "[route]\nprefix = 0.0.0.0/0\nvia = 192.0.2.254\nport = p1\n"
	 "[route]\nprefix = ::/0\nvia = fe80::1\nport = p0\n"
	 "[route]\nprefix = 44.31.200.0/24\npeer = " K2 "\n"
	 "[route]\nprefix = 10.0.0.0/8\nexception = yes\n"
	 "[route]\nprefix = 44.0.0.0/9\ndrop = true\n"
	 "[route]\nprefix = 44.0.0.0/10\nexception = no\ndrop = 1\n"
	 "[port p1]\ndevice = d1\n" W PE "[peer]\ninterface = wg0\npublic-key = " K2 "\n"
	 "[exception]\ntap = gate44.host-1\n",
	 check_routes},
	{"syntax: comments, blanks, CRLF, BOM",
	 "\xef\xbb\xbf# comment\r\n; another\r\n\r\n  \t[ port \t p0 ]  ; c\r\n"
	 "\tdevice\t=\td0\t# c\r\nmtu=1400 ;a comment\r\n",
	 check_syntax_case},
	{"syntax 2",
	 "; leading\n[port p0]\n  device =d0 ;comment\n mtu= 1400 \nqueues = 2 #c\n"
	 "[engine]\nworkers = 3\n[eal]\nargs = x a;b#c ; c\n",
	 check_syntax},
	{"wg mtu below 1280 without IPv6",
	 P "[wireguard wg0]\nprivate-key = " K0 "\nlisten-port = 51820\nmtu = 1279\n"
	   "address = 44.0.0.1/24\n" PE "allowed-ips = 44.0.0.2/32\npersistent-keepalive = 0\n",
	 check_wg_big_mtu_v4},
};

static void
test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *g = &good_cases[i];
		struct dp_cfg cfg;

		print_message("good: %s\n", g->name);
		parse_ok(g->text, &cfg);
		g->check(&cfg);
		dp_cfg_free(&cfg);
		assert_memory_equal(&cfg, &zero_cfg, sizeof(cfg));
		dp_cfg_free(&cfg); /* idempotent */
	}
}

/* ---- bad configurations ----------------------------------------------- */

struct bad_case {
	const char *text;
	const char *want; /* must appear in err */
};

static const struct bad_case bad_cases[] = {
	/* structure */
	{"", "t.conf: no [port] section: at least one port is required"},
	{"[engine]\n", "t.conf: no [port] section"},
	{"device = d0\n", "t.conf:1: key 'device' outside of any section"},
	{P "foo = 1\n", "t.conf:3: unknown key 'foo' in [port p0]"},
	{"[port uplink]\ndevice = d0\nfoo = 1\n", "t.conf:3: unknown key 'foo' in [port uplink]"},
	{P "Device = 1\n", "t.conf:3: unknown key 'Device' in [port p0]"},
	{P "[engine]\nsockets = x\n", "t.conf:4: unknown key 'sockets' in [engine]"},
	{P "[port p0]\ndevice = d1\n", "t.conf:3: duplicate port name 'p0'"},
	{P "[wireguard p0]\n", "t.conf:3: name 'p0' is already a port"},
	{W P "[wireguard wg0]\n", "t.conf:6: duplicate wireguard name 'wg0'"},
	{W "[port wg0]\n", "t.conf:4: name 'wg0' is already a wireguard interface"},
	{P "[ports x]\n", "t.conf:3: unknown section '[ports]'"},
	{P "[]\n", "t.conf:3: unknown section '[]'"},
	{P "[port]\n", "t.conf:3: section [port] needs a name"},
	{P "[peer x]\n", "t.conf:3: section [peer] takes no name"},
	{P "[engine main]\n", "t.conf:3: section [engine] takes no name"},
	{P "[port a b]\n", "t.conf:3: bad port name 'a b'"},
	{P "[port abcdefghijklmnop]\n", "t.conf:3: bad port name 'abcdefghijklmnop'"},
	{P "[wireguard wg.0]\n", "t.conf:3: bad wireguard name 'wg.0'"},
	{P "[port p1\n", "t.conf:3: missing ']' in section header"},
	{P "[engine]\n[engine]\n", "t.conf:4: duplicate section [engine]"},
	{P "[eal]\nargs = a\n[eal]\n", "t.conf:5: duplicate section [eal]"},
	{P "[exception]\ntap = t\n[exception]\n", "t.conf:5: duplicate section [exception]"},
	{P "mtu = 1500\nmtu = 1500\n", "t.conf:4: duplicate key 'mtu' in [port p0]"},
	{P "mtu =\n", "t.conf:3: empty value for 'mtu'"},
	{P "mtu\n", "t.conf:3: expected 'key = value', got 'mtu'"},
	{P " = 5\n", "t.conf:3: missing key before '='"},
	{P "\"unterminated # x\n", "t.conf:3: expected 'key = value'"},
	{P "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	 "t.conf:3: expected 'key = value', got '(long text, not shown)'"},
	{P "[wireguard wg0]\n" K0 "\n",
	 "t.conf:4: unknown key '(long text, not shown)' in [wireguard wg0]"},
	/* eal, engine */
	{P "[eal]\nargs = a \"b c\n", "t.conf:4: unterminated quote in args"},
	{P "[engine]\nworkers = -1\n", "t.conf:4: workers '-1' is not a number"},
	{P "[engine]\nworkers = 1024\n", "t.conf:4: workers 1024 out of range 0..1023"},
	{P "[engine]\nworkers = 99999999999999999999999\n",
	 "t.conf:4: workers 99999999999999999999999 out of range"},
	{P "[engine]\nmbufs = 1022\n", "t.conf:4: mbufs 1022 out of range 1023..67108863"},
	{P "[engine]\nburst = 0\n", "t.conf:4: burst 0 out of range 1..256"},
	{P "[engine]\nburst = 257\n", "t.conf:4: burst 257 out of range 1..256"},
	{P "[engine]\nburst = 0x20\n", "t.conf:4: burst '0x20' is not a number"},
	{P "[engine]\nmax-peers = 0\n", "t.conf:4: max-peers 0 out of range 1..16777216"},
	{P
	 "[engine]\nsocket = /run/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	 "t.conf:4: socket path too long (max 107 bytes)"},
	/* ports */
	{"[port p0]\nmtu = 1500\n", "t.conf:1: [port p0] needs device"},
	{P "[port p1]\ndevice = d0\n", "t.conf:4: device 'd0' already used by [port p0]"},
	{P "[port p1]\ndevice = d0 x\n", "t.conf:4: device 'd0 x' contains blanks"},
	{P "address = 192.0.2.1\n", "t.conf:3: bad prefix '192.0.2.1' (missing /length)"},
	{P "address = 44.0.0.0/33\n", "t.conf:3: bad prefix '44.0.0.0/33' (length must be 0..32)"},
	{P "address = ::1/129\n", "t.conf:3: bad prefix '::1/129' (length must be 0..128)"},
	{P "address = 300.0.0.1/8\n", "t.conf:3: bad prefix '300.0.0.1/8' (bad address)"},
	{P "address = 10.0.0.1/x\n", "t.conf:3: bad prefix '10.0.0.1/x' (bad length)"},
	{P "address = 0.0.0.0/0\n", "t.conf:3: address '0.0.0.0/0' is unspecified or multicast"},
	{P "address = 224.0.0.1/4\n",
	 "t.conf:3: address '224.0.0.1/4' is unspecified or multicast"},
	{P "address = ff02::1/64\n", "t.conf:3: address 'ff02::1/64' is unspecified or multicast"},
	{P "address = 10.0.0.1/8\naddress = 10.0.0.1/24\n",
	 "t.conf:4: address 10.0.0.1 already on [port p0]"},
	{P W "address = 10.0.0.2/8\n[port p1]\ndevice = d1\naddress = 10.0.0.2/32\n",
	 "t.conf:9: address 10.0.0.2 already on [wireguard wg0]"},
	{P "address = 10.0.0.1/8\naddress = 10.0.0.2/8\naddress = 10.0.0.3/8\n"
	   "address = 10.0.0.4/8\naddress = 10.0.0.5/8\naddress = 10.0.0.6/8\n"
	   "address = 10.0.0.7/8\naddress = 10.0.0.8/8\naddress = 10.0.0.9/8\n"
	   "address = 10.0.0.10/8\naddress = 10.0.0.11/8\naddress = 10.0.0.12/8\n"
	   "address = 10.0.0.13/8\naddress = 10.0.0.14/8\naddress = 10.0.0.15/8\n"
	   "address = 10.0.0.16/8\naddress = 10.0.0.17/8\n",
	 "t.conf:19: too many addresses in [port p0] (max 16)"},
	{P "mtu = 575\n", "t.conf:3: mtu 575 out of range 576..9000"},
	{P "mtu = 9001\n", "t.conf:3: mtu 9001 out of range 576..9000"},
	{P "queues = 0\n", "t.conf:3: queues 0 out of range 1..64"},
	{P "queues = 65\n", "t.conf:3: queues 65 out of range 1..64"},
	{P "mac = 02:00:00:00:00\n", "t.conf:3: bad mac '02:00:00:00:00'"},
	{P "mac = 02-00-00-00-00-01\n", "t.conf:3: bad mac '02-00-00-00-00-01'"},
	{P "mac = 02:00:00:00:00:0g\n", "t.conf:3: bad mac"},
	{P "mac = 01:00:5e:00:00:01\n", "t.conf:3: mac '01:00:5e:00:00:01' is a multicast address"},
	{P "mac = 00:00:00:00:00:00\n", "t.conf:3: mac '00:00:00:00:00:00' is all zero"},
	/* wireguard */
	{P "[wireguard wg0]\nlisten-port = 1\n",
	 "t.conf:3: [wireguard wg0] needs private-key or private-key-file"},
	{P "[wireguard wg0]\nprivate-key = " K0 "\n",
	 "t.conf:3: [wireguard wg0] needs listen-port"},
	{P "[wireguard wg0]\nprivate-key = abc\n",
	 "t.conf:4: private-key is not 32 bytes of base64"},
	{P "[wireguard wg0]\nprivate-key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
	 "t.conf:4: private-key is not 32 bytes of base64"},
	{P "[wireguard wg0]\nprivate-key = " K0 "\nprivate-key-file = /x\n",
	 "t.conf:5: private-key and private-key-file are mutually exclusive"},
	{P "[wireguard wg0]\nprivate-key = " K0 "\nprivate-key = " K0 "\n",
	 "t.conf:5: duplicate key 'private-key' in [wireguard wg0]"},
	{P W "listen-port = 2\n", "t.conf:6: duplicate key 'listen-port' in [wireguard wg0]"},
	{P "[wireguard wg0]\nlisten-port = 0\n", "t.conf:4: listen-port 0 out of range 1..65535"},
	{P "[wireguard wg0]\nlisten-port = 65536\n",
	 "t.conf:4: listen-port 65536 out of range 1..65535"},
	{P W "[wireguard wg1]\nprivate-key = " K1 "\nlisten-port = 51820\n",
	 "t.conf:8: listen-port 51820 already used by [wireguard wg0]"},
	{P W "mtu = 1279\naddress = fd44::1/64\n",
	 "t.conf:3: [wireguard wg0] carries IPv6 but its mtu 1279 is below 1280"},
	{P W "mtu = 1000\n" PE "allowed-ips = ::/0\n",
	 "t.conf:3: [wireguard wg0] carries IPv6 but its mtu 1000 is below 1280"},
	{P W "address = 44.0.0.0/33\n", "t.conf:6: bad prefix '44.0.0.0/33'"},
	/* peers */
	{P W "[peer]\npublic-key = " K1 "\n", "t.conf:6: [peer] needs interface"},
	{P W "[peer]\ninterface = wg0\n", "t.conf:6: [peer] needs public-key"},
	{P W "[peer]\ninterface = wg9\npublic-key = " K1 "\n",
	 "t.conf:7: peer refers to unknown interface 'wg9'"},
	{P W "[peer]\ninterface = p0\npublic-key = " K1 "\n",
	 "t.conf:7: peer refers to unknown interface 'p0'"},
	{P W "[peer]\ninterface = wg 0\n", "t.conf:7: bad interface name 'wg 0'"},
	{P W "[peer]\npublic-key = " K1 "x\n", "t.conf:7: public-key is not 32 bytes of base64"},
	{P W PE "preshared-key = abc=\n", "t.conf:9: preshared-key is not 32 bytes of base64"},
	{P W PE "allowed-ips = 44.31.1.2/24\n",
	 "t.conf:9: allowed-ips '44.31.1.2/24' has host bits set (did you mean 44.31.1.0/24?)"},
	{P W PE "allowed-ips = fd44::2/64\n",
	 "t.conf:9: allowed-ips 'fd44::2/64' has host bits set (did you mean fd44::/64?)"},
	{P W PE "allowed-ips = 44.0.0.0/33\n",
	 "t.conf:9: bad prefix '44.0.0.0/33' (length must be 0..32)"},
	{P W PE "allowed-ips = 10.0.0.0/8,\n", "t.conf:9: empty entry in allowed-ips"},
	{P W PE "allowed-ips = ,10.0.0.0/8\n", "t.conf:9: empty entry in allowed-ips"},
	{P W PE "allowed-ips = 10.0.0.0/8 11.0.0.0/8\n",
	 "t.conf:9: bad prefix '10.0.0.0/8 11.0.0.0/8'"},
	{P W PE "allowed-ips = 10.0.0.0/8\nallowed-ips = 10.0.0.0/8\n",
	 "t.conf:6: allowed-ips 10.0.0.0/8 listed twice"},
	{P W PE "allowed-ips = 10.0.0.0/8\n[peer]\ninterface = wg0\npublic-key = " K2 "\n"
		"allowed-ips = 10.0.0.0/8\n",
	 "t.conf:10: allowed-ips 10.0.0.0/8 already belongs to the peer at line 6"},
	{P W PE PE, "t.conf:9: duplicate public-key on interface wg0 (also the peer at line 6)"},
	{P W "[peer]\ninterface = wg0\npublic-key = " KP0 "\n",
	 "t.conf:6: peer public-key is the own key of interface wg0"},
	{P W PE "endpoint = vpn.example.org:51820\n",
	 "t.conf:9: bad endpoint 'vpn.example.org:51820' (want a.b.c.d:port or [v6]:port)"},
	{P W PE "endpoint = 2001:db8::1:51820\n", "t.conf:9: bad endpoint '2001:db8::1:51820'"},
	{P W PE "endpoint = 192.0.2.1\n", "t.conf:9: bad endpoint '192.0.2.1'"},
	{P W PE "persistent-keepalive = 65536\n",
	 "t.conf:9: persistent-keepalive 65536 out of range 0..65535"},
	{"[engine]\nmax-peers = 1\n" P W PE "[peer]\ninterface = wg0\npublic-key = " K2 "\n",
	 "t.conf:11: more peers than max-peers (1)"},
	/* routes */
	{P "[route]\nvia = 1.2.3.4\nport = p0\n", "t.conf:3: [route] needs prefix"},
	{P "[route]\nprefix = 0.0.0.0/0\n",
	 "t.conf:3: [route] needs one of via, peer, exception = yes, drop = yes"},
	{P "[route]\nprefix = 0.0.0.0/0\ndrop = yes\nexception = yes\n",
	 "t.conf:3: [route] takes only one of via, peer, exception, drop"},
	{P "[route]\nprefix = 0.0.0.0/0\nvia = 1.2.3.4\n", "t.conf:5: via needs port"},
	{P "[route]\nprefix = 0.0.0.0/0\nport = p0\ndrop = yes\n",
	 "t.conf:5: port is only valid with via"},
	{P "[route]\nprefix = 0.0.0.0/0\nvia = 1.2.3.4\nport = foo\n",
	 "t.conf:6: route via unknown port 'foo'"},
	{P "[route]\nprefix = ::/0\nvia = 1.2.3.4\nport = p0\n",
	 "t.conf:5: via 1.2.3.4 is not of the family of the prefix"},
	{P "[route]\nprefix = 0.0.0.0/0\nvia = 1.2.3.4/32\n",
	 "t.conf:5: bad gateway address '1.2.3.4/32'"},
	{P "[route]\nprefix = 10.0.0.1/8\n",
	 "t.conf:4: route prefix '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)"},
	{P "[route]\nprefix = 10.0.0.0/8\npeer = " K1 "\n",
	 "t.conf:5: route to unknown peer (no [peer] has that public-key)"},
	{P "[route]\nprefix = 10.0.0.0/8\npeer = wg0\n",
	 "t.conf:5: peer is not a public key (32 bytes of base64)"},
	{P W PE "[wireguard wg1]\nprivate-key = " K2 "\nlisten-port = 2\n"
		"[peer]\ninterface = wg1\npublic-key = " K1 "\n"
		"[route]\nprefix = 10.0.0.0/8\npeer = " K1 "\n",
	 "t.conf:17: route peer is ambiguous: that public-key is on interfaces wg0 and wg1"},
	{P "[route]\nprefix = 10.0.0.0/8\nexception = yes\n",
	 "t.conf:3: route to exception, but there is no [exception] section"},
	{P "[route]\nprefix = 10.0.0.0/8\nexception = maybe\n",
	 "t.conf:5: exception must be yes or no, not 'maybe'"},
	{P "[route]\nprefix = 10.0.0.0/8\ndrop = yes\n[route]\nprefix = 10.0.0.0/8\ndrop = yes\n",
	 "t.conf:6: duplicate route 10.0.0.0/8 (also at line 3)"},
	/* exception */
	{P "[exception]\n", "t.conf:3: [exception] needs tap"},
	{P "[exception]\ntap = abcdefghijklmnop\n", "t.conf:4: bad tap name 'abcdefghijklmnop'"},
	{P "[exception]\ntap = a/b\n", "t.conf:4: bad tap name 'a/b'"},
	/* bytes */
	{P "mtu = 1500\x01\n", "t.conf:3: control character 0x01 in line"},
	{P "mtu = 1500\r\r\n", "t.conf:3: control character 0x0d in line"},
	{P "\x7f\n", "t.conf:3: control character 0x7f in line"},
};

/* Cases that need bytes strlen() cannot carry, or that are built at run
 * time (limits, huge lines). */
static void
expect_bad(const char *text, size_t len, const char *want)
{
	struct dp_cfg cfg;
	char err[512];
	int rc;

	memset(&cfg, 0x77, sizeof(cfg)); /* the parser must not trust it */
	memset(err, 'x', sizeof(err));
	rc = dp_cfg_parse(text, len, NAME, &cfg, err, sizeof(err));
	if (rc != -EINVAL)
		fail_msg("rc %d, want -EINVAL (err '%.300s')\n--- config:\n%.2000s", rc, err, text);
	if (strstr(err, want) == NULL)
		fail_msg("err '%s'\n   want '%s'\n--- config:\n%.2000s", err, want, text);
	assert_memory_equal(&cfg, &zero_cfg, sizeof(cfg));
}

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		expect_bad(bad_cases[i].text, strlen(bad_cases[i].text), bad_cases[i].want);
}

static void
test_bad_built(void **state)
{
	size_t cap = 1 << 16, n = 0;
	char *t = malloc(cap);

	(void)state;
	assert_non_null(t);
	/* embedded NUL */
	expect_bad(P "mtu = 15\0"
		     "00\n",
		   sizeof(P "mtu = 15\0"
			    "00\n") -
			   1,
		   "t.conf:3: NUL byte in line");
	expect_bad("\0", 1, "t.conf:1: NUL byte in line");

	/* a line of exactly DP_CFG_LINE_MAX bytes is fine; one more is not */
	n = (size_t)snprintf(t, cap, P "[eal]\nargs = ");
	memset(t + n, 'a', DP_CFG_LINE_MAX - 7);
	n += DP_CFG_LINE_MAX - 7;
	t[n++] = '\n';
	t[n] = '\0';
	{
		struct dp_cfg cfg;

		parse_ok(t, &cfg);
		assert_int_equal(cfg.eal_argc, 2);
		assert_int_equal(strlen(cfg.eal_argv[1]), DP_CFG_LINE_MAX - 7);
		dp_cfg_free(&cfg);
	}
	memmove(t + n, t + n - 1, 2);
	t[n - 1] = 'a';
	expect_bad(t, n + 1, "t.conf:4: line too long (4097 bytes, max 4096)");
	/* a huge line without newline */
	memset(t, 'z', cap);
	expect_bad(t, cap, "t.conf:1: line too long");

	/* 33 ports, 17 wireguard interfaces */
	n = 0;
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(t + n, cap - n, "[port p%d]\ndevice = d%d\n", i, i);
	expect_bad(t, n, "t.conf:65: too many ports (max 32)");
	n = (size_t)snprintf(t, cap, P);
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(t + n, cap - n, "[wireguard w%d]\n", i);
	expect_bad(t, n, "t.conf:3: [wireguard w0] needs listen-port");
	n = (size_t)snprintf(t, cap, P);
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(t + n, cap - n,
				      "[wireguard w%d]\nprivate-key = " K0 "\nlisten-port = %d\n",
				      i, i + 1);
	expect_bad(t, n, "t.conf:51: too many wireguard interfaces (max 16)");

	/* NULL text with a length, NULL cfg */
	{
		char err[64] = "";
		struct dp_cfg cfg;

		assert_int_equal(dp_cfg_parse(NULL, 5, NAME, &cfg, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "t.conf: no configuration");
		assert_int_equal(dp_cfg_parse(P, 5, NAME, NULL, err, sizeof(err)), -EINVAL);
		/* no room for a message: still no crash */
		assert_int_equal(dp_cfg_parse("x", 1, NAME, &cfg, NULL, 0), -EINVAL);
		assert_int_equal(dp_cfg_parse("x", 1, NAME, &cfg, err, 1), -EINVAL);
		assert_string_equal(err, "");
		assert_int_equal(dp_cfg_parse("x", 1, NAME, &cfg, err, 10), -EINVAL);
		assert_string_equal(err, "t.conf:1:");
		assert_int_equal(dp_cfg_parse("x", 1, NULL, &cfg, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "<config>:1: expected 'key = value', got 'x'");
	}
	free(t);
}

/* ---- files ------------------------------------------------------------ */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *
example_path(void)
{
	const char *dir = getenv("GATE44_SRCDIR");
	static char path[4096];

	if (dir == NULL || *dir == '\0')
		fail_msg("GATE44_SRCDIR is not set (the source root, for conf/)");
	snprintf(path, sizeof(path), "%s/conf/gate44-dp.conf.example", dir);
	return path;
}

static void
test_example(void **state)
{
	struct dp_cfg cfg;
	char err[512] = "";
	int rc;

	(void)state;
	rc = dp_cfg_load(example_path(), &cfg, err, sizeof(err));
	if (rc != 0)
		fail_msg("example: %d %s", rc, err);
	assert_int_equal(cfg.eal_argc, 10);
	assert_string_equal(cfg.eal_argv[9], "lib.eal:notice");
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(cfg.n_ports, 2);
	assert_int_equal(cfg.n_wgs, 2);
	assert_int_equal(cfg.n_peers, 3);
	assert_int_equal(cfg.n_routes, 5);
	assert_int_equal(cfg.routes[2].kind, DP_ROUTE_PEER);
	assert_int_equal(cfg.routes[2].peer, 0);
	assert_string_equal(cfg.exception_tap, "gate44-host");
	dp_cfg_free(&cfg);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/gate44-test-config-XXXXXX";
	char path[256], kpath[256], err[512];
	struct dp_cfg cfg;
	uint8_t k[32];
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dp.conf", dir);
	snprintf(kpath, sizeof(kpath), "%s/wg0.key", dir);

	rc = dp_cfg_load(path, &cfg, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err, "dp.conf: cannot open: No such file or directory"));
	assert_memory_equal(&cfg, &zero_cfg, sizeof(cfg));
	assert_int_equal(dp_cfg_load(dir, &cfg, err, sizeof(err)), -EISDIR);

	/* relative key file: from the directory of the config file */
	write_file(path, P "[wireguard wg0]\nprivate-key-file = wg0.key\nlisten-port = 1\n");
	rc = dp_cfg_load(path, &cfg, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err, "dp.conf:4: cannot read private-key-file '"));
	assert_non_null(strstr(err, "/wg0.key': No such file or directory"));

	write_file(kpath, "  " K0 "\n\n");
	rc = dp_cfg_load(path, &cfg, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
	decode(K0, k);
	assert_memory_equal(cfg.wgs[0].private_key, k, 32);
	dp_cfg_free(&cfg);

	write_file(kpath, K0 "x\n");
	rc = dp_cfg_load(path, &cfg, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "dp.conf:4: private-key-file '"));
	assert_non_null(strstr(err, "/wg0.key' is not 32 bytes of base64"));

	/* not a regular file: never block on a FIFO or read a device */
	snprintf(err, sizeof(err),
		 P "[wireguard wg0]\nprivate-key-file = /dev/zero\nlisten-port = 1\n");
	write_file(path, err);
	assert_int_equal(dp_cfg_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(
		strstr(err, "dp.conf:4: private-key-file '/dev/zero' is not a regular file"));
	snprintf(err, sizeof(err), P "[wireguard wg0]\nprivate-key-file = .\nlisten-port = 1\n");
	write_file(path, err);
	assert_int_equal(dp_cfg_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/.' is not a regular file"));

	/* absolute key file */
	snprintf(err, sizeof(err), P "[wireguard wg0]\nprivate-key-file = %s\nlisten-port = 1\n",
		 kpath);
	write_file(path, err);
	write_file(kpath, K1);
	rc = dp_cfg_load(path, &cfg, err, sizeof(err));
	assert_int_equal(rc, 0);
	decode(K1, k);
	assert_memory_equal(cfg.wgs[0].private_key, k, 32);
	dp_cfg_free(&cfg);

	unlink(kpath);
	unlink(path);
	rmdir(dir);
}

/* ---- fuzz ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t
mutate(char *t, size_t len, size_t cap)
{
	static const char special[] = "[]=#;\"\\/:,. \t\n\r0";
	int rounds = 1 + (int)(rng() % 8);

	for (int r = 0; r < rounds; r++) {
		size_t pos = len ? rng() % len : 0;

		switch (rng() % 9) {
		case 0: /* bit flip */
			if (len)
				t[pos] ^= (char)(1u << (rng() % 8));
			break;
		case 1: /* random byte */
			if (len)
				t[pos] = (char)rng();
			break;
		case 2: /* insert NUL, newline or a special character */
		case 3:
			if (len < cap) {
				memmove(t + pos + 1, t + pos, len - pos);
				t[pos] = rng() % 4 == 0 ? '\0'
							: special[rng() % (sizeof(special) - 1)];
				len++;
			}
			break;
		case 4: /* truncate */
			if (rng() % 4 == 0)
				len = pos;
			break;
		case 5: { /* delete a range */
			size_t n = rng() % 64;

			if (pos + n > len)
				n = len - pos;
			memmove(t + pos, t + pos + n, len - pos - n);
			len -= n;
			break;
		}
		case 6: { /* copy a chunk elsewhere (duplicates lines and sections) */
			size_t from = len ? rng() % len : 0, n = rng() % 256;

			if (from + n > len)
				n = len - from;
			if (len + n <= cap) {
				memmove(t + pos + n, t + pos, len - pos);
				memmove(t + pos, from < pos ? t + from : t + from + n, n);
				len += n;
			}
			break;
		}
		case 7: /* a long run of one byte */
			if (rng() % 16 == 0 && len + 5000 <= cap) {
				memmove(t + pos + 5000, t + pos, len - pos);
				memset(t + pos, "a= \"#"[rng() % 5], 5000);
				len += 5000;
			}
			break;
		default: /* swap two bytes */
			if (len) {
				size_t q = rng() % len;
				char c = t[pos];

				t[pos] = t[q];
				t[q] = c;
			}
			break;
		}
	}
	return len;
}

static void
test_fuzz(void **state)
{
	const char *env = getenv("GATE44_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : 0x6a7e44d9c0f1e5edULL;
	size_t base_len, cap;
	char *base = slurp(example_path(), &base_len);
	char *work;
	unsigned int ok = 0, bad = 0;

	(void)state;
	cap = base_len * 4 + 16384;
	work = malloc(cap);
	assert_non_null(work);
	rng_state = seed ? seed : 1;
	print_message("fuzz seed 0x%016" PRIx64 "\n", seed);
	for (int i = 0; i < 20000; i++) {
		struct dp_cfg cfg;
		char err[256];
		size_t len;
		char *exact;
		int rc;

		memcpy(work, base, base_len);
		len = mutate(work, base_len, cap);
		/* an exact-size copy, so reads past the end trip ASan */
		exact = malloc(len ? len : 1);
		assert_non_null(exact);
		memcpy(exact, work, len);
		err[0] = '\0';
		rc = dp_cfg_parse(exact, len, NAME, &cfg, err, sizeof(err));
		if (rc == 0) {
			ok++;
			assert_true(cfg.n_ports > 0);
			assert_non_null(cfg.eal_argv);
			assert_null(cfg.eal_argv[cfg.eal_argc]);
			dp_cfg_free(&cfg);
		} else {
			bad++;
			/* A mutation may turn a comment into a private-key-file line:
			 * reading a file that is not there is an I/O error, -errno. */
			if (rc != -EINVAL && rc < 0 && strstr(err, "cannot read private-key-file"))
				rc = -EINVAL;
			if (rc != -EINVAL || err[0] == '\0' || strncmp(err, NAME ":", 7) != 0)
				fail_msg("iteration %d: rc %d err '%s'", i, rc, err);
			assert_memory_equal(&cfg, &zero_cfg, sizeof(cfg));
		}
		free(exact);
	}
	print_message("fuzz: %u parsed, %u refused\n", ok, bad);
	assert_true(ok > 0 && bad > 0);
	free(work);
	free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse), cmocka_unit_test(test_addr_endpoint_key),
		cmocka_unit_test(test_good),	     cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_built),    cmocka_unit_test(test_example),
		cmocka_unit_test(test_load),	     cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
