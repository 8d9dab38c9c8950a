/*
 * test_cfg.c — unit tests of gate44-control's configuration file
 * (control/cfg.c): the prefix texts it takes are exactly those the HTTP
 * API takes (one parser, prefix.h: no leading zero in the length, the same
 * reasons in the errors); private-key-file and the file itself must be
 * regular files (a FIFO, a device, a directory or a socket is refused at
 * once, without blocking; a symbolic link to a key is fine); the key text
 * rules. Files live in a temporary directory removed at the end.
 * Single-threaded; an alarm ends the run if a refusal ever blocks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>
#include <sodium.h>

#include "cfg.h"
#include "ipam.h"

/* wg genkey output, and another key's text */
#define KEY  "WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY="
#define KEY2 "aGVsbG8gd29ybGQgdGhpcyBpcyAzMiBieXRlcyBrZXk="

static char dir[64];

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
write_file(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A config whose one interface reads its key from key_path and whose pool
 * has the given prefix and reservation (NULL: none). */
static int
parse_with(const char *key_path, const char *prefix, const char *reserve, struct ctl_cfg *cfg,
	   char *err, size_t errlen)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[control]\ndatabase = %s/db\n"
		 "[interface wg0]\nprivate-key-file = %s\nendpoint = 192.0.2.1:51820\n"
		 "[pool v4]\ninterface = wg0\nprefix = %s\n%s%s%s",
		 dir, key_path, prefix, reserve != NULL ? "reserve = " : "",
		 reserve != NULL ? reserve : "", reserve != NULL ? "\n" : "");
	return ctl_cfg_parse(text, "t.conf", cfg, err, errlen);
}

static int
setup(void **state)
{
	char p[128];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test_cfg.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	write_file("good.key", KEY "\n");
	path_of(p, sizeof(p), "fifo.key");
	if (mkfifo(p, 0600) != 0)
		return -1;
	/* an alarm is the backstop: a refusal that blocks fails the run */
	alarm(60);
	return 0;
}

static int
teardown(void **state)
{
	static const char *const names[] = {"good.key", "fifo.key", "link.key", "dangling.key",
					    "sock.key", "bad.key",  "nul.key",	"big.key",
					    "t.conf",	"fifo.conf"};
	char p[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(p, sizeof(p), names[i]);
		unlink(p);
	}
	path_of(p, sizeof(p), "subdir");
	rmdir(p);
	rmdir(dir);
	return 0;
}

/* ---- prefixes: one parser for the config and the API --------------------- */

