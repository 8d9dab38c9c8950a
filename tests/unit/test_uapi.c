/*
 * test_uapi.c — unit tests of the WireGuard UAPI (control/uapi.c): the set=1
 * parser on every key, good and bad (table-driven); the exact get=1 text;
 * 20000 random mutations of valid requests (never a crash; every accepted
 * request survives a re-serialise/re-parse round trip); the socket server
 * driven by poll() like the daemon drives it; and, end to end, the stock
 * wg(8) binary against the server on /var/run/wireguard/g44t<pid>.sock with
 * an in-memory device model standing in for the daemon (test double of
 * struct uapi_ops, with wireguard-go's semantics). Single-threaded: the test
 * runs the server loop itself while wg(8) runs as a child process.
 *
 * wg(8) must be installed: without it the end-to-end test fails.
 * Set GATE44_SEED to replay a fuzz run; the seed used is always printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sodium.h>

#include "uapi.h"

extern char **environ;

#define H1  "086863f05c9cfc113e2f46a803c56a91b96e504c14cbe36c2b7757122ab66d7d"
#define H2  "a093259b4b95001b633ee66a1556251efb7a41aa058b24c768b5c811341b9e75"
#define H3  "3c9c86a2dcd16df9486ad07e87f43df00b1ab14ddadcdd6e7050bfbfb40c90f7"
#define HZ  "0000000000000000000000000000000000000000000000000000000000000000"
#define SET "set=1\n"
#define PK  "public_key=" H1 "\n"

static void
unhex(uint8_t *out, const char *hex)
{
	size_t n;

	assert_int_equal(sodium_hex2bin(out, UAPI_KEY_LEN, hex, 64, NULL, &n, NULL), 0);
	assert_int_equal(n, UAPI_KEY_LEN);
}

/* ------------------------------------------------------- parse: table */

struct pcase {
	const char *name;
	const char *req;
	int ret;
};

static const struct pcase bad_cases[] = {
	{"empty input", "", -EPROTO},
	{"get, not set", "get=1\n\n", -EPROTO},
	{"set=2", "set=2\n\n", -EPROTO},
	{"no blank line", SET "listen_port=1\n", -EPROTO},
	{"no newline at all", SET "listen_port=1", -EPROTO},
	{"header only", SET, -EPROTO},
	{"data after blank line", SET "\nlisten_port=1\n", -EPROTO},
	{"blank line inside", SET "listen_port=1\n\nfwmark=1\n\n", -EPROTO},
	{"no =", SET "noequals\n\n", -EPROTO},
	{"unknown device key", SET "foo=bar\n\n", -EINVAL},
	{"unknown peer key", SET PK "foo=bar\n\n", -EINVAL},
	{"empty key", SET "=x\n\n", -EINVAL},
	{"key with space", SET "listen_port =5\n\n", -EINVAL},
	{"upper-case key", SET "LISTEN_PORT=5\n\n", -EINVAL},
	{"private_key bad hex", SET "private_key=zz\n\n", -EINVAL},
	{"private_key 63 digits",
	 SET "private_key=000000000000000000000000000000000000000000000000000000000000000\n\n",
	 -EINVAL},
	{"private_key 'g'", SET "private_key=g" H1 "\n\n", -EINVAL},
	{"private_key 66 digits", SET "private_key=" H1 "00\n\n", -EINVAL},
	{"private_key empty", SET "private_key=\n\n", -EINVAL},
	{"private_key after peer", SET PK "private_key=" H2 "\n\n", -EINVAL},
	{"listen_port 65536", SET "listen_port=65536\n\n", -EINVAL},
	{"listen_port -1", SET "listen_port=-1\n\n", -EINVAL},
	{"listen_port +5", SET "listen_port=+5\n\n", -EINVAL},
	{"listen_port leading space", SET "listen_port= 5\n\n", -EINVAL},
	{"listen_port trailing space", SET "listen_port=5 \n\n", -EINVAL},
	{"listen_port empty", SET "listen_port=\n\n", -EINVAL},
	{"listen_port hex", SET "listen_port=0x10\n\n", -EINVAL},
	{"listen_port huge", SET "listen_port=99999999999999999999999\n\n", -EINVAL},
	{"listen_port after peer", SET PK "listen_port=5\n\n", -EINVAL},
	{"fwmark 2^32", SET "fwmark=4294967296\n\n", -EINVAL},
	{"fwmark hex", SET "fwmark=0x10\n\n", -EINVAL},
	{"replace_peers=false", SET "replace_peers=false\n\n", -EINVAL},
	{"replace_peers=1", SET "replace_peers=1\n\n", -EINVAL},
	{"replace_peers=TRUE", SET "replace_peers=TRUE\n\n", -EINVAL},
	{"replace_peers after peer", SET PK "replace_peers=true\n\n", -EINVAL},
	{"allowed_ip before public_key", SET "allowed_ip=1.2.3.4/32\n\n", -EINVAL},
	{"endpoint before public_key", SET "endpoint=1.2.3.4:5\n\n", -EINVAL},
	{"remove before public_key", SET "remove=true\n\n", -EINVAL},
	{"protocol_version before public_key", SET "protocol_version=1\n\n", -EINVAL},
	{"public_key empty", SET "public_key=\n\n", -EINVAL},
	{"public_key short",
	 SET "public_key=" H1 "\n"
	     "public_key=086863\n\n",
	 -EINVAL},
	{"public_key base64", SET "public_key=CGhj8Fyc/BE+L0aoA8VqkbluUEwUy+NsK3dXEiq2bX0=\n\n",
	 -EINVAL},
	{"preshared_key bad", SET PK "preshared_key=zz\n\n", -EINVAL},
	{"preshared_key empty", SET PK "preshared_key=\n\n", -EINVAL},
	{"remove=false", SET PK "remove=false\n\n", -EINVAL},
	{"remove=1", SET PK "remove=1\n\n", -EINVAL},
	{"update_only=false", SET PK "update_only=false\n\n", -EINVAL},
	{"replace_allowed_ips=false", SET PK "replace_allowed_ips=false\n\n", -EINVAL},
	{"protocol_version=2", SET PK "protocol_version=2\n\n", -EINVAL},
	{"protocol_version=01", SET PK "protocol_version=01\n\n", -EINVAL},
	{"keepalive 65536", SET PK "persistent_keepalive_interval=65536\n\n", -EINVAL},
	{"keepalive empty", SET PK "persistent_keepalive_interval=\n\n", -EINVAL},
	{"keepalive negative", SET PK "persistent_keepalive_interval=-1\n\n", -EINVAL},
	{"endpoint no port", SET PK "endpoint=1.2.3.4\n\n", -EINVAL},
	{"endpoint empty", SET PK "endpoint=\n\n", -EINVAL},
	{"endpoint empty port", SET PK "endpoint=1.2.3.4:\n\n", -EINVAL},
	{"endpoint hostname", SET PK "endpoint=host.example:5\n\n", -EINVAL},
	{"endpoint port 65536", SET PK "endpoint=1.2.3.4:65536\n\n", -EINVAL},
	{"endpoint service name", SET PK "endpoint=1.2.3.4:http\n\n", -EINVAL},
	{"endpoint port +5", SET PK "endpoint=1.2.3.4:+5\n\n", -EINVAL},
	{"endpoint v6 unbracketed", SET PK "endpoint=::1:5\n\n", -EINVAL},
	{"endpoint v4 bracketed", SET PK "endpoint=[1.2.3.4]:5\n\n", -EINVAL},
	{"endpoint v4 leading zero", SET PK "endpoint=01.2.3.4:5\n\n", -EINVAL},
	{"endpoint v4 zone", SET PK "endpoint=1.2.3.4%lo:5\n\n", -EINVAL},
	{"endpoint empty zone", SET PK "endpoint=[::1%]:5\n\n", -EINVAL},
	{"endpoint unknown zone", SET PK "endpoint=[fe80::1%nosuchif0]:5\n\n", -EINVAL},
	{"endpoint no ]", SET PK "endpoint=[::1:5\n\n", -EINVAL},
	{"endpoint ] no port", SET PK "endpoint=[::1]\n\n", -EINVAL},
	{"endpoint ]x", SET PK "endpoint=[::1]x5\n\n", -EINVAL},
	{"endpoint space", SET PK "endpoint=1.2.3.4:5 \n\n", -EINVAL},
	{"endpoint 5 octets", SET PK "endpoint=1.2.3.4.5:5\n\n", -EINVAL},
	{"allowed_ip no length", SET PK "allowed_ip=1.2.3.4\n\n", -EINVAL},
	{"allowed_ip /33", SET PK "allowed_ip=1.2.3.4/33\n\n", -EINVAL},
	{"allowed_ip /129", SET PK "allowed_ip=::/129\n\n", -EINVAL},
	{"allowed_ip /-1", SET PK "allowed_ip=1.2.3.4/-1\n\n", -EINVAL},
	{"allowed_ip / 8", SET PK "allowed_ip=1.2.3.4/ 8\n\n", -EINVAL},
	{"allowed_ip / empty", SET PK "allowed_ip=1.2.3.4/\n\n", -EINVAL},
	{"allowed_ip short v4", SET PK "allowed_ip=1.2.3/8\n\n", -EINVAL},
	{"allowed_ip leading zero", SET PK "allowed_ip=01.2.3.4/8\n\n", -EINVAL},
	{"allowed_ip bracketed", SET PK "allowed_ip=[::1]/128\n\n", -EINVAL},
	{"allowed_ip zone", SET PK "allowed_ip=fe80::1%lo/64\n\n", -EINVAL},
	{"allowed_ip list", SET PK "allowed_ip=1.2.3.4/32,5.6.7.8/32\n\n", -EINVAL},
	{"allowed_ip two slashes", SET PK "allowed_ip=1.2.3.4/32/32\n\n", -EINVAL},
	{"allowed_ip empty", SET PK "allowed_ip=\n\n", -EINVAL},
	{"allowed_ip :::", SET PK "allowed_ip=:::/128\n\n", -EINVAL},
	{"allowed_ip 9 groups", SET PK "allowed_ip=1:2:3:4:5:6:7:8:9/128\n\n", -EINVAL},
	{"allowed_ip trailing space", SET PK "allowed_ip=1.2.3.4/32 \n\n", -EINVAL},
	{"error in 2nd peer", SET PK "allowed_ip=1.2.3.4/32\npublic_key=" H2 "\nendpoint=x\n\n",
	 -EINVAL},
};

