/*
 * test_wgconf.c — unit tests of the client-config generator
 * (control/wgconf.c) and its QR codes (control/qr.c). Single-threaded;
 * spawns the real tools.
 *
 *  - rendering: a table of configurations and their exact text;
 *  - validation: a table of bad fields, each must give NULL/EINVAL;
 *  - the real consumers: each rendered file goes through `wg-quick strip`,
 *    `wg setconf` onto a wireguard-go interface and back out of
 *    `wg showconf`, and its Address and MTU lines through `ip` in a
 *    private network namespace (as wg-quick up would apply them);
 *  - QR: the PNG decoded by `zbarimg` gives the text back byte for byte;
 *    the PNG's chunks, CRCs and pixels, and the SVG's path, match the
 *    libqrencode symbol module for module.
 *
 * Needs root (wireguard-go, unshare -n), wireguard-tools, wireguard-go,
 * iproute2, util-linux and zbar-tools (tools/setup-deps installs them): a
 * missing tool fails the test, it never skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <qrencode.h>
#include <zlib.h>

#include "qr.h"
#include "wgconf.h"

#define PRIV  "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB   "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PSK   "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define ZERO  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define WGDIR "/var/run/wireguard"

#define LIST(...)    ((const char *const[]){__VA_ARGS__})
#define NLIST(...)   (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define ADDRS(...)   .addresses = LIST(__VA_ARGS__), .n_addresses = NLIST(__VA_ARGS__)
#define DNS(...)     .dns = LIST(__VA_ARGS__), .n_dns = NLIST(__VA_ARGS__)
#define ALLOWED(...) .allowed_ips = LIST(__VA_ARGS__), .n_allowed_ips = NLIST(__VA_ARGS__)

/* ---- helpers: processes and files ---- */

static void
need_tool(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (path == NULL)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return;
		path += n;
		if (*path == ':')
			path++;
	}
	fail_msg("%s not found in PATH: run tools/setup-deps", name);
}

/* Run argv; its stdout into *out (malloc'd, NUL-terminated) unless out is
 * NULL; stderr passes through. Return the exit status, or -1. */