static void
test_prefix_one_parser(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* canonical text; NULL: refused */
		const char *why; /* the reason, both parsers */
	} cases[] = {
		{"44.31.1.0/24", "44.31.1.0/24", NULL},
		{"44.31.1.7/32", "44.31.1.7/32", NULL},
		{"0.0.0.0/0", "0.0.0.0/0", NULL},
		{"44.0.0.0/9", "44.0.0.0/9", NULL},
		{"2001:db8:44::/48", "2001:db8:44::/48", NULL},
		{"2001:DB8:0044::/48", "2001:db8:44::/48", NULL},
		{"::/0", "::/0", NULL},
		/* leading zeros in the length: the config took them before */
		{"44.0.0.0/09", NULL, "bad length (0..32)"},
		{"44.31.1.0/024", NULL, "bad length (0..32)"},
		{"44.31.1.7/032", NULL, "bad length (0..32)"},
		{"0.0.0.0/00", NULL, "bad length (0..32)"},
		{"2001:db8:44::/048", NULL, "bad length (0..128)"},
		{"2001:db8::/0128", NULL, "bad length (0..128)"},
		{"44.31.1.0/33", NULL, "bad length (0..32)"},
		{"44.31.1.0/+24", NULL, "bad length"},
		{"44.31.1.0/ 24", NULL, "bad length"},
		{"44.31.1.0/", NULL, "bad length"},
		{"44.31.1.0/1e1", NULL, "bad length"},
		{"44.31.1.3/24", NULL, "has host bits set (did you mean 44.31.1.0/24?)"},
		{"2001:db8:44::1/48", NULL, "did you mean 2001:db8:44::/48?"},
		{"44.31.1.0", NULL, "needs a length"},
		{"044.31.1.0/24", NULL, "bad address"},
		{"44.31.1/24", NULL, "bad address"},
		{"/24", NULL, "bad address"},
		{"", NULL, "needs a length"},
	};
	char why_api[256], why_cfg[320], err[512], out[64];
	struct ctl_ipam_prefix ip;
	struct ctl_cfg_prefix cp;
	struct ctl_cfg cfg;
	char key[128];
	size_t i;

	(void)state;
	path_of(key, sizeof(key), "good.key");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r_api = ctl_ipam_prefix_parse(cases[i].in, &ip, why_api, sizeof(why_api));
		int r_cfg = ctl_prefix_parse(cases[i].in, &cp);
		int r_file = parse_with(key, cases[i].in, NULL, &cfg, err, sizeof(err));

		if (r_api != r_cfg || (r_api == 0) != (r_file == 0))
			fail_msg("'%s': the API says %d, ctl_prefix_parse %d, the file %d (%s)",
				 cases[i].in, r_api, r_cfg, r_file, err);
		if (cases[i].out != NULL) {
			if (r_api != 0)
				fail_msg("'%s' refused: %s", cases[i].in, why_api);
			ctl_prefix_format(&cp, out, sizeof(out));
			assert_string_equal(out, cases[i].out);
			assert_int_equal(cp.family, ip.family);
			assert_int_equal(cp.plen, ip.plen);
			assert_memory_equal(cp.addr, ip.addr, 16);
			ctl_cfg_wipe(&cfg);
			continue;
		}
		assert_int_equal(r_api, -EINVAL);
		if (strstr(why_api, cases[i].why) == NULL)
			fail_msg("'%s': API reason '%s', want '%s'", cases[i].in, why_api,
				 cases[i].why);
		/* the config file gives the same reason, with file and line */
		snprintf(why_cfg, sizeof(why_cfg), "t.conf:8: bad prefix %s", why_api);
		if (strcmp(err, why_cfg) != 0)
			fail_msg("'%s': config error '%s', want '%s'", cases[i].in, err, why_cfg);
	}
}