static void
test_parse_bad(void **state)
{
	struct uapi_set s;
	char err[256];
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct pcase *c = &bad_cases[i];

		memset(&s, 0xa5, sizeof(s));
		ret = uapi_parse_set(c->req, strlen(c->req), &s, err, sizeof(err));
		if (ret != c->ret)
			fail_msg("%s: ret %d, want %d (%s)", c->name, ret, c->ret, err);
		if (ret != 0) {
			struct uapi_set zero;

			memset(&zero, 0, sizeof(zero));
			if (err[0] == '\0')
				fail_msg("%s: no error message", c->name);
			if (memcmp(&s, &zero, sizeof(s)) != 0)
				fail_msg("%s: *out not empty after an error", c->name);
		}
		uapi_set_free(&s);
	}
}

/* Error messages never echo key material. */
static void
test_parse_err_no_secret(void **state)
{
	const char *req = SET "private_key=" H3 "x\n\n";
	const char *req2 = SET PK "preshared_key=" H3 "0\n\n";
	struct uapi_set s;
	char err[256];

	(void)state;
	assert_int_equal(uapi_parse_set(req, strlen(req), &s, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "3c9c86"));
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(uapi_parse_set(req2, strlen(req2), &s, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "3c9c86"));
	assert_non_null(strstr(err, "line 3"));
	/* A NUL byte, and a NULL err buffer. */
	assert_int_equal(uapi_parse_set(SET "fwmark=1\0\n\n", 15, &s, err, sizeof(err)), -EPROTO);
	assert_int_equal(uapi_parse_set(SET "x\n\n", 9, &s, NULL, 0), -EPROTO);
	assert_int_equal(uapi_parse_set(NULL, 0, &s, err, sizeof(err)), -EPROTO);
	/* The peer-key-in-device-section hint. */
	assert_int_equal(uapi_parse_set(SET "allowed_ip=1.2.3.4/32\n\n", 29, &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "before any public_key"));
}

static void
check_v4(const struct uapi_allowed_ip *a, const char *addr, unsigned int plen)
{
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(a->family, AF_INET);
	assert_string_equal(inet_ntop(AF_INET, &a->addr.v4, buf, sizeof(buf)), addr);
	assert_int_equal(a->plen, plen);
}

static void
check_v6(const struct uapi_allowed_ip *a, const char *addr, unsigned int plen)
{
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(a->family, AF_INET6);
	assert_string_equal(inet_ntop(AF_INET6, &a->addr.v6, buf, sizeof(buf)), addr);
	assert_int_equal(a->plen, plen);
}

static void
test_parse_full(void **state)
{
	static const char req[] = SET "private_key=" H3 "\n"
				      "listen_port=51820\n"
				      "fwmark=4294967295\n"
				      "replace_peers=true\n"
				      "public_key=" H1 "\n"
				      "protocol_version=1\n"
				      "preshared_key=" H2 "\n"
				      "endpoint=192.0.2.1:51820\n"
				      "persistent_keepalive_interval=25\n"
				      "replace_allowed_ips=true\n"
				      "allowed_ip=44.31.1.2/32\n"
				      "allowed_ip=44.31.1.77/24\n"
				      "allowed_ip=2001:db8::1/64\n"
				      "allowed_ip=0.0.0.0/0\n"
				      "allowed_ip=::ffff:1.2.3.4/128\n"
				      "public_key=" H2 "\n"
				      "update_only=true\n"
				      "endpoint=[2001:db8::1]:0\n"
				      "public_key=" H3 "\n"
				      "remove=true\n"
				      "public_key=" H1 "\n"
				      "endpoint=[fe80::1%7]:65535\n"
				      "preshared_key=" HZ "\n"
				      "\n";
	uint8_t k[UAPI_KEY_LEN];
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	struct uapi_set s;
	char err[256];

	(void)state;
	assert_int_equal(uapi_parse_set(req, strlen(req), &s, err, sizeof(err)), 0);
	assert_true(s.has_private_key && s.has_listen_port && s.has_fwmark && s.replace_peers);
	unhex(k, H3);
	assert_memory_equal(s.private_key, k, UAPI_KEY_LEN);
	assert_int_equal(s.listen_port, 51820);
	assert_int_equal(s.fwmark, 4294967295u);
	assert_int_equal(s.n_peers, 4);

	unhex(k, H1);
	assert_memory_equal(s.peers[0].public_key, k, UAPI_KEY_LEN);
	assert_false(s.peers[0].remove || s.peers[0].update_only);
	assert_true(s.peers[0].replace_allowed_ips && s.peers[0].has_preshared_key &&
		    s.peers[0].has_endpoint && s.peers[0].has_persistent_keepalive);
	unhex(k, H2);
	assert_memory_equal(s.peers[0].preshared_key, k, UAPI_KEY_LEN);
	sin = (struct sockaddr_in *)&s.peers[0].endpoint;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000201);
	assert_int_equal(ntohs(sin->sin_port), 51820);
	assert_int_equal(s.peers[0].persistent_keepalive, 25);
	assert_int_equal(s.peers[0].n_allowed_ips, 5);
	check_v4(&s.peers[0].allowed_ips[0], "44.31.1.2", 32);
	check_v4(&s.peers[0].allowed_ips[1], "44.31.1.0", 24); /* host bits masked */
	check_v6(&s.peers[0].allowed_ips[2], "2001:db8::", 64);
	check_v4(&s.peers[0].allowed_ips[3], "0.0.0.0", 0);
	check_v6(&s.peers[0].allowed_ips[4], "::ffff:1.2.3.4", 128);

	assert_memory_equal(s.peers[1].public_key, k, UAPI_KEY_LEN);
	assert_true(s.peers[1].update_only && s.peers[1].has_endpoint);
	assert_false(s.peers[1].has_preshared_key || s.peers[1].has_persistent_keepalive ||
		     s.peers[1].remove || s.peers[1].replace_allowed_ips);
	sin6 = (struct sockaddr_in6 *)&s.peers[1].endpoint;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 0);
	assert_int_equal(sin6->sin6_scope_id, 0);
	assert_int_equal(s.peers[1].n_allowed_ips, 0);

	assert_true(s.peers[2].remove);
	assert_false(s.peers[2].has_endpoint);

	unhex(k, H1);
	assert_memory_equal(s.peers[3].public_key, k, UAPI_KEY_LEN);
	sin6 = (struct sockaddr_in6 *)&s.peers[3].endpoint;
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_int_equal(sin6->sin6_scope_id, 7);
	assert_true(s.peers[3].has_preshared_key);
	assert_true(sodium_is_zero(s.peers[3].preshared_key, UAPI_KEY_LEN));
	uapi_set_free(&s);
	assert_null(s.peers);
}