static int
run(const char *const argv[], char **out)
{
	int fd[2], status;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	pid_t pid;

	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(fd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd[0]);
	buf[len] = '\0';
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* ---- rendering ---- */

struct render_case {
	const char *name;
	struct ctl_wgconf c;
	const char *want;
};

static const struct render_case render_cases[] = {
	{
		"full",
		{
			.comment = "gate44 POP ams1, tunnel 17",
			.private_key = PRIV,
			ADDRS("44.1.2.3/32", "2001:db8:4:5::/64"),
			DNS("44.0.0.53", "2001:db8::53"),
			.public_key = PUB,
			.preshared_key = PSK,
			.endpoint_host = "pop.example.net",
			.endpoint_port = 51820,
			.persistent_keepalive = 25,
		},
		"# gate44 POP ams1, tunnel 17\n"
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = 44.1.2.3/32, 2001:db8:4:5::1/64\n"
		"DNS = 44.0.0.53, 2001:db8::53\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"PresharedKey = " PSK "\n"
		"Endpoint = pop.example.net:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 25\n",
	},
	{
		"no psk",
		{
			.private_key = PRIV,
			ADDRS("44.1.2.3/32"),
			.public_key = PUB,
			.endpoint_host = "192.0.2.10",
			.endpoint_port = 51820,
			.persistent_keepalive = 25,
		},
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = 44.1.2.3/32\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"Endpoint = 192.0.2.10:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 25\n",
	},
	{
		"no keepalive",
		{
			.private_key = PRIV,
			ADDRS("44.1.2.3/32"),
			.public_key = PUB,
			.preshared_key = PSK,
			.endpoint_host = "pop.example.net",
			.endpoint_port = 443,
		},
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = 44.1.2.3/32\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"PresharedKey = " PSK "\n"
		"Endpoint = pop.example.net:443\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n",
	},
	{
		"ipv6 endpoint in brackets",
		{
			.private_key = PRIV,
			ADDRS("2001:db8:4:5::/64"),
			.public_key = PUB,
			.endpoint_host = "2001:DB8:0:0::1",
			.endpoint_port = 51820,
		},
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = 2001:db8:4:5::1/64\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"Endpoint = [2001:db8::1]:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n",
	},
	{
		"ipv6 endpoint given in brackets",
		{
			.private_key = PRIV,
			ADDRS("44.1.2.3/32"),
			.public_key = PUB,
			.endpoint_host = "[2001:db8::1]",
			.endpoint_port = 65535,
		},
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = 44.1.2.3/32\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"Endpoint = [2001:db8::1]:65535\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n",
	},
	{
		"several addresses",
		{
			.private_key = PRIV,
			ADDRS("44.1.2.8/29", "44.1.3.4", "2001:DB8:0:1::/64", "2001:db8:0:2::7/64",
			      "2001:db8:0:3::5"),
			.public_key = PUB,
			.endpoint_host = "pop-1.ams.example.net",
			.endpoint_port = 51820,
			.persistent_keepalive = 15,
		},
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = 44.1.2.9/29, 44.1.3.4/32, 2001:db8:0:1::1/64, 2001:db8:0:2::7/64, "
		"2001:db8:0:3::5/128\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"Endpoint = pop-1.ams.example.net:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 15\n",
	},
	{
		"missing private key",
		{
			.comment = "later download: fill in your private key",
			ADDRS("44.1.2.3/32"),
			.public_key = PUB,
			.preshared_key = PSK,
			.endpoint_host = "pop.example.net",
			.endpoint_port = 51820,
			.persistent_keepalive = 25,
		},
		"# later download: fill in your private key\n"
		"[Interface]\n"
		"# PrivateKey = (set your private key here)\n"
		"Address = 44.1.2.3/32\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"PresharedKey = " PSK "\n"
		"Endpoint = pop.example.net:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 25\n",
	},
	{
		"split tunnel, explicit mtu",
		{
			.private_key = PRIV,
			ADDRS("44.1.2.3/32"),
			.mtu = 1380,
			.public_key = PUB,
			.endpoint_host = "192.0.2.10",
			.endpoint_port = 51820,
			ALLOWED("44.0.0.0/9", "44.128.0.0/10", "2001:db8::/32", "192.0.2.1"),
		},
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"Address = 44.1.2.3/32\n"
		"MTU = 1380\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB "\n"
		"Endpoint = 192.0.2.10:51820\n"
		"AllowedIPs = 44.0.0.0/9, 44.128.0.0/10, 2001:db8::/32, 192.0.2.1/32\n",
	},
};

static void
test_render_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(render_cases) / sizeof(render_cases[0]); i++) {
		const struct render_case *rc = &render_cases[i];
		char *got;

		errno = 0;
		got = ctl_wgconf_render(&rc->c);
		if (got == NULL)
			fail_msg("%s: render failed, errno %d", rc->name, errno);
		if (strcmp(got, rc->want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", rc->name, got, rc->want);
		ctl_wgconf_free(got);
	}
}

/* ---- validation ---- */

enum field {
	F_NONE, /* c itself is NULL */
	F_COMMENT,
	F_PRIV,
	F_PUB,
	F_PSK,
	F_ADDR, /* addresses = {v} or {v, v2} */
	F_NADDR,
	F_DNS,
	F_ALLOWED,
	F_HOST,
	F_PORT,
	F_MTU,
	F_MTU_V4ONLY, /* addresses = {"44.1.2.3/32"}, mtu = atoi(v) */
};

struct bad_case {
	enum field f;
	const char *v, *v2;
};

static const struct bad_case bad_cases[] = {
	{F_NONE, NULL, NULL},
	{F_COMMENT, "two\nlines", NULL},
	{F_COMMENT, "tab\there", NULL},
	{F_COMMENT, "del\x7f", NULL},
	{F_COMMENT, "caf\xc3\xa9", NULL},
	{F_COMMENT,
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	 NULL}, /* 129 */
	{F_PRIV, "", NULL},
	{F_PRIV, "short=", NULL},
	{F_PRIV, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk", NULL},	/* 43, no pad */
	{F_PRIV, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmkA", NULL}, /* 44, no pad */
	{F_PRIV, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBml=", NULL}, /* trailing bits */
	{F_PRIV, "yAnz5TF-lXXJte14tji3zlMNq_hd2rYUIgJBgB3fBmk=", NULL}, /* url-safe */
	{F_PRIV, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBg==", NULL}, /* 31 bytes */
	{F_PRIV, " yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", NULL},
	{F_PRIV, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n", NULL},
	{F_PRIV, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3f\nmk=", NULL},
	{F_PUB, NULL, NULL},
	{F_PUB, ZERO, NULL},
	{F_PUB, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nPostUp = id", NULL},
	{F_PUB, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D*=", NULL},
	{F_PSK, "", NULL},
	{F_PSK, "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx=", NULL},
	{F_ADDR, "", NULL},
	{F_ADDR, "44.1.2.3/33", NULL},
	{F_ADDR, "2001:db8::/129", NULL},
	{F_ADDR, "44.1.2.3/", NULL},
	{F_ADDR, "44.1.2.3/032", NULL},
	{F_ADDR, "44.1.2.3/+8", NULL},
	{F_ADDR, "44.1.2.3/8x", NULL},
	{F_ADDR, "44.1.2.256/32", NULL},
	{F_ADDR, "44.1.2/24", NULL},
	{F_ADDR, "044.1.2.3/32", NULL},
	{F_ADDR, " 44.1.2.3/32", NULL},
	{F_ADDR, "44.1.2.3/32\nPostUp = id", NULL},
	{F_ADDR, "44.1.2.3/32, 44.1.2.4/32", NULL},
	{F_ADDR, "44.1.2.3/0", NULL},
	{F_ADDR, "0.0.0.0/32", NULL},
	{F_ADDR, "127.0.0.1/32", NULL},
	{F_ADDR, "224.0.0.1/32", NULL},
	{F_ADDR, "ff02::1/128", NULL},
	{F_ADDR, "::1/128", NULL},
	{F_ADDR, "::/128", NULL},
	{F_ADDR, "fe80::1%eth0/64", NULL},
	{F_ADDR, "pop.example.net", NULL},
	{F_ADDR, "44.1.2.3/32", "44.1.2.3/24"},	     /* same address twice */
	{F_ADDR, "2001:db8::/64", "2001:db8::1/64"}, /* same once derived */
	{F_NADDR, "0", NULL},
	{F_NADDR, "33", NULL},
	{F_NADDR, "null", NULL},
	{F_DNS, "dns.example.net", NULL},
	{F_DNS, "44.0.0.53/32", NULL},
	{F_DNS, "0.0.0.0", NULL},
	{F_DNS, "", NULL},
	{F_DNS, "44.0.0.53 ", NULL},
	{F_ALLOWED, "44.1.2.3/8", NULL},
	{F_ALLOWED, "0.0.0.0/33", NULL},
	{F_ALLOWED, "2001:db8::1/64", NULL},
	{F_ALLOWED, "default", NULL},
	{F_ALLOWED, "", NULL},
	{F_HOST, NULL, NULL},
	{F_HOST, "", NULL},
	{F_HOST, "pop..example.net", NULL},
	{F_HOST, ".pop.example.net", NULL},
	{F_HOST, "pop.example.net.", NULL},
	{F_HOST, "-pop.example.net", NULL},
	{F_HOST, "pop-.example.net", NULL},
	{F_HOST, "pop_1.example.net", NULL},
	{F_HOST, "pop example.net", NULL},
	{F_HOST, "pop.example.net:51820", NULL},
	{F_HOST, "pop.example.net\nPostUp = id", NULL},
	{F_HOST, "1.2.3", NULL},
	{F_HOST, "256.1.1.1", NULL},
	{F_HOST, "0.0.0.0", NULL},
	{F_HOST, "[::]", NULL},
	{F_HOST, "::", NULL},
	{F_HOST, "[44.1.2.3]", NULL},
	{F_HOST, "[2001:db8::1", NULL},
	{F_HOST, "2001:db8::1]", NULL},
	{F_HOST, "[]", NULL},
	{F_HOST, "fe80::1%eth0", NULL},
	/* a 64-character label */
	{F_HOST, "a234567890123456789012345678901234567890123456789012345678901234.example", NULL},
	{F_HOST, "long", NULL}, /* replaced by 254 characters below */
	{F_PORT, "0", NULL},
	{F_MTU, "1279", NULL}, /* with an IPv6 address */
	{F_MTU, "9001", NULL},
	{F_MTU_V4ONLY, "575", NULL},
};

static void
test_render_invalid(void **state)
{
	static const char *const addrs[] = {"44.1.2.3/32", "2001:db8:4:5::/64"};
	static char many[CTL_WGCONF_LIST_MAX + 1][24];
	const char *many_p[CTL_WGCONF_LIST_MAX + 1];
	char longhost[256];

	(void)state;
	/* 254 characters of valid labels */
	memset(longhost, 'a', 254);
	for (size_t i = 50; i < 254; i += 50)
		longhost[i] = '.';
	longhost[254] = '\0';
	for (size_t i = 0; i <= CTL_WGCONF_LIST_MAX; i++) {
		snprintf(many[i], sizeof(many[i]), "44.1.%zu.1/32", i);
		many_p[i] = many[i];
	}

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct ctl_wgconf c = {
			.comment = "ok",
			.private_key = PRIV,
			.addresses = addrs,
			.n_addresses = 2,
			.dns = LIST("44.0.0.53"),
			.n_dns = 1,
			.public_key = PUB,
			.preshared_key = PSK,
			.endpoint_host = "pop.example.net",
			.endpoint_port = 51820,
			.persistent_keepalive = 25,
		};
		const char *pair[2] = {b->v, b->v2};
		char *got;

		/* the base is valid */
		got = ctl_wgconf_render(&c);
		assert_non_null(got);
		ctl_wgconf_free(got);

		switch (b->f) {
		case F_NONE:
			break;
		case F_COMMENT:
			c.comment = b->v;
			break;
		case F_PRIV:
			c.private_key = b->v;
			break;
		case F_PUB:
			c.public_key = b->v;
			break;
		case F_PSK:
			c.preshared_key = b->v;
			break;
		case F_ADDR:
			c.addresses = pair;
			c.n_addresses = b->v2 != NULL ? 2 : 1;
			break;
		case F_NADDR:
			if (strcmp(b->v, "null") == 0) {
				c.addresses = NULL;
				c.n_addresses = 1;
			} else if (strcmp(b->v, "0") == 0) {
				c.n_addresses = 0;
			} else {
				c.addresses = many_p;
				c.n_addresses = (size_t)atoi(b->v);
			}
			break;
		case F_DNS:
			c.dns = pair;
			c.n_dns = 1;
			break;
		case F_ALLOWED:
			c.allowed_ips = pair;
			c.n_allowed_ips = 1;
			break;
		case F_HOST:
			c.endpoint_host =
				b->v != NULL && strcmp(b->v, "long") == 0 ? longhost : b->v;
			break;
		case F_PORT:
			c.endpoint_port = (uint16_t)atoi(b->v);
			break;
		case F_MTU:
			c.mtu = (uint16_t)atoi(b->v);
			break;
		case F_MTU_V4ONLY:
			c.n_addresses = 1;
			c.mtu = (uint16_t)atoi(b->v);
			break;
		}
		errno = 0;
		got = ctl_wgconf_render(b->f == F_NONE ? NULL : &c);
		if (got != NULL || errno != EINVAL)
			fail_msg("bad case %zu (field %d, \"%s\"): got %s, errno %d", i, (int)b->f,
				 b->v ? b->v : "(null)", got ? got : "text", errno);
	}

	/* and the edges that are fine */
	{
		struct ctl_wgconf c = {
			.addresses = LIST("44.1.2.3/32"),
			.n_addresses = 1,
			.mtu = CTL_WGCONF_MTU_MIN,
			.public_key = PUB,
			.endpoint_host = "a.b",
			.endpoint_port = 1,
			.persistent_keepalive = 65535,
		};
		char *got;
		char host[254];

		got = ctl_wgconf_render(&c);
		assert_non_null(got);
		ctl_wgconf_free(got);
		longhost[253] = '\0'; /* 253 characters: the limit */
		c.endpoint_host = longhost;
		c.addresses = many_p;
		c.n_addresses = CTL_WGCONF_LIST_MAX;
		c.mtu = CTL_WGCONF_MTU_MAX;
		got = ctl_wgconf_render(&c);
		assert_non_null(got);
		ctl_wgconf_free(got);
		memset(host, 'a', 63);
		strcpy(host + 63, ".example");
		c.endpoint_host = host;
		got = ctl_wgconf_render(&c);
		assert_non_null(got);
		ctl_wgconf_free(got);
	}
	ctl_wgconf_free(NULL);
}

static void
test_key_check(void **state)
{
	(void)state;
	assert_int_equal(ctl_wgconf_key_check(PRIV), 0);
	assert_int_equal(ctl_wgconf_key_check(ZERO), 0);
	assert_int_equal(ctl_wgconf_key_check(NULL), -EINVAL);
	assert_int_equal(ctl_wgconf_key_check("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBml="),
			 -EINVAL);
	assert_int_equal(ctl_wgconf_key_check(PRIV "x"), -EINVAL);
}

/* ---- the real consumers: wg-quick strip, wg setconf/showconf, ip ---- */

struct rt {
	char dir[64];
	char ifname[16];
	char conf[128];
	char stripped[128];
	pid_t wg_pid;
};

static int
rt_setup(void **state)
{
	struct rt *rt = calloc(1, sizeof(*rt));

	if (rt == NULL)
		return -1;
	snprintf(rt->dir, sizeof(rt->dir), "/tmp/g44wgconf.XXXXXX");
	if (mkdtemp(rt->dir) == NULL) {
		free(rt);
		return -1;
	}
	snprintf(rt->ifname, sizeof(rt->ifname), "g44q%d", (int)getpid());
	snprintf(rt->conf, sizeof(rt->conf), "%s/%s.conf", rt->dir, rt->ifname);
	snprintf(rt->stripped, sizeof(rt->stripped), "%s/stripped.conf", rt->dir);
	*state = rt;
	return 0;
}

static void
wg_stop(struct rt *rt)
{
	char sock[128];

	if (rt->wg_pid > 0) {
		kill(rt->wg_pid, SIGTERM);
		waitpid(rt->wg_pid, NULL, 0);
		rt->wg_pid = 0;
	}
	snprintf(sock, sizeof(sock), WGDIR "/%s.sock", rt->ifname);
	unlink(sock);
}

static int
rt_teardown(void **state)
{
	struct rt *rt = *state;

	wg_stop(rt);
	unlink(rt->conf);
	unlink(rt->stripped);
	rmdir(rt->dir);
	free(rt);
	return 0;
}

/* Start wireguard-go in the foreground on a fresh interface; wait for its
 * UAPI socket. */
static void
wg_start(struct rt *rt)
{
	char sock[128];
	struct stat st;
	pid_t pid;

	snprintf(sock, sizeof(sock), WGDIR "/%s.sock", rt->ifname);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("WG_PROCESS_FOREGROUND", "1", 1);
		execlp("wireguard-go", "wireguard-go", "-f", rt->ifname, (char *)NULL);
		_exit(127);
	}
	rt->wg_pid = pid;
	for (int i = 0; i < 200; i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		int status;

		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rt->wg_pid = 0;
			fail_msg("wireguard-go %s exited (status %d): root and /dev/net/tun needed",
				 rt->ifname, status);
		}
		nanosleep(&ts, NULL);
	}
	fail_msg("wireguard-go %s: no %s after 10 s", rt->ifname, sock);
}

/* The value of the first "key = value" line of text (case-insensitive key,
 * as wg and wg-quick read it), or NULL. malloc'd. */
static char *
conf_get(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text; *l != '\0';) {
		const char *eol = strchr(l, '\n');
		size_t llen = eol ? (size_t)(eol - l) : strlen(l);

		if (llen > klen + 3 && strncasecmp(l, key, klen) == 0 &&
		    strncmp(l + klen, " = ", 3) == 0)
			return strndup(l + klen + 3, llen - klen - 3);
		l += llen + (eol ? 1 : 0);
	}
	return NULL;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a, b, c" sorted, as one string: wg showconf lists allowed IPs in trie
 * order, not in the order given. */
static char *
sorted_list(const char *v)
{
	char *copy = strdup(v), *save = NULL, *items[64], *out;
	size_t n = 0, len = 0;

	assert_non_null(copy);
	for (char *t = strtok_r(copy, ", ", &save); t && n < 64; t = strtok_r(NULL, ", ", &save))
		items[n++] = t;
	qsort(items, n, sizeof(items[0]), cmpstr);
	out = calloc(1, strlen(v) + 2);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s%s", i ? "," : "", items[i]);
	free(copy);
	return out;
}

static void
expect_same(const char *name, const char *key, const char *rendered, const char *shown,
	    bool is_list)
{
	char *a = conf_get(rendered, key), *b = conf_get(shown, key);

	if (a == NULL && b == NULL)
		return;
	if (a == NULL || b == NULL)
		fail_msg("%s: %s rendered %s, shown %s", name, key, a ? a : "(none)",
			 b ? b : "(none)");
	if (is_list) {
		char *sa = sorted_list(a), *sb = sorted_list(b);

		free(a);
		free(b);
		a = sa;
		b = sb;
	}
	if (strcmp(a, b) != 0)
		fail_msg("%s: %s rendered \"%s\", shown \"%s\"", name, key, a, b);
	free(a);
	free(b);
}

/* Apply the Address and MTU lines with ip(8) on a tun device in a private
 * network namespace, the way wg-quick up does (add_addr, set_mtu_up). */
static void
apply_addresses(const char *name, const char *text)
{
	char script[2048], *addr = conf_get(text, "Address"), *mtu = conf_get(text, "MTU");
	size_t len;

	assert_non_null(addr);
	assert_non_null(mtu);
	len = (size_t)snprintf(script, sizeof(script),
			       "set -e; ip tuntap add dev t0 mode tun; "
			       "ip link set mtu %s up dev t0; ",
			       mtu);
	for (char *save = NULL, *t = strtok_r(addr, ", ", &save); t;
	     t = strtok_r(NULL, ", ", &save))
		len += (size_t)snprintf(script + len, sizeof(script) - len,
					"ip %s address add %s dev t0; ",
					strchr(t, ':') ? "-6" : "-4", t);
	assert_true(len < sizeof(script));
	const char *argv[] = {"unshare", "-n", "sh", "-c", script, NULL};
	int rc = run(argv, NULL);
	if (rc != 0)
		fail_msg("%s: ip rejected the Address/MTU lines (exit %d): %s", name, rc, script);
	free(addr);
	free(mtu);
}

static void
round_trip(struct rt *rt, const char *name, const struct ctl_wgconf *c)
{
	char *text, *stripped = NULL, *shown = NULL;
	int rc;

	text = ctl_wgconf_render(c);
	if (text == NULL)
		fail_msg("%s: render failed, errno %d", name, errno);
	write_file(rt->conf, text, strlen(text));

	const char *strip[] = {"wg-quick", "strip", rt->conf, NULL};
	rc = run(strip, &stripped);
	if (rc != 0)
		fail_msg("%s: wg-quick strip exited %d", name, rc);
	/* what wg-quick keeps for itself is gone, the rest is there */
	assert_null(conf_get(stripped, "Address"));
	assert_null(conf_get(stripped, "DNS"));
	assert_null(conf_get(stripped, "MTU"));
	assert_non_null(strstr(stripped, "[Peer]\nPublicKey = "));

	write_file(rt->stripped, stripped, strlen(stripped));
	const char *setconf[] = {"wg", "setconf", rt->ifname, rt->stripped, NULL};
	rc = run(setconf, NULL);
	if (rc != 0)
		fail_msg("%s: wg setconf exited %d on\n%s", name, rc, stripped);
	const char *showconf[] = {"wg", "showconf", rt->ifname, NULL};
	rc = run(showconf, &shown);
	if (rc != 0)
		fail_msg("%s: wg showconf exited %d", name, rc);

	/* against the inputs ... */
	if (c->private_key != NULL)
		assert_non_null(strstr(shown, "PrivateKey = " PRIV "\n"));
	assert_non_null(strstr(shown, "PublicKey = " PUB "\n"));
	/* ... and line by line against the rendered file */
	expect_same(name, "PrivateKey", text, shown, false);
	expect_same(name, "PublicKey", text, shown, false);
	expect_same(name, "PresharedKey", text, shown, false);
	expect_same(name, "Endpoint", text, shown, false);
	expect_same(name, "AllowedIPs", text, shown, true);
	expect_same(name, "PersistentKeepalive", text, shown, false);

	apply_addresses(name, text);

	free(stripped);
	free(shown);
	ctl_wgconf_free(text);
}

static void
test_wg_round_trip(void **state)
{
	struct rt *rt = *state;
	/* Endpoints on loopback only: wireguard-go may send a handshake. */
	const struct ctl_wgconf keyless = {
		.comment = "no key",
		ADDRS("44.1.2.3/32", "2001:db8:4:5::/64"),
		.public_key = PUB,
		.endpoint_host = "::1",
		.endpoint_port = 51820,
		ALLOWED("44.0.0.0/9", "44.128.0.0/10", "2001:db8::/32"),
	};
	const struct ctl_wgconf full = {
		.comment = "gate44 POP ams1, tunnel 17",
		.private_key = PRIV,
		ADDRS("44.1.2.8/29", "44.1.3.4", "2001:db8:0:1::/64", "2001:db8:0:2::7/64"),
		DNS("44.0.0.53", "2001:db8::53"),
		.mtu = 1380,
		.public_key = PUB,
		.preshared_key = PSK,
		.endpoint_host = "127.0.0.1",
		.endpoint_port = 51820,
		.persistent_keepalive = 25,
	};
	char *shown = NULL;

	need_tool("wg");
	need_tool("wg-quick");
	need_tool("wireguard-go");
	need_tool("ip");
	need_tool("unshare");
	wg_start(rt);

	/* keyless first, on the fresh interface: it parses, sets no key */
	round_trip(rt, "keyless", &keyless);
	const char *showconf[] = {"wg", "showconf", rt->ifname, NULL};
	assert_int_equal(run(showconf, &shown), 0);
	assert_null(strstr(shown, "PrivateKey"));
	free(shown);

	round_trip(rt, "full", &full);
	for (size_t i = 0; i < sizeof(render_cases) / sizeof(render_cases[0]); i++) {
		struct ctl_wgconf c = render_cases[i].c;

		/* the table's documentation endpoints moved to loopback */
		c.endpoint_host = strchr(c.endpoint_host, ':') ? "::1" : "127.0.0.1";
		round_trip(rt, render_cases[i].name, &c);
	}
	wg_stop(rt);
}

/* ---- QR ---- */

/* The symbol the encoder must have drawn, for comparison. */
static QRcode *
want_symbol(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);

	assert_non_null(qr);
	return qr;
}

static bool
want_dark(const QRcode *qr, int x, int y)
{
	x -= CTL_QR_QUIET;
	y -= CTL_QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return false;
	return qr->data[y * qr->width + x] & 1;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walk the PNG's chunks, check every CRC and the order, and compare the
 * inflated pixels with the symbol. */
static void
check_png(const uint8_t *png, size_t len, const char *text)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	QRcode *qr = want_symbol(text);
	uint32_t px = (uint32_t)(qr->width + 2 * CTL_QR_QUIET) * CTL_QR_SCALE;
	size_t stride = 1 + (px + 7) / 8, off = 8, rawlen = stride * px;
	uint8_t *idat = NULL, *raw;
	size_t idat_len = 0;
	int n_chunks = 0;
	bool end = false;

	assert_true(len > 8 + 25 + 12);
	assert_memory_equal(png, sig, 8);
	while (off < len) {
		uint32_t clen;
		uLong crc;

		assert_false(end); /* nothing after IEND */
		assert_true(len - off >= 12);
		clen = get32(png + off);
		assert_true(clen <= len - off - 12);
		crc = crc32(crc32(0L, Z_NULL, 0), png + off + 4, clen + 4);
		assert_int_equal(get32(png + off + 8 + clen), (uint32_t)crc);
		if (n_chunks == 0) {
			const uint8_t *h = png + off + 8;

			assert_memory_equal(png + off + 4, "IHDR", 4);
			assert_int_equal(clen, 13);
			assert_int_equal(get32(h), px);
			assert_int_equal(get32(h + 4), px);
			assert_int_equal(h[8], 1);  /* bit depth */
			assert_int_equal(h[9], 0);  /* grayscale */
			assert_int_equal(h[10], 0); /* deflate */
			assert_int_equal(h[11], 0); /* filter method */
			assert_int_equal(h[12], 0); /* no interlace */
		} else if (memcmp(png + off + 4, "IDAT", 4) == 0) {
			idat = realloc(idat, idat_len + clen);
			assert_non_null(idat);
			memcpy(idat + idat_len, png + off + 8, clen);
			idat_len += clen;
		} else if (memcmp(png + off + 4, "IEND", 4) == 0) {
			assert_int_equal(clen, 0);
			end = true;
		} else {
			fail_msg("unexpected chunk %.4s", (const char *)png + off + 4);
		}
		off += 12 + clen;
		n_chunks++;
	}
	assert_true(end);
	assert_int_equal(off, len);
	assert_non_null(idat);

	raw = malloc(rawlen + 1);
	assert_non_null(raw);
	uLongf got = (uLongf)rawlen + 1;
	assert_int_equal(uncompress(raw, &got, idat, (uLong)idat_len), Z_OK);
	assert_int_equal(got, rawlen);
	for (uint32_t y = 0; y < px; y++) {
		const uint8_t *row = raw + y * stride;

		assert_int_equal(row[0], 0); /* filter none */
		for (uint32_t x = 0; x < px; x++) {
			bool white = row[1 + x / 8] & (0x80 >> (x % 8));
			bool dark = want_dark(qr, (int)(x / CTL_QR_SCALE), (int)(y / CTL_QR_SCALE));

			if (white == dark)
				fail_msg("pixel (%u, %u): %s, want %s", x, y,
					 white ? "white" : "black", dark ? "black" : "white");
		}
	}
	free(raw);
	free(idat);
	QRcode_free(qr);
}

static void
test_qr_png_zbar(void **state)
{
	char path[] = "/tmp/g44qr.XXXXXX";
	char file[64];

	(void)state;
	need_tool("zbarimg");
	assert_non_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/config.png", path);

	for (size_t i = 0; i < sizeof(render_cases) / sizeof(render_cases[0]); i++) {
		char *text = ctl_wgconf_render(&render_cases[i].c), *out = NULL, *want;
		uint8_t *png = NULL;
		size_t len = 0;
		int rc;

		assert_non_null(text);
		assert_int_equal(ctl_qr_png(text, &png, &len), 0);
		check_png(png, len, text);
		write_file(file, png, len);
		const char *argv[] = {"zbarimg", "--nodbus", "--raw", "-q", file, NULL};
		rc = run(argv, &out);
		if (rc != 0)
			fail_msg("%s: zbarimg exited %d", render_cases[i].name, rc);
		/* --raw prints the data and one newline */
		assert_true(asprintf(&want, "%s\n", text) > 0);
		if (strcmp(out, want) != 0)
			fail_msg("%s: zbarimg read\n%s\nwant\n%s", render_cases[i].name, out, want);
		free(want);
		free(out);
		ctl_qr_free(png, len);
		ctl_wgconf_free(text);
	}
	unlink(file);
	rmdir(path);
}

/* Parse the SVG: one path of "Mx yhwv1h-wz" runs; rebuild the bitmap and
 * compare it with the symbol, module for module. */
static void
test_qr_svg(void **state)
{
	const char *text = render_cases[0].want;
	QRcode *qr = want_symbol(text);
	int n = qr->width + 2 * CTL_QR_QUIET, dark_want = 0, dark_got = 0;
	char *svg = NULL, vb[64], *d, *bitmap;
	size_t len = 0;

	(void)state;
	assert_int_equal(ctl_qr_svg(text, &svg, &len), 0);
	assert_int_equal(len, strlen(svg));
	assert_true(strncmp(svg, "<?xml version=\"1.0\"", 19) == 0);
	assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	snprintf(vb, sizeof(vb), "viewBox=\"0 0 %d %d\"", n, n);
	assert_non_null(strstr(svg, vb));
	assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
	assert_true(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0);
	d = strstr(svg, "<path ");
	assert_non_null(d);
	assert_null(strstr(d + 1, "<path")); /* one path */
	d = strstr(d, " d=\"");
	assert_non_null(d);
	d += 4;

	bitmap = calloc((size_t)n * (size_t)n, 1);
	assert_non_null(bitmap);
	while (*d != '"') {
		int x, y, w, w2, used = 0;

		if (sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &w, &w2, &used) != 4 || used == 0)
			fail_msg("bad path at \"%.20s\"", d);
		assert_int_equal(w, w2);
		assert_true(x >= 0 && y >= 0 && w > 0 && x + w <= n && y < n);
		for (int k = 0; k < w; k++) {
			assert_int_equal(bitmap[y * n + x + k], 0); /* no overlap */
			bitmap[y * n + x + k] = 1;
		}
		d += used;
	}
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			dark_want += want_dark(qr, x, y);
			dark_got += bitmap[y * n + x];
			if (bitmap[y * n + x] != want_dark(qr, x, y))
				fail_msg("module (%d, %d) differs", x, y);
		}
	assert_int_equal(dark_got, dark_want);
	free(bitmap);
	ctl_qr_free(svg, len);
	QRcode_free(qr);
}

static void
test_qr_errors(void **state)
{
	uint8_t *png = NULL;
	char *svg = NULL, *big;
	size_t len = 0;

	(void)state;
	assert_int_equal(ctl_qr_png(NULL, &png, &len), -EINVAL);
	assert_int_equal(ctl_qr_png("", &png, &len), -EINVAL);
	assert_int_equal(ctl_qr_svg("", &svg, &len), -EINVAL);
	assert_int_equal(ctl_qr_png("x", NULL, &len), -EINVAL);
	assert_int_equal(ctl_qr_svg("x", &svg, NULL), -EINVAL);
	/* 2332 lower-case bytes: one past version 40-M's byte capacity */
	big = malloc(2333);
	assert_non_null(big);
	memset(big, 'a', 2332);
	big[2332] = '\0';
	assert_int_equal(ctl_qr_png(big, &png, &len), -EMSGSIZE);
	assert_int_equal(ctl_qr_svg(big, &svg, &len), -EMSGSIZE);
	big[2331] = '\0'; /* exactly the capacity: fits */
	assert_int_equal(ctl_qr_png(big, &png, &len), 0);
	check_png(png, len, big);
	ctl_qr_free(png, len);
	assert_int_equal(ctl_qr_svg(big, &svg, &len), 0);
	ctl_qr_free(svg, len);
	free(big);
	ctl_qr_free(NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_table),
		cmocka_unit_test(test_render_invalid),
		cmocka_unit_test(test_key_check),
		cmocka_unit_test_setup_teardown(test_wg_round_trip, rt_setup, rt_teardown),
		cmocka_unit_test(test_qr_png_zbar),
		cmocka_unit_test(test_qr_svg),
		cmocka_unit_test(test_qr_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