static void
test_reserve(void **state)
{
	struct ctl_cfg cfg;
	char err[512], key[128], out[64];

	(void)state;
	path_of(key, sizeof(key), "good.key");
	/* an address alone is its /32 */
	assert_int_equal(parse_with(key, "44.31.1.0/24", "44.31.1.1", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.pools[0].n_reserved, 1);
	ctl_prefix_format(&cfg.pools[0].reserved[0], out, sizeof(out));
	assert_string_equal(out, "44.31.1.1/32");
	ctl_cfg_wipe(&cfg);
	assert_int_equal(parse_with(key, "44.31.1.0/24", "44.31.1.0/31", &cfg, err, sizeof(err)),
			 0);
	ctl_cfg_wipe(&cfg);
	/* the same rules as a prefix */
	assert_int_equal(parse_with(key, "44.31.1.0/24", "44.31.1.1/032", &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.conf:9: bad reserved address '44.31.1.1/032': bad length"));
	assert_int_equal(parse_with(key, "44.31.1.0/24", "44.31.1.256", &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "bad address"));
	assert_int_equal(parse_with(key, "44.31.1.0/24", "44.31.1.1/31", &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "did you mean 44.31.1.0/31?"));
}

/* ---- key files ----------------------------------------------------------- */

static void
expect_key_refused(const char *path, const char *why)
{
	struct ctl_cfg cfg;
	char err[512], want[256];

	memset(err, 0, sizeof(err));
	assert_int_not_equal(parse_with(path, "44.31.1.0/24", NULL, &cfg, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "t.conf:4: private-key-file '%s': %s", path, why);
	if (strcmp(err, want) != 0)
		fail_msg("key file %s: error '%s', want '%s'", path, err, want);
	/* wiped on error: no half-read key left behind */
	assert_true(sodium_is_zero((const unsigned char *)&cfg, sizeof(cfg)));
}

static void
test_key_file_kinds(void **state)
{
	static const char not_regular[] =
		"not a regular file (a FIFO, device, socket or directory)";
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint8_t want[32];
	struct ctl_cfg cfg;
	char p[128], target[128], err[512];
	size_t len;
	int fd;

	(void)state;
	assert_int_equal(sodium_base642bin(want, 32, KEY, 44, NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);

	/* a regular file, and a symbolic link to it */
	path_of(p, sizeof(p), "good.key");
	assert_int_equal(parse_with(p, "44.31.1.0/24", NULL, &cfg, err, sizeof(err)), 0);
	assert_memory_equal(cfg.ifs[0].private_key, want, 32);
	ctl_cfg_wipe(&cfg);
	path_of(target, sizeof(target), "good.key");
	path_of(p, sizeof(p), "link.key");
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(parse_with(p, "44.31.1.0/24", NULL, &cfg, err, sizeof(err)), 0);
	assert_memory_equal(cfg.ifs[0].private_key, want, 32);
	ctl_cfg_wipe(&cfg);

	/* a FIFO nobody writes to: refused at once (it used to block start) */
	path_of(p, sizeof(p), "fifo.key");
	expect_key_refused(p, not_regular);
	/* devices: a character device that reads forever, one that is empty */
	expect_key_refused("/dev/zero", not_regular);
	expect_key_refused("/dev/null", not_regular);
	/* a directory, a socket, a link to a FIFO */
	path_of(p, sizeof(p), "subdir");
	assert_int_equal(mkdir(p, 0700), 0);
	expect_key_refused(p, not_regular);
	path_of(p, sizeof(p), "sock.key");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_true(strlen(p) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, p, strlen(p) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	expect_key_refused(p, not_regular);
	close(fd);
	path_of(target, sizeof(target), "fifo.key");
	path_of(p, sizeof(p), "link.key");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(target, p), 0);
	expect_key_refused(p, not_regular);

	/* missing, dangling */
	path_of(p, sizeof(p), "missing.key");
	expect_key_refused(p, strerror(ENOENT));
	path_of(target, sizeof(target), "missing.key");
	path_of(p, sizeof(p), "dangling.key");
	assert_int_equal(symlink(target, p), 0);
	expect_key_refused(p, strerror(ENOENT));

	/* regular files holding something else than one key */
	write_file("bad.key", "not a key\n");
	path_of(p, sizeof(p), "bad.key");
	expect_key_refused(p, "not a base64 32-byte key");
	write_file("big.key", KEY "\n" KEY "\n" KEY "\n");
	path_of(p, sizeof(p), "big.key");
	expect_key_refused(p, "not a base64 32-byte key");
	path_of(p, sizeof(p), "nul.key");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, KEY "\0x\n", 47), 47);
	close(fd);
	expect_key_refused(p, "not a base64 32-byte key");
}

static void
test_key_text(void **state)
{
	static const struct {
		const char *text;
		int ok;
	} cases[] = {
		{KEY, 1},
		{"  " KEY "\n", 1},
		{"\t" KEY " \r\n", 1},
		{KEY2, 1},
		{"", 0},
		{KEY "x", 0},
		{"x" KEY, 0},
		{KEY " " KEY, 0},
		/* not the canonical text: the last digit has low bits set */
		{"WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckZ=", 0},
		{"WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY", 0},
		{"WPZoAewvEw46R92nxrxBjfiGlTZFltcP--k4A__MckY=", 0},
		{"WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++Mck\xc3\xa9", 0},
	};
	uint8_t key[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ctl_cfg_key_parse(cases[i].text, key);

		if ((rc == 0) != cases[i].ok)
			fail_msg("key text '%s': %d", cases[i].text, rc);
		if (rc != 0)
			assert_true(sodium_is_zero(key, 32));
	}
}

/* ---- the file itself ------------------------------------------------------ */

static void
test_load_kinds(void **state)
{
	struct ctl_cfg cfg;
	char p[128], key[128], text[512], err[512];

	(void)state;
	path_of(key, sizeof(key), "good.key");
	snprintf(text, sizeof(text),
		 "[interface wg0]\nprivate-key-file = %s\nendpoint = 192.0.2.1:51820\n", key);
	write_file("t.conf", text);
	path_of(p, sizeof(p), "t.conf");
	assert_int_equal(ctl_cfg_load(p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_ifs, 1);
	ctl_cfg_wipe(&cfg);

	path_of(p, sizeof(p), "fifo.conf");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_not_equal(ctl_cfg_load(p, &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_not_equal(ctl_cfg_load("/dev/zero", &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/dev/zero: not a regular file"));
	assert_int_not_equal(ctl_cfg_load(dir, &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a regular file"));
	path_of(p, sizeof(p), "nothing.conf");
	assert_int_equal(ctl_cfg_load(p, &cfg, err, sizeof(err)), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_one_parser),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_key_file_kinds),
		cmocka_unit_test(test_key_text),
		cmocka_unit_test(test_load_kinds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