static void
test_parse_details(void **state)
{
	struct uapi_set s;
	char err[256];
	const char *r;

	(void)state;
	/* The empty transaction. */
	assert_int_equal(uapi_parse_set(SET "\n", 7, &s, err, sizeof(err)), 0);
	assert_false(s.has_private_key || s.has_listen_port || s.has_fwmark || s.replace_peers);
	assert_int_equal(s.n_peers, 0);
	uapi_set_free(&s);

	/* Duplicate device keys: the last wins (wireguard-go). Leading zeros. */
	r = SET "listen_port=5000\nlisten_port=0051820\nfwmark=1\nfwmark=0\n\n";
	assert_int_equal(uapi_parse_set(r, strlen(r), &s, err, sizeof(err)), 0);
	assert_int_equal(s.listen_port, 51820);
	assert_true(s.has_fwmark);
	assert_int_equal(s.fwmark, 0);
	uapi_set_free(&s);

	/* All-zero private key (= remove it); upper-case hex. */
	r = SET "private_key=" HZ "\npublic_key="
		"086863F05C9CFC113E2F46A803C56A91B96E504C14CBE36C2B7757122AB66D7D\n\n";
	assert_int_equal(uapi_parse_set(r, strlen(r), &s, err, sizeof(err)), 0);
	assert_true(s.has_private_key);
	assert_true(sodium_is_zero(s.private_key, UAPI_KEY_LEN));
	assert_int_equal(s.peers[0].public_key[0], 0x08);
	uapi_set_free(&s);

	/* CRLF lines are accepted (wireguard-go's line scanner drops '\r'). */
	r = SET "listen_port=5000\r\n" PK "allowed_ip=10.0.0.0/8\r\n\n";
	assert_int_equal(uapi_parse_set(r, strlen(r), &s, err, sizeof(err)), 0);
	assert_int_equal(s.listen_port, 5000);
	check_v4(&s.peers[0].allowed_ips[0], "10.0.0.0", 8);
	uapi_set_free(&s);

	/* replace_allowed_ips drops the allowed_ip lines before it. */
	r = SET PK "allowed_ip=10.0.0.1/32\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n\n";
	assert_int_equal(uapi_parse_set(r, strlen(r), &s, err, sizeof(err)), 0);
	assert_int_equal(s.peers[0].n_allowed_ips, 1);
	check_v4(&s.peers[0].allowed_ips[0], "10.0.0.2", 32);
	uapi_set_free(&s);

	/* The same peer twice stays two ordered operations; last field wins. */
	r = SET PK "persistent_keepalive_interval=025\npersistent_keepalive_interval=0\n" PK
		   "allowed_ip=1.2.3.4/032\n\n";
	assert_int_equal(uapi_parse_set(r, strlen(r), &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_peers, 2);
	assert_true(s.peers[0].has_persistent_keepalive);
	assert_int_equal(s.peers[0].persistent_keepalive, 0);
	check_v4(&s.peers[1].allowed_ips[0], "1.2.3.4", 32);
	uapi_set_free(&s);

	/* An interface name as IPv6 zone. */
	r = SET PK "endpoint=[fe80::1%lo]:51820\n\n";
	assert_int_equal(uapi_parse_set(r, strlen(r), &s, err, sizeof(err)), 0);
	assert_int_equal(((struct sockaddr_in6 *)&s.peers[0].endpoint)->sin6_scope_id,
			 if_nametoindex("lo"));
	uapi_set_free(&s);

	/* Many peers and allowed IPs (the arrays grow). */
	{
		char *big = malloc(1 << 20), *p = big;
		int i;

		assert_non_null(big);
		p += sprintf(p, SET);
		for (i = 0; i < 300; i++) {
			p += sprintf(p, "public_key=%064x\n", i);
			p += sprintf(p, "preshared_key=" H3 "\n");
			for (int j = 0; j < 10; j++)
				p += sprintf(p, "allowed_ip=10.%d.%d.0/24\n", i % 256, j);
		}
		p += sprintf(p, "\n");
		assert_int_equal(uapi_parse_set(big, p - big, &s, err, sizeof(err)), 0);
		assert_int_equal(s.n_peers, 300);
		assert_int_equal(s.peers[299].public_key[31], 299 & 0xff);
		assert_int_equal(s.peers[299].n_allowed_ips, 10);
		check_v4(&s.peers[299].allowed_ips[9], "10.43.9.0", 24);
		uapi_set_free(&s);
		free(big);
	}
}

/* --------------------------------------------------------------- format */

static void
test_format(void **state)
{
	struct uapi_allowed_ip a1[3], a2[1];
	struct uapi_peer_info peers[3];
	struct uapi_device dev;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	size_t len;
	char *t;

	(void)state;
	memset(&dev, 0, sizeof(dev));
	memset(peers, 0, sizeof(peers));
	memset(a1, 0, sizeof(a1));
	memset(a2, 0, sizeof(a2));

	/* Nothing set: only the errno line. */
	t = uapi_format_get(&dev, &len);
	assert_non_null(t);
	assert_string_equal(t, "errno=0\n\n");
	assert_int_equal(len, 9);
	uapi_text_free(t, len);

	dev.has_private_key = true;
	unhex(dev.private_key, H3);
	dev.listen_port = 51820;
	dev.fwmark = 44;
	dev.peers = peers;
	dev.n_peers = 3;

	unhex(peers[0].public_key, H1);
	unhex(peers[0].preshared_key, H2);
	sin = (struct sockaddr_in *)&peers[0].endpoint;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	peers[0].last_handshake_sec = 1700000000;
	peers[0].last_handshake_nsec = 123456789;
	peers[0].tx_bytes = 148;
	peers[0].rx_bytes = UINT64_MAX;
	peers[0].persistent_keepalive = 25;
	a1[0].family = AF_INET;
	a1[0].plen = 32;
	inet_pton(AF_INET, "44.31.1.2", &a1[0].addr.v4);
	a1[1].family = AF_INET6;
	a1[1].plen = 64;
	inet_pton(AF_INET6, "2001:db8:44::", &a1[1].addr.v6);
	a1[2].family = AF_INET;
	a1[2].plen = 0;
	peers[0].allowed_ips = a1;
	peers[0].n_allowed_ips = 3;

	unhex(peers[1].public_key, H2);
	sin6 = (struct sockaddr_in6 *)&peers[1].endpoint;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(1);
	inet_pton(AF_INET6, "2001:db8:0:1:1:1:1:1", &sin6->sin6_addr);
	a2[0].family = AF_INET6;
	a2[0].plen = 128;
	inet_pton(AF_INET6, "::ffff:1.2.3.4", &a2[0].addr.v6);
	peers[1].allowed_ips = a2;
	peers[1].n_allowed_ips = 1;

	unhex(peers[2].public_key, H3);
	sin6 = (struct sockaddr_in6 *)&peers[2].endpoint;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(51820);
	sin6->sin6_scope_id = 3;
	inet_pton(AF_INET6, "fe80::1", &sin6->sin6_addr);

	t = uapi_format_get(&dev, &len);
	assert_non_null(t);
	assert_string_equal(t, "private_key=" H3 "\n"
			       "listen_port=51820\n"
			       "fwmark=44\n"
			       "public_key=" H1 "\n"
			       "preshared_key=" H2 "\n"
			       "protocol_version=1\n"
			       "endpoint=192.0.2.1:51820\n"
			       "last_handshake_time_sec=1700000000\n"
			       "last_handshake_time_nsec=123456789\n"
			       "tx_bytes=148\n"
			       "rx_bytes=18446744073709551615\n"
			       "persistent_keepalive_interval=25\n"
			       "allowed_ip=44.31.1.2/32\n"
			       "allowed_ip=2001:db8:44::/64\n"
			       "allowed_ip=0.0.0.0/0\n"
			       "public_key=" H2 "\n"
			       "preshared_key=" HZ "\n"
			       "protocol_version=1\n"
			       "endpoint=[2001:db8:0:1:1:1:1:1]:1\n"
			       "last_handshake_time_sec=0\n"
			       "last_handshake_time_nsec=0\n"
			       "tx_bytes=0\n"
			       "rx_bytes=0\n"
			       "persistent_keepalive_interval=0\n"
			       "allowed_ip=::ffff:1.2.3.4/128\n"
			       "public_key=" H3 "\n"
			       "preshared_key=" HZ "\n"
			       "protocol_version=1\n"
			       "endpoint=[fe80::1%3]:51820\n"
			       "last_handshake_time_sec=0\n"
			       "last_handshake_time_nsec=0\n"
			       "tx_bytes=0\n"
			       "rx_bytes=0\n"
			       "persistent_keepalive_interval=0\n"
			       "errno=0\n\n");
	assert_int_equal(len, strlen(t));
	uapi_text_free(t, len);

	/* A zero private key is not printed, like wireguard-go. */
	memset(dev.private_key, 0, UAPI_KEY_LEN);
	dev.n_peers = 0;
	t = uapi_format_get(&dev, &len);
	assert_string_equal(t, "listen_port=51820\nfwmark=44\nerrno=0\n\n");
	uapi_text_free(t, len);

	/* Bad families and prefix lengths are refused, not printed. */
	dev.n_peers = 1;
	a1[2].plen = 33;
	errno = 0;
	assert_null(uapi_format_get(&dev, &len));
	assert_int_equal(errno, EINVAL);
	a1[2].plen = 0;
	a1[2].family = AF_UNIX;
	assert_null(uapi_format_get(&dev, &len));
	a1[2].family = AF_INET;
	peers[0].endpoint.ss_family = AF_UNIX;
	assert_null(uapi_format_get(&dev, &len));
	uapi_text_free(NULL, 0);
}

/* ----------------------------------------------------------------- fuzz */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static size_t
rndn(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* Serialise a parsed set back to text (the same transaction, canonical). */
static size_t
serialise(const struct uapi_set *s, char *buf, size_t cap)
{
	char hex[65], a[INET6_ADDRSTRLEN];
	size_t i, j, n = 0;

#define OUT(...) (n += snprintf(buf + n, cap - n, __VA_ARGS__), assert_true(n < cap))
	OUT("set=1\n");
	if (s->has_private_key)
		OUT("private_key=%s\n", sodium_bin2hex(hex, 65, s->private_key, 32));
	if (s->has_listen_port)
		OUT("listen_port=%u\n", s->listen_port);
	if (s->has_fwmark)
		OUT("fwmark=%" PRIu32 "\n", s->fwmark);
	if (s->replace_peers)
		OUT("replace_peers=true\n");
	for (i = 0; i < s->n_peers; i++) {
		const struct uapi_peer_op *op = &s->peers[i];

		OUT("public_key=%s\n", sodium_bin2hex(hex, 65, op->public_key, 32));
		if (op->remove)
			OUT("remove=true\n");
		if (op->update_only)
			OUT("update_only=true\n");
		if (op->has_preshared_key)
			OUT("preshared_key=%s\n", sodium_bin2hex(hex, 65, op->preshared_key, 32));
		if (op->has_endpoint && op->endpoint.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)&op->endpoint;

			inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
			OUT("endpoint=%s:%u\n", a, ntohs(sin->sin_port));
		} else if (op->has_endpoint) {
			const struct sockaddr_in6 *sin6 = (const void *)&op->endpoint;

			assert_int_equal(sin6->sin6_family, AF_INET6);
			inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
			OUT("endpoint=[%s%%%" PRIu32 "]:%u\n", a, sin6->sin6_scope_id,
			    ntohs(sin6->sin6_port));
		}
		if (op->has_persistent_keepalive)
			OUT("persistent_keepalive_interval=%u\n", op->persistent_keepalive);
		if (op->replace_allowed_ips)
			OUT("replace_allowed_ips=true\n");
		for (j = 0; j < op->n_allowed_ips; j++) {
			const struct uapi_allowed_ip *aip = &op->allowed_ips[j];

			inet_ntop(aip->family, aip->addr.bytes, a, sizeof(a));
			OUT("allowed_ip=%s/%u\n", a, aip->plen);
		}
	}
	OUT("\n");
#undef OUT
	return n;
}

static void
assert_same_set(const struct uapi_set *x, const struct uapi_set *y)
{
	size_t i;

	assert_int_equal(x->has_private_key, y->has_private_key);
	assert_int_equal(x->has_listen_port, y->has_listen_port);
	assert_int_equal(x->has_fwmark, y->has_fwmark);
	assert_int_equal(x->replace_peers, y->replace_peers);
	assert_memory_equal(x->private_key, y->private_key, UAPI_KEY_LEN);
	assert_int_equal(x->listen_port, y->listen_port);
	assert_int_equal(x->fwmark, y->fwmark);
	assert_int_equal(x->n_peers, y->n_peers);
	for (i = 0; i < x->n_peers; i++) {
		const struct uapi_peer_op *a = &x->peers[i], *b = &y->peers[i];

		assert_memory_equal(a->public_key, b->public_key, UAPI_KEY_LEN);
		assert_int_equal(a->remove, b->remove);
		assert_int_equal(a->update_only, b->update_only);
		assert_int_equal(a->replace_allowed_ips, b->replace_allowed_ips);
		assert_int_equal(a->has_preshared_key, b->has_preshared_key);
		assert_int_equal(a->has_endpoint, b->has_endpoint);
		assert_int_equal(a->has_persistent_keepalive, b->has_persistent_keepalive);
		assert_memory_equal(a->preshared_key, b->preshared_key, UAPI_KEY_LEN);
		assert_int_equal(a->persistent_keepalive, b->persistent_keepalive);
		assert_memory_equal(&a->endpoint, &b->endpoint, sizeof(a->endpoint));
		assert_int_equal(a->n_allowed_ips, b->n_allowed_ips);
		if (a->n_allowed_ips)
			assert_memory_equal(a->allowed_ips, b->allowed_ips,
					    a->n_allowed_ips * sizeof(*a->allowed_ips));
	}
}

static const char *const seeds[] = {
	SET "private_key=" H3 "\nlisten_port=51820\nfwmark=7\nreplace_peers=true\n" PK
	    "preshared_key=" H2 "\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\n"
	    "replace_allowed_ips=true\nallowed_ip=44.31.1.2/32\nallowed_ip=2001:db8::/64\n"
	    "protocol_version=1\n\n",
	SET PK "remove=true\npublic_key=" H2 "\nupdate_only=true\nendpoint=[2001:db8::1]:5\n\n",
	SET "listen_port=1\n" PK "endpoint=[fe80::1%1]:51820\nallowed_ip=0.0.0.0/0\n"
	    "allowed_ip=::/0\n\n",
	SET "\n",
};

static const char fuzz_alphabet[] = "\n\n\n====/::[]%.0123456789abcdefABCDEF xtrue-+\r";

static const char *const fuzz_lines[] = {
	"allowed_ip=10.1.2.3/24\n",
	"endpoint=[::1]:1\n",
	"public_key=" H2 "\n",
	"remove=true\n",
	"replace_peers=true\n",
	"private_key=" HZ "\n",
	"fwmark=9\n",
	"\n",
	"update_only=true\n",
	"preshared_key=" H1 "\n",
	"listen_port=65535\n",
};

/* One random edit of buf (len bytes, room for cap). */
static size_t
mutate(char *buf, size_t len, size_t cap)
{
	size_t at = rndn(len + 1), n;

	switch (rnd() % 7) {
	case 0: /* flip bits of a byte */
		if (len)
			buf[rndn(len)] ^= (char)(1u << rndn(8));
		break;
	case 1: /* replace a byte from the alphabet */
		if (len)
			buf[rndn(len)] = fuzz_alphabet[rndn(sizeof(fuzz_alphabet) - 1)];
		break;
	case 2: /* insert a byte */
		if (len + 1 < cap) {
			memmove(buf + at + 1, buf + at, len - at);
			buf[at] = fuzz_alphabet[rndn(sizeof(fuzz_alphabet) - 1)];
			len++;
		}
		break;
	case 3: /* delete a run */
		n = rndn(8) + 1;
		if (at + n <= len) {
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
		}
		break;
	case 4: { /* insert a whole line at a line start */
		const char *l = fuzz_lines[rndn(sizeof(fuzz_lines) / sizeof(fuzz_lines[0]))];
		char *nl = memchr(buf + at, '\n', len - at);

		n = strlen(l);
		at = nl ? (size_t)(nl - buf) + 1 : len;
		if (len + n < cap) {
			memmove(buf + at + n, buf + at, len - at);
			memcpy(buf + at, l, n);
			len += n;
		}
		break;
	}
	case 5: /* truncate */
		len = at;
		break;
	default: /* random byte anywhere, NUL included */
		if (len)
			buf[rndn(len)] = (char)rnd();
		break;
	}
	return len;
}

static void
test_parse_fuzz(void **state)
{
	char buf[4096], again[8192], err[256];
	unsigned int ok = 0, bad = 0, i, k;
	const char *env = getenv("GATE44_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x4434u;

	(void)state;
	printf("# test_parse_fuzz seed 0x%" PRIx64 "\n", seed);
	rng_state = seed ? seed : 1;
	for (i = 0; i < 20000; i++) {
		const char *s = seeds[rndn(sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(s), rounds = 1 + rndn(4);
		struct uapi_set set, set2;
		int ret;

		memcpy(buf, s, len);
		for (k = 0; k < rounds; k++)
			len = mutate(buf, len, sizeof(buf));
		ret = uapi_parse_set(buf, len, &set, err, sizeof(err));
		if (ret != 0) {
			if (ret != -EINVAL && ret != -EPROTO)
				fail_msg("case %u: ret %d", i, ret);
			if (err[0] == '\0' || set.peers != NULL || set.n_peers != 0)
				fail_msg("case %u: error %d without message or with peers", i, ret);
			bad++;
			continue;
		}
		ok++;
		len = serialise(&set, again, sizeof(again));
		ret = uapi_parse_set(again, len, &set2, err, sizeof(err));
		if (ret != 0)
			fail_msg("case %u: re-parse failed: %s\n%.*s", i, err, (int)len, again);
		assert_same_set(&set, &set2);
		uapi_set_free(&set);
		uapi_set_free(&set2);
	}
	printf("# %u accepted, %u refused\n", ok, bad);
	assert_true(ok > 500 && bad > 5000);
}

/* ------------------------------------------------ the device model */

/*
 * A test double of the daemon: one WireGuard device in memory with
 * wireguard-go's semantics, every set applied to a copy that replaces the
 * device only if the whole transaction succeeds.
 */
#define M_AIPS 16

struct mpeer {
	uint8_t pub[UAPI_KEY_LEN];
	uint8_t psk[UAPI_KEY_LEN];
	struct sockaddr_storage ep;
	uint16_t keepalive;
	uint64_t hs_sec, rx, tx;
	size_t n_aips;
	struct uapi_allowed_ip aips[M_AIPS];
};

struct model {
	bool has_priv;
	uint8_t priv[UAPI_KEY_LEN];
	uint16_t port;
	uint32_t fwmark;
	size_t n_peers, cap_peers;
	struct mpeer *peers;
	int get_errno; /* get fails with this when non-zero */
	unsigned int sets, gets, frees;
};

static struct mpeer *
m_find(struct model *m, const uint8_t *pub)
{
	size_t i;

	for (i = 0; i < m->n_peers; i++)
		if (memcmp(m->peers[i].pub, pub, UAPI_KEY_LEN) == 0)
			return &m->peers[i];
	return NULL;
}

static void
m_del(struct model *m, struct mpeer *p)
{
	memmove(p, p + 1, (m->peers + m->n_peers - p - 1) * sizeof(*p));
	m->n_peers--;
}

static bool
aip_eq(const struct uapi_allowed_ip *a, const struct uapi_allowed_ip *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       memcmp(a->addr.bytes, b->addr.bytes, a->family == AF_INET ? 4 : 16) == 0;
}

static int
m_apply(struct model *m, const struct uapi_set *s, char *err, size_t errlen)
{
	uint8_t own[UAPI_KEY_LEN];
	size_t i, j, k, q;

	if (s->has_private_key) {
		memcpy(m->priv, s->private_key, UAPI_KEY_LEN);
		m->has_priv = !sodium_is_zero(s->private_key, UAPI_KEY_LEN);
	}
	if (s->has_listen_port) {
		if (s->listen_port == 1) {
			snprintf(err, errlen, "port 1 is taken (test)");
			return -EADDRINUSE;
		}
		m->port = s->listen_port;
	}
	if (s->has_fwmark)
		m->fwmark = s->fwmark;
	if (s->replace_peers)
		m->n_peers = 0;
	if (m->has_priv)
		crypto_scalarmult_base(own, m->priv);
	for (i = 0; i < s->n_peers; i++) {
		const struct uapi_peer_op *op = &s->peers[i];
		struct mpeer *p;

		if (m->has_priv && memcmp(op->public_key, own, UAPI_KEY_LEN) == 0)
			continue;
		p = m_find(m, op->public_key);
		if (op->remove) {
			if (p)
				m_del(m, p);
			continue;
		}
		if (p == NULL) {
			if (op->update_only)
				continue;
			if (m->n_peers == m->cap_peers)
				return -ENOSPC;
			p = &m->peers[m->n_peers++];
			memset(p, 0, sizeof(*p));
			memcpy(p->pub, op->public_key, UAPI_KEY_LEN);
		}
		if (op->has_preshared_key)
			memcpy(p->psk, op->preshared_key, UAPI_KEY_LEN);
		if (op->has_endpoint)
			p->ep = op->endpoint;
		if (op->has_persistent_keepalive)
			p->keepalive = op->persistent_keepalive;
		if (op->replace_allowed_ips)
			p->n_aips = 0;
		for (j = 0; j < op->n_allowed_ips; j++) {
			/* An allowed IP has one owner: take it from whoever has it. */
			for (k = 0; k < m->n_peers; k++)
				for (q = 0; q < m->peers[k].n_aips;)
					if (aip_eq(&m->peers[k].aips[q], &op->allowed_ips[j]))
						m->peers[k].aips[q] =
							m->peers[k].aips[--m->peers[k].n_aips];
					else
						q++;
			if (p->n_aips == M_AIPS) {
				snprintf(err, errlen, "too many allowed IPs (test)");
				return -E2BIG;
			}
			p->aips[p->n_aips++] = op->allowed_ips[j];
		}
	}
	return 0;
}

static int
m_set(void *ctx, const char *ifname, const struct uapi_set *s, char *err, size_t errlen)
{
	struct model *m = ctx, copy;
	int ret;

	(void)ifname;
	m->sets++;
	copy = *m;
	copy.peers = malloc(m->cap_peers * sizeof(*m->peers));
	if (copy.peers == NULL)
		return -ENOMEM;
	memcpy(copy.peers, m->peers, m->n_peers * sizeof(*m->peers));
	ret = m_apply(&copy, s, err, errlen);
	if (ret != 0) {
		free(copy.peers);
		return ret;
	}
	free(m->peers);
	*m = copy;
	return 0;
}

static int
m_get(void *ctx, const char *ifname, struct uapi_device *d)
{
	struct model *m = ctx;
	struct uapi_peer_info *pi;
	size_t i;

	(void)ifname;
	m->gets++;
	if (m->get_errno)
		return -m->get_errno;
	pi = calloc(m->n_peers + 1, sizeof(*pi));
	if (pi == NULL)
		return -ENOMEM;
	d->has_private_key = m->has_priv;
	memcpy(d->private_key, m->priv, UAPI_KEY_LEN);
	d->listen_port = m->port;
	d->fwmark = m->fwmark;
	for (i = 0; i < m->n_peers; i++) {
		const struct mpeer *p = &m->peers[i];

		memcpy(pi[i].public_key, p->pub, UAPI_KEY_LEN);
		memcpy(pi[i].preshared_key, p->psk, UAPI_KEY_LEN);
		pi[i].endpoint = p->ep;
		pi[i].last_handshake_sec = p->hs_sec;
		pi[i].rx_bytes = p->rx;
		pi[i].tx_bytes = p->tx;
		pi[i].persistent_keepalive = p->keepalive;
		pi[i].allowed_ips = (struct uapi_allowed_ip *)p->aips;
		pi[i].n_allowed_ips = p->n_aips;
	}
	d->peers = pi;
	d->n_peers = m->n_peers;
	return 0;
}

static void
m_get_free(void *ctx, struct uapi_device *d)
{
	struct model *m = ctx;

	m->frees++;
	free(d->peers);
	sodium_memzero(d, sizeof(*d));
}

static bool verbose_log;

static void
m_log(void *ctx, const char *ifname, const char *msg)
{
	(void)ctx;
	if (verbose_log)
		printf("# uapi %s: %s\n", ifname, msg);
}

static const struct uapi_ops m_ops = {
	.get = m_get,
	.get_free = m_get_free,
	.set = m_set,
	.log = m_log,
};

static void
m_init(struct model *m, size_t cap)
{
	memset(m, 0, sizeof(*m));
	m->cap_peers = cap;
	m->peers = calloc(cap, sizeof(*m->peers));
	assert_non_null(m->peers);
}

/* ------------------------------------------ driving the server */

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One turn of the daemon's loop, with one extra fd of the test's own. */
static short
pump(struct uapi_server *srv, int fd, short events, int timeout_ms)
{
	struct pollfd pfds[UAPI_SERVER_MAX_POLLFDS + 1];
	unsigned int n = uapi_server_pollfds(srv, pfds, UAPI_SERVER_MAX_POLLFDS);
	int r;

	pfds[n] = (struct pollfd){.fd = fd, .events = events};
	r = poll(pfds, n + 1, timeout_ms);
	assert_true(r >= 0 || errno == EINTR);
	assert_int_equal(uapi_server_handle(srv, pfds, r > 0 ? n : 0), 0);
	return r > 0 ? pfds[n].revents : 0;
}

static int
conn(struct uapi_server *srv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sun.sun_path, uapi_server_path(srv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static size_t
count_replies(const char *b, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i + 1 < n; i++)
		if (b[i] == '\n' && b[i + 1] == '\n')
			c++;
	return c;
}

/*
 * Send len bytes of req on fd (then shut down writing if shut), run the
 * server until nreplies answers (each ends with a blank line) or EOF came
 * back. Returns the malloc'd answer text; *eof tells whether fd was closed.
 */
static char *
talk(struct uapi_server *srv, int fd, const char *req, size_t len, bool shut, size_t nreplies,
     size_t *rlen, bool *eof)
{
	size_t sent = 0, got = 0, cap = 1 << 16;
	char *resp = malloc(cap);
	uint64_t deadline = ms_now() + 10000;
	bool shut_done = false;

	assert_non_null(resp);
	*eof = false;
	for (;;) {
		short ev, rev;
		ssize_t r;

		if (sent == len && shut && !shut_done) {
			shutdown(fd, SHUT_WR);
			shut_done = true;
		}
		if (count_replies(resp, got) >= nreplies && nreplies > 0)
			break;
		if (nreplies == 0 && sent == len) {
			for (int i = 0; i < 3; i++)
				pump(srv, -1, 0, 5);
			break;
		}
		if (ms_now() > deadline)
			fail_msg("no answer in time (got %zu bytes)", got);
		ev = POLLIN | (sent < len ? POLLOUT : 0);
		rev = pump(srv, fd, ev, 20);
		if ((rev & POLLOUT) && sent < len) {
			r = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
			if (r > 0)
				sent += r;
			else if (r < 0 && errno != EAGAIN)
				sent = len; /* the server closed on us */
		}
		if (rev & (POLLIN | POLLHUP | POLLERR)) {
			if (got + 4096 > cap) {
				cap *= 2;
				resp = realloc(resp, cap);
				assert_non_null(resp);
			}
			r = recv(fd, resp + got, cap - got - 1, 0);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				*eof = true;
				break;
			}
			if (r > 0)
				got += r;
		}
	}
	resp[got] = '\0';
	*rlen = got;
	return resp;
}

/* talk() with a string literal. */
#define TALK(srv, fd, lit, shut, n, rlen, eof) \
	talk(srv, fd, lit, sizeof(lit) - 1, shut, n, rlen, eof)

/* talk() on a new connection, which is then closed; returns the answer. */
static char *
ask(struct uapi_server *srv, const char *req, size_t nreplies, bool *eof)
{
	size_t rlen;
	int fd = conn(srv);
	char *r = talk(srv, fd, req, strlen(req), false, nreplies, &rlen, eof);

	close(fd);
	return r;
}

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_uapi.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_server_open(void **state)
{
	struct uapi_server *srv, *srv2;
	char dir[128], path[160], err[256];
	struct model m;
	struct stat st;
	int fd;

	(void)state;
	m_init(&m, 4);
	snprintf(dir, sizeof(dir), "%s/a/b", tmpdir);
	srv = uapi_server_open(dir, "wgx0", &m_ops, &m, err, sizeof(err));
	assert_non_null(srv);
	snprintf(path, sizeof(path), "%s/wgx0.sock", dir);
	assert_string_equal(uapi_server_path(srv), path);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* A live listener is refused, and left alone. */
	errno = 0;
	assert_null(uapi_server_open(dir, "wgx0", &m_ops, &m, err, sizeof(err)));
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(err, "live process"));
	uapi_server_close(srv);
	assert_int_equal(lstat(path, &st), -1);

	/* A stale socket (its listener gone) is replaced. */
	{
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sun.sun_path, path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(fd);
	}
	srv = uapi_server_open(dir, "wgx0", &m_ops, &m, err, sizeof(err));
	assert_non_null(srv);

	/* Closing removes the socket only if it is still ours. */
	assert_int_equal(unlink(path), 0);
	srv2 = uapi_server_open(dir, "wgx0", &m_ops, &m, err, sizeof(err));
	assert_non_null(srv2);
	uapi_server_close(srv);
	assert_int_equal(lstat(path, &st), 0);
	uapi_server_close(srv2);
	assert_int_equal(lstat(path, &st), -1);

	/* A file that is not a socket is refused and kept. */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(uapi_server_open(dir, "wgx0", &m_ops, &m, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);

	/* Bad names and arguments. */
	assert_null(uapi_server_open(dir, "", &m_ops, &m, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_null(uapi_server_open(dir, "a/b", &m_ops, &m, err, sizeof(err)));
	assert_null(uapi_server_open(dir, "a b", &m_ops, &m, err, sizeof(err)));
	assert_null(uapi_server_open(dir, "..", &m_ops, &m, err, sizeof(err)));
	assert_null(uapi_server_open(dir, "0123456789abcdef", &m_ops, &m, err, sizeof(err)));
	assert_null(uapi_server_open(dir, "wg0", NULL, &m, NULL, 0));
	fd = open(path, O_CREAT | O_WRONLY, 0644); /* a dir that is a file */
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(uapi_server_open(path, "wg0", &m_ops, &m, err, sizeof(err)));
	assert_int_equal(errno, ENOTDIR);
	unlink(path);
	{
		char longdir[200];

		memset(longdir, 'x', sizeof(longdir) - 1);
		longdir[0] = '/';
		longdir[sizeof(longdir) - 1] = '\0';
		errno = 0;
		assert_null(uapi_server_open(longdir, "wg0", &m_ops, &m, err, sizeof(err)));
		assert_int_equal(errno, ENAMETOOLONG);
	}
	free(m.peers);
}

static void
test_server_requests(void **state)
{
	struct uapi_server *srv;
	char err[256], *r;
	struct model m;
	size_t rlen;
	bool eof;
	int fd;

	(void)state;
	m_init(&m, 4);
	srv = uapi_server_open(tmpdir, "wgr0", &m_ops, &m, err, sizeof(err));
	assert_non_null(srv);
	assert_int_equal(uapi_server_timeout(srv), -1);

	/* get on an empty device */
	r = ask(srv, "get=1\n\n", 1, &eof);
	assert_string_equal(r, "errno=0\n\n");
	free(r);
	assert_int_equal(m.gets, 1);
	assert_int_equal(m.frees, 1);

	/* set, then get on the same connection */
	fd = conn(srv);
	r = TALK(srv, fd, SET "listen_port=51820\n" PK "allowed_ip=44.31.1.2/32\n\n", false, 1,
		 &rlen, &eof);
	assert_string_equal(r, "errno=0\n\n");
	free(r);
	assert_int_equal(m.port, 51820);
	assert_int_equal(m.n_peers, 1);
	assert_true(uapi_server_timeout(srv) > 0);
	assert_true(uapi_server_timeout(srv) <= UAPI_CLIENT_TIMEOUT_MS);

	/* a bad set: errno=-22, nothing applied, connection still usable */
	r = TALK(srv, fd, SET "listen_port=1000\nfoo=bar\n\n", false, 1, &rlen, &eof);
	assert_string_equal(r, "errno=-22\n\n");
	free(r);
	assert_int_equal(m.port, 51820);
	assert_int_equal(m.sets, 1);
	r = TALK(srv, fd, SET "listen_port=1000\n" PK "allowed_ip=10.0.0.0/8\nendpoint=[::1]\n\n",
		 false, 1, &rlen, &eof);
	assert_string_equal(r, "errno=-22\n\n");
	free(r);
	assert_int_equal(m.peers[0].n_aips, 1);

	/* the daemon refuses the whole transaction: its -errno, nothing applied */
	r = TALK(srv, fd, SET "listen_port=1\n" PK "allowed_ip=10.0.0.0/8\n\n", false, 1, &rlen,
		 &eof);
	assert_string_equal(r, "errno=-98\n\n");
	free(r);
	assert_int_equal(m.port, 51820);
	assert_int_equal(m.peers[0].n_aips, 1);
	close(fd);

	/* pipelined set + get in one write: both answered, in order */
	fd = conn(srv);
	{
		const char *req = SET "fwmark=44\n\nget=1\n\n";

		r = talk(srv, fd, req, strlen(req), false, 2, &rlen, &eof);
		assert_string_equal(r, "errno=0\n\nlisten_port=51820\nfwmark=44\npublic_key=" H1
				       "\npreshared_key=" HZ "\nprotocol_version=1\n"
				       "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
				       "tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n"
				       "allowed_ip=44.31.1.2/32\nerrno=0\n\n");
		free(r);
	}
	/* one byte at a time */
	{
		const char *req = SET "fwmark=45\n\n";
		size_t i;

		for (i = 0; req[i]; i++) {
			r = talk(srv, fd, req + i, 1, false, 0, &rlen, &eof);
			assert_int_equal(rlen, 0);
			free(r);
		}
		r = talk(srv, fd, "", 0, false, 1, &rlen, &eof);
		assert_string_equal(r, "errno=0\n\n");
		free(r);
		assert_int_equal(m.fwmark, 45);
	}
	close(fd);

	/* the daemon's get fails: a positive errno, as wg(8) reads it */
	m.get_errno = ENODEV;
	r = ask(srv, "get=1\n\n", 1, &eof);
	assert_string_equal(r, "errno=19\n\n");
	free(r);
	m.get_errno = 0;

	/* an unknown operation: errno=-71, then closed */
	r = ask(srv, "hello\n", 1, &eof);
	assert_string_equal(r, "errno=-71\n\n");
	free(r);
	fd = conn(srv);
	r = TALK(srv, fd, "set=1\r\n\n", false, 2, &rlen, &eof);
	assert_string_equal(r, "errno=-71\n\n");
	assert_true(eof);
	free(r);
	close(fd);
	fd = conn(srv);
	r = TALK(srv, fd, "xxxxxxxxxxxxxxxxxxxxxx", false, 2, &rlen, &eof);
	assert_string_equal(r, "errno=-71\n\n");
	assert_true(eof);
	free(r);
	close(fd);

	/* get=1 followed by something else: errno=-22 (wireguard-go), closed */
	fd = conn(srv);
	r = TALK(srv, fd, "get=1\nx\n", false, 2, &rlen, &eof);
	assert_string_equal(r, "errno=-22\n\n");
	assert_true(eof);
	free(r);
	close(fd);

	/* a set cut short by EOF: errno=-71, nothing applied */
	fd = conn(srv);
	r = TALK(srv, fd, SET "fwmark=99\n", true, 2, &rlen, &eof);
	assert_string_equal(r, "errno=-71\n\n");
	assert_true(eof);
	free(r);
	close(fd);
	assert_int_equal(m.fwmark, 45);

	/* EOF right after a complete request: answered, then closed */
	fd = conn(srv);
	r = TALK(srv, fd, "get=1\n\n", true, 2, &rlen, &eof);
	assert_true(eof);
	assert_non_null(strstr(r, "fwmark=45\n"));
	free(r);
	close(fd);

	/* connect and close at once (what wg(8) does to list interfaces) */
	fd = conn(srv);
	pump(srv, -1, 0, 10); /* accepted */
	assert_int_equal(uapi_server_clients(srv), 1);
	close(fd);
	pump(srv, -1, 0, 10); /* EOF seen, closed */
	assert_int_equal(uapi_server_clients(srv), 0);

	/* more than 1 MiB without a blank line: errno=-90, closed */
	{
		size_t n = UAPI_MAX_REQUEST + 4096, i;
		char *big = malloc(n);

		assert_non_null(big);
		memcpy(big, SET PK, 6 + 76);
		/* one request that never ends: no blank line anywhere */
		for (i = 6 + 76; i < n; i++)
			big[i] = i % 64 == 0 ? '\n' : 'x';
		fd = conn(srv);
		r = talk(srv, fd, big, n, false, 1, &rlen, &eof);
		assert_string_equal(r, "errno=-90\n\n");
		free(r);
		free(big);
		close(fd);
	}
	assert_int_equal(m.fwmark, 45);

	/* too many clients: the extra one is closed at once, the others work */
	{
		int fds[UAPI_MAX_CLIENTS + 1], i;

		for (i = 0; i <= UAPI_MAX_CLIENTS; i++) {
			fds[i] = conn(srv);
			pump(srv, -1, 0, 0);
		}
		pump(srv, -1, 0, 10);
		assert_int_equal(uapi_server_clients(srv), UAPI_MAX_CLIENTS);
		r = talk(srv, fds[UAPI_MAX_CLIENTS], "get=1\n\n", 7, false, 1, &rlen, &eof);
		assert_true(eof);
		assert_int_equal(rlen, 0);
		free(r);
		r = talk(srv, fds[0], "get=1\n\n", 7, false, 1, &rlen, &eof);
		assert_non_null(strstr(r, "errno=0\n\n"));
		free(r);
		for (i = 0; i <= UAPI_MAX_CLIENTS; i++)
			close(fds[i]);
		for (i = 0; i < 20 && uapi_server_clients(srv) > 0; i++)
			pump(srv, -1, 0, 10);
		assert_int_equal(uapi_server_clients(srv), 0);
	}

	uapi_server_close(srv);
	free(m.peers);
}

/* A get answer larger than the socket buffers: sent over many POLLOUTs. */
static void
test_server_big_get(void **state)
{
	struct uapi_server *srv;
	struct uapi_device dev;
	char err[256], *r, *want;
	size_t i, rlen, wlen;
	struct model m;
	bool eof;
	int fd;

	(void)state;
	m_init(&m, 3000);
	for (i = 0; i < 3000; i++) {
		struct mpeer *p = &m.peers[m.n_peers++];

		memset(p, 0, sizeof(*p));
		memcpy(p->pub, &i, sizeof(i));
		p->n_aips = 3;
		for (int j = 0; j < 3; j++) {
			p->aips[j].family = AF_INET;
			p->aips[j].plen = 32;
			p->aips[j].addr.v4.s_addr = htonl(0x2c000000u + (uint32_t)(i * 3 + j));
		}
	}
	srv = uapi_server_open(tmpdir, "wgb0", &m_ops, &m, err, sizeof(err));
	assert_non_null(srv);
	fd = conn(srv);
	r = TALK(srv, fd, "get=1\n\n", false, 1, &rlen, &eof);
	memset(&dev, 0, sizeof(dev));
	assert_int_equal(m_get(&m, "wgb0", &dev), 0);
	want = uapi_format_get(&dev, &wlen);
	m_get_free(&m, &dev);
	assert_true(wlen > 1000000);
	assert_int_equal(rlen, wlen);
	assert_memory_equal(r, want, wlen);
	uapi_text_free(want, wlen);
	free(r);
	close(fd);
	uapi_server_close(srv);
	free(m.peers);
}

/* Random byte streams at the server: it answers or closes, never dies. */
static void
test_server_fuzz(void **state)
{
	struct uapi_server *srv;
	char err[256], buf[2048], *r;
	struct model m;
	size_t rlen;
	bool eof;
	int i;

	(void)state;
	m_init(&m, 64);
	srv = uapi_server_open(tmpdir, "wgf0", &m_ops, &m, err, sizeof(err));
	assert_non_null(srv);
	rng_state = 0x5eedu;
	for (i = 0; i < 400; i++) {
		size_t len = 0;
		int fd, k, parts = 1 + (int)rndn(5);

		for (k = 0; k < parts; k++) {
			const char *s;

			switch (rndn(4)) {
			case 0:
				s = "get=1\n\n";
				break;
			case 1:
				s = seeds[rndn(sizeof(seeds) / sizeof(seeds[0]))];
				break;
			case 2:
				s = fuzz_lines[rndn(sizeof(fuzz_lines) / sizeof(fuzz_lines[0]))];
				break;
			default:
				s = "set=1\n";
				break;
			}
			if (len + strlen(s) < sizeof(buf) / 2) {
				memcpy(buf + len, s, strlen(s));
				len += strlen(s);
			}
		}
		for (k = (int)rndn(4); k > 0; k--)
			len = mutate(buf, len, sizeof(buf));
		fd = conn(srv);
		r = talk(srv, fd, buf, len, true, 1000, &rlen, &eof);
		assert_true(eof);
		free(r);
		close(fd);
	}
	for (i = 0; i < 20 && uapi_server_clients(srv) > 0; i++)
		pump(srv, -1, 0, 10);
	assert_int_equal(uapi_server_clients(srv), 0);
	uapi_server_close(srv);
	free(m.peers);
}

/* ------------------------------------------ end to end with wg(8) */

static char wg_path[256];

static bool
find_wg(void)
{
	const char *path = getenv("PATH");
	char dirs[4096], *d, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/local/bin", path ? path : "");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(wg_path, sizeof(wg_path), "%s/wg", d);
		if (access(wg_path, X_OK) == 0)
			return true;
	}
	return false;
}

/*
 * Run wg(8) with args while this process serves its requests; returns its
 * exit status and its stdout+stderr in out (NUL-terminated).
 */
static int
run_wg(struct uapi_server *srv, char *out, size_t cap, ...)
{
	char *argv[16] = {wg_path};
	const char *a1, *a2;
	va_list ap;
	int argc = 1;
	posix_spawn_file_actions_t fa;
	uint64_t deadline = ms_now() + 20000;
	size_t got = 0;
	int pipefd[2], status = -1;
	bool exited = false, closed = false;
	pid_t pid;

	va_start(ap, cap);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	a1 = argv[1];
	a2 = argc > 2 ? argv[2] : NULL;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	if (posix_spawn(&pid, wg_path, &fa, NULL, argv, environ) != 0)
		fail_msg("cannot run %s", wg_path);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	while (!exited || !closed) {
		short rev;

		if (ms_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("wg %s %s timed out", a1, a2 ? a2 : "");
		}
		rev = pump(srv, closed ? -1 : pipefd[0], POLLIN, 20);
		if (rev & (POLLIN | POLLHUP)) {
			ssize_t r = read(pipefd[0], out + got, cap - 1 - got);

			if (r > 0)
				got += r;
			else if (r == 0 || errno != EAGAIN)
				closed = true;
		}
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	close(pipefd[0]);
	out[got] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define WG(srv, out, ...) run_wg(srv, out, sizeof(out), __VA_ARGS__, (char *)NULL)

static void
b64(char out[45], const uint8_t key[UAPI_KEY_LEN])
{
	sodium_bin2base64(out, 45, key, UAPI_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

static void
key_of(uint8_t priv[UAPI_KEY_LEN], uint8_t pub[UAPI_KEY_LEN], uint8_t seed)
{
	memset(priv, seed, UAPI_KEY_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	crypto_scalarmult_base(pub, priv);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static const char *
ep_str(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		snprintf(buf, n, "%s:%u", inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a)),
			 ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		snprintf(buf, n, "[%s]:%u", inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a)),
			 ntohs(s->sin6_port));
	} else {
		snprintf(buf, n, "(none)");
	}
	return buf;
}

static bool
has_aip(const struct mpeer *p, const char *cidr)
{
	struct uapi_allowed_ip want;
	char text[64], *slash;
	size_t i;

	memset(&want, 0, sizeof(want));
	snprintf(text, sizeof(text), "%s", cidr);
	slash = strchr(text, '/');
	*slash = '\0';
	want.plen = (uint8_t)atoi(slash + 1);
	want.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(want.family, text, want.addr.bytes), 1);
	for (i = 0; i < p->n_aips; i++)
		if (aip_eq(&p->aips[i], &want))
			return true;
	return false;
}

/* The server of the end-to-end test, closed by the teardown if it fails. */
static struct uapi_server *e2e_srv;

static int
teardown_e2e(void **state)
{
	(void)state;
	uapi_server_close(e2e_srv);
	e2e_srv = NULL;
	return 0;
}

static void
test_wg_end_to_end(void **state)
{
	uint8_t dpriv[32], dpub[32], apriv[32], apub[32], bpriv[32], bpub[32], cpriv[32], cpub[32],
		dp2[32], dpk2[32], psk[32];
	char ifname[IF_NAMESIZE], out[16384], want[4096], err[256], conf1[128], conf2[128];
	char k_dpriv[45], k_dpub[45], k_a[45], k_b[45], k_c[45], k_d[45], k_psk[45], e[80];
	struct uapi_server *srv;
	struct mpeer *p;
	struct model m;
	struct stat st;
	int ret;

	(void)state;
	if (!find_wg())
		fail_msg("wg(8) is not installed (apt-get install wireguard-tools): the UAPI "
			 "end-to-end test needs it");
	snprintf(ifname, sizeof(ifname), "g44t%d", (int)getpid());
	snprintf(conf1, sizeof(conf1), "%s/setconf.conf", tmpdir);
	snprintf(conf2, sizeof(conf2), "%s/syncconf.conf", tmpdir);
	key_of(dpriv, dpub, 1);
	key_of(apriv, apub, 2);
	key_of(bpriv, bpub, 3);
	key_of(cpriv, cpub, 4);
	key_of(dp2, dpk2, 5);
	memset(psk, 0x44, sizeof(psk));
	b64(k_dpriv, dpriv);
	b64(k_dpub, dpub);
	b64(k_a, apub);
	b64(k_b, bpub);
	b64(k_c, cpub);
	b64(k_d, dpk2);
	b64(k_psk, psk);

	/* The device: a private key, a port, peer A with a handshake behind it. */
	m_init(&m, 16);
	m.has_priv = true;
	memcpy(m.priv, dpriv, 32);
	m.port = 51820;
	p = &m.peers[m.n_peers++];
	memcpy(p->pub, apub, 32);
	p->hs_sec = 1700000000;
	p->rx = 1234;
	p->tx = 5678;
	p->n_aips = 1;
	p->aips[0].family = AF_INET;
	p->aips[0].plen = 32;
	inet_pton(AF_INET, "44.31.1.9", &p->aips[0].addr.v4);

	srv = e2e_srv = uapi_server_open(NULL, ifname, &m_ops, &m, err, sizeof(err));
	if (srv == NULL)
		fail_msg("uapi_server_open: %s", err);

	/* wg show IF dump */
	ret = WG(srv, out, "show", ifname, "dump");
	if (ret != 0)
		fail_msg("wg show dump: %d: %s", ret, out);
	snprintf(want, sizeof(want),
		 "%s\t%s\t51820\toff\n%s\t(none)\t(none)\t44.31.1.9/32\t"
		 "1700000000\t1234\t5678\toff\n",
		 k_dpriv, k_dpub, k_a);
	assert_string_equal(out, want);

	/* wg set IF peer B allowed-ips ... endpoint ... persistent-keepalive 25 */
	ret = WG(srv, out, "set", ifname, "peer", k_b, "allowed-ips", "44.31.1.2/32", "endpoint",
		 "192.0.2.1:51820", "persistent-keepalive", "25");
	if (ret != 0)
		fail_msg("wg set: %d: %s", ret, out);
	assert_int_equal(m.n_peers, 2);
	p = m_find(&m, bpub);
	assert_non_null(p);
	assert_string_equal(ep_str(&p->ep, e, sizeof(e)), "192.0.2.1:51820");
	assert_int_equal(p->keepalive, 25);
	assert_int_equal(p->n_aips, 1);
	assert_true(has_aip(p, "44.31.1.2/32"));

	ret = WG(srv, out, "show", ifname, "dump");
	assert_int_equal(ret, 0);
	snprintf(want, sizeof(want), "%s\t(none)\t192.0.2.1:51820\t44.31.1.2/32\t0\t0\t0\t25\n",
		 k_b);
	assert_non_null(strstr(out, want));

	/* A refused set: wg reports the daemon's errno, nothing changes. */
	ret = WG(srv, out, "set", ifname, "listen-port", "1", "peer", k_c, "allowed-ips",
		 "10.0.0.0/8");
	assert_int_not_equal(ret, 0);
	assert_non_null(strstr(out, "Address already in use"));
	assert_int_equal(m.port, 51820);
	assert_null(m_find(&m, cpub));

	/* wg setconf: replace_peers -- A goes, B comes back without endpoint. */
	snprintf(want, sizeof(want),
		 "[Interface]\nPrivateKey = %s\nListenPort = 51821\nFwMark = 0x2c\n\n"
		 "[Peer]\nPublicKey = %s\nPresharedKey = %s\n"
		 "AllowedIPs = 44.31.2.0/24, 2001:db8:44::/48\nEndpoint = [2001:db8::1]:51820\n"
		 "PersistentKeepalive = 15\n\n"
		 "[Peer]\nPublicKey = %s\nAllowedIPs = 44.31.1.2/32\n",
		 k_dpriv, k_c, k_psk, k_b);
	write_file(conf1, want);
	ret = WG(srv, out, "setconf", ifname, conf1);
	if (ret != 0)
		fail_msg("wg setconf: %d: %s", ret, out);
	assert_int_equal(m.port, 51821);
	assert_int_equal(m.fwmark, 0x2c);
	assert_int_equal(m.n_peers, 2);
	assert_null(m_find(&m, apub));
	p = m_find(&m, cpub);
	assert_non_null(p);
	assert_memory_equal(p->psk, psk, 32);
	assert_string_equal(ep_str(&p->ep, e, sizeof(e)), "[2001:db8::1]:51820");
	assert_int_equal(p->keepalive, 15);
	assert_int_equal(p->n_aips, 2);
	assert_true(has_aip(p, "44.31.2.0/24") && has_aip(p, "2001:db8:44::/48"));
	p = m_find(&m, bpub);
	assert_non_null(p);
	assert_int_equal(p->ep.ss_family, AF_UNSPEC);
	assert_int_equal(p->keepalive, 0);

	/* wg syncconf: B (not in the file) removed, C's IPs replaced, D added. */
	snprintf(want, sizeof(want),
		 "[Interface]\nPrivateKey = %s\nListenPort = 51822\n\n"
		 "[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 44.31.2.0/25\n"
		 "Endpoint = [2001:db8::1]:51820\nPersistentKeepalive = 15\n\n"
		 "[Peer]\nPublicKey = %s\nAllowedIPs = 44.31.3.3/32, 44.31.1.2/32\n"
		 "Endpoint = 198.51.100.7:4500\n",
		 k_dpriv, k_c, k_psk, k_d);
	write_file(conf2, want);
	ret = WG(srv, out, "syncconf", ifname, conf2);
	if (ret != 0)
		fail_msg("wg syncconf: %d: %s", ret, out);
	assert_int_equal(m.port, 51822);
	assert_int_equal(m.fwmark, 0); /* absent from the file: wg sends fwmark=0 */
	assert_int_equal(m.n_peers, 2);
	assert_null(m_find(&m, bpub));
	p = m_find(&m, cpub);
	assert_non_null(p);
	assert_int_equal(p->n_aips, 1);
	assert_true(has_aip(p, "44.31.2.0/25"));
	p = m_find(&m, dpk2);
	assert_non_null(p);
	assert_int_equal(p->n_aips, 2);
	assert_true(has_aip(p, "44.31.3.3/32") && has_aip(p, "44.31.1.2/32"));
	assert_string_equal(ep_str(&p->ep, e, sizeof(e)), "198.51.100.7:4500");

	/* wg showconf: the whole device back as a config file. */
	ret = WG(srv, out, "showconf", ifname);
	if (ret != 0)
		fail_msg("wg showconf: %d: %s", ret, out);
	snprintf(want, sizeof(want),
		 "[Interface]\nListenPort = 51822\nPrivateKey = %s\n\n"
		 "[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 44.31.2.0/25\n"
		 "Endpoint = [2001:db8::1]:51820\nPersistentKeepalive = 15\n\n"
		 "[Peer]\nPublicKey = %s\nAllowedIPs = 44.31.3.3/32, 44.31.1.2/32\n"
		 "Endpoint = 198.51.100.7:4500\n",
		 k_dpriv, k_c, k_psk, k_d);
	assert_string_equal(out, want);

	/* wg show IF (the human view) and wg show IF listen-port. */
	ret = WG(srv, out, "show", ifname);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(out, "listening port: 51822"));
	assert_non_null(strstr(out, "private key: (hidden)"));
	ret = WG(srv, out, "show", ifname, "listen-port");
	assert_int_equal(ret, 0);
	assert_string_equal(out, "51822\n");

	/* wg set ... remove; and a get the daemon fails (-> wg's error text). */
	ret = WG(srv, out, "set", ifname, "peer", k_d, "remove");
	assert_int_equal(ret, 0);
	assert_null(m_find(&m, dpk2));
	assert_int_equal(m.n_peers, 1);
	m.get_errno = ENODEV;
	ret = WG(srv, out, "show", ifname, "dump");
	assert_int_not_equal(ret, 0);
	assert_non_null(strstr(out, "No such device"));
	m.get_errno = 0;

	/* The socket is root-only and goes away with the server. */
	assert_int_equal(lstat(uapi_server_path(srv), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	uapi_server_close(srv);
	e2e_srv = NULL;
	snprintf(want, sizeof(want), "%s/%s.sock", UAPI_DEFAULT_DIR, ifname);
	assert_int_equal(lstat(want, &st), -1);
	free(m.peers);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_err_no_secret),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_details),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_fuzz),
		cmocka_unit_test(test_server_open),
		cmocka_unit_test(test_server_requests),
		cmocka_unit_test(test_server_big_get),
		cmocka_unit_test(test_server_fuzz),
		cmocka_unit_test_teardown(test_wg_end_to_end, teardown_e2e),
	};

	if (sodium_init() < 0)
		return 1;
	verbose_log = getenv("GATE44_UAPI_VERBOSE") != NULL;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
