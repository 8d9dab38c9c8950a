/*
 * fuzz_ctl_cfg.c — libFuzzer target for gate44-control's configuration
 * parser (control/cfg.c: ctl_cfg_parse) and its key-file parser
 * (ctl_cfg_key_parse). Single-threaded.
 *
 * Input: a configuration text, up to the first NUL (as for a C string);
 * the bytes after that NUL are the content of the key file "k.fuzz".
 *
 * Key files are real files: LLVMFuzzerInitialize creates a private
 * directory (mkdtemp under $TMPDIR or /tmp, removed at exit) holding the
 * fixtures below; each run writes k.fuzz there when the configuration
 * names it and the input has a NUL, and removes it otherwise. The
 * configuration text is passed line for line, except that the value of
 * every "private-key-file" line (found as cfg.c finds it: '#' ends the
 * line, blanks trimmed, key before the first '=') is rewritten to
 * "<dir>/<value>", each '/' of the value turned into '_' (an empty value
 * stays empty). So "k.good" names the fixture, and any other value a file
 * inside the directory that does not exist ("." and ".." directories): a
 * run never reads a host file (/etc/..., /proc/...), whatever the input
 * says, and one input always takes the same path. The fixtures:
 *   k.good      a valid key, blanks around it       accepted
 *   k.zero      the all-zero key                    accepted (cfg refuses
 *                                                   it later: no key)
 *   k.link      symbolic link to k.good             accepted (links are
 *                                                   followed on purpose)
 *   k.long      three keys                          refused
 *   k.empty     nothing                             refused
 *   k.nul       a valid key, then a NUL             refused
 *   k.dangling  symbolic link to nothing            refused
 *   k.dir       a directory                         refused
 *   k.fifo      a FIFO (nobody writes to it)        refused, never blocks
 *   k.null      symbolic link to /dev/null          refused (a device)
 *   k.fuzz      the bytes after the input's NUL     as the model says
 * A crash ends the process past atexit, leaving its directory behind; the
 * next process removes it (see stale_remove).
 *
 * Invariants:
 *  - ctl_cfg_key_parse on the k.fuzz bytes (up to a NUL) agrees with a
 *    naive model: accepted exactly when the text, blanks around it aside,
 *    is 43 base64 digits and '=' with the 2 spare bits zero (the one
 *    canonical text of a key), under 128 characters in all; the key is
 *    what the model decodes; refused ⇒ -EINVAL and the key zeroed;
 *  - a private-key-file is refused exactly when the table above (k.fuzz:
 *    the model on its first 127 bytes, no NUL among them) says so: an
 *    error "private-key-file '<path>': ..." names a refused one, success
 *    means every one named was accepted;
 *  - on error the struct is wiped and err says "fuzz.conf:...";
 *  - on success: counts within bounds, every string NUL-terminated in its
 *    array, names unique, every interface with a key that k.good or k.fuzz
 *    holds, whose public half is X25519(private), and an endpoint; every
 *    pool with a prefix of its alloc_len's family no longer than it and an
 *    existing interface, reservations valid prefixes; every prefix prints
 *    and parses back (ctl_prefix_format / ctl_prefix_parse).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cfg.h"

#include "fuzz_common.h"

#define KEY_GOOD   "WPZoAewvEw46R92nxrxBjfiGlTZFltcP++k4A++MckY="
#define KEY_ZERO   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define TEXT(s)	   .text = s, .len = sizeof(s) - 1
#define DIR_PREFIX "gate44-fuzz-ctl-cfg."

enum { FX_FILE, FX_LINK, FX_DIR, FX_FIFO };

static const struct fixture {
	const char *name;
	int kind;
	const char *text; /* FX_FILE: content (len bytes); FX_LINK: target */
	size_t len;
	bool accepted;
} fixtures[] = {
	{"k.good", FX_FILE, TEXT("  " KEY_GOOD "\n"), true},
	{"k.zero", FX_FILE, TEXT(KEY_ZERO "\n"), true},
	{"k.link", FX_LINK, TEXT("k.good"), true},
	{"k.long", FX_FILE, TEXT(KEY_GOOD "\n" KEY_GOOD "\n" KEY_GOOD "\n"), false},
	{"k.empty", FX_FILE, TEXT(""), false},
	{"k.nul", FX_FILE, TEXT(KEY_GOOD "\0\n"), false},
	{"k.dangling", FX_LINK, TEXT("k.absent"), false},
	{"k.dir", FX_DIR, TEXT(""), false},
	{"k.fifo", FX_FIFO, TEXT(""), false},
	{"k.null", FX_LINK, TEXT("/dev/null"), false},
};

static const char kv_name[] = "private-key-file";
static char dir[PATH_MAX - 64]; /* the fixtures' directory */
static size_t dir_len;
static int dir_fd = -1;	     /* open on dir and locked while we live */
static bool fuzz_written;    /* k.fuzz exists */
static uint8_t good_key[32]; /* what k.good holds */

/* This run's k.fuzz, as the model reads it. */
static bool fuzz_ok;
static uint8_t fuzz_key[32];

static struct ctl_cfg cfg;
static const struct ctl_cfg zero_cfg;

/* ---- the model of a key file's text -------------------------------------- */

static bool
is_blank(char c)
{
	/* isspace() in the C locale, as cfg.c's trim() */
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int
b64_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* s[0..n) is the text of a key: blanks around 43 base64 digits and '=',
 * the 258 bits of the digits being the key's 256 and 2 zero ones; under
 * 128 characters in all (cfg.c reads 127 bytes of a key file). */
static bool
key_model(const char *s, size_t n, uint8_t key[32])
{
	size_t a = 0, b = n, out = 0;
	unsigned acc = 0, bits = 0;

	if (n >= 128)
		return false;
	while (a < b && is_blank(s[a]))
		a++;
	while (b > a && is_blank(s[b - 1]))
		b--;
	if (b - a != 44 || s[a + 43] != '=')
		return false;
	for (size_t i = 0; i < 43; i++) {
		int d = b64_digit(s[a + i]);

		if (d < 0)
			return false;
		acc = acc << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			key[out++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return out == 32 && acc == 0;
}

/* ctl_cfg_key_parse against the model, on the bytes of k.fuzz up to a NUL. */
static void
key_parse_check(const uint8_t *p, size_t n)
{
	uint8_t got[32], want[32];
	char *text = fuzz_cstr(p, n);
	bool ok;
	int rc;

	if (text == NULL)
		return;
	ok = key_model(text, strlen(text), want);
	memset(got, 0xa5, sizeof(got));
	rc = ctl_cfg_key_parse(text, got);
	if ((rc == 0) != ok)
		fprintf(stderr, "key text '%s': ctl_cfg_key_parse %d, model %s\n", text, rc,
			ok ? "accepts" : "refuses");
	FUZZ_CHECK((rc == 0) == ok);
	if (ok)
		FUZZ_CHECK(memcmp(got, want, 32) == 0);
	else
		FUZZ_CHECK(rc == -EINVAL && sodium_is_zero(got, 32));
	free(text);
}

/* ---- the fixtures --------------------------------------------------------- */

/* Empties and removes the fixtures' directory path, open as fd: only the
 * names this harness makes (rmdir fails on anything else). */
static int
dir_remove(int fd, const char *path)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		unlinkat(fd, fixtures[i].name, fixtures[i].kind == FX_DIR ? AT_REMOVEDIR : 0);
	unlinkat(fd, "k.fuzz", 0);
	return rmdir(path) == 0 ? 0 : -errno;
}

static void
fixtures_remove(void)
{
	int rc;

	if (dir_fd < 0)
		return;
	rc = dir_remove(dir_fd, dir);
	if (rc != 0)
		fprintf(stderr, "fuzz_ctl_cfg: cannot remove %s: %s\n", dir, strerror(-rc));
	close(dir_fd);
	dir_fd = -1;
}

/*
 * A crash ends the process with _Exit, past atexit: its directory stays.
 * Each process holds an flock on its directory while it lives (the kernel
 * drops it however the process ends), so a directory of ours in tmp whose
 * lock can be taken is left over: remove it.
 */
static void
stale_remove(const char *tmp)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(tmp);
	int fd;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, DIR_PREFIX, sizeof(DIR_PREFIX) - 1) != 0 ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name) >= sizeof(path))
			continue;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0)
			dir_remove(fd, path);
		close(fd);
	}
	closedir(d);
}

/* A new directory, open and locked as dir_fd: 0 or -errno. */
static int
dir_make(const char *tmp)
{
	struct stat st;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/" DIR_PREFIX "XXXXXX", tmp) >= sizeof(dir))
		return -ENAMETOOLONG;
	/* another process's stale_remove may take it before it is locked */
	for (unsigned tries = 0; tries < 4; tries++) {
		if (mkdtemp(dir) == NULL)
			return -errno;
		dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir_fd >= 0 && flock(dir_fd, LOCK_EX) == 0 && fstat(dir_fd, &st) == 0 &&
		    st.st_nlink > 0)
			return 0;
		if (dir_fd >= 0)
			close(dir_fd);
		dir_fd = -1;
		memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	}
	return -EAGAIN;
}

static int
file_write(const char *name, const char *text, size_t len)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (done < len) {
		n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			n = n < 0 ? -errno : -EIO;
			close(fd);
			return (int)n;
		}
		done += (size_t)n;
	}
	return close(fd) == 0 ? 0 : -errno;
}

/* Exits when the fixtures cannot be made: every run would differ. */
static void
fixtures_make(void)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	stale_remove(tmp);
	rc = dir_make(tmp);
	if (rc != 0) {
		fprintf(stderr, "fuzz_ctl_cfg: cannot make a directory in %s: %s\n", tmp,
			strerror(-rc));
		exit(1);
	}
	dir_len = strlen(dir);
	atexit(fixtures_remove);
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]) && rc == 0; i++) {
		const struct fixture *f = &fixtures[i];

		if (f->kind == FX_FILE)
			rc = file_write(f->name, f->text, f->len);
		else if (f->kind == FX_LINK)
			rc = symlinkat(f->text, dir_fd, f->name) == 0 ? 0 : -errno;
		else if (f->kind == FX_DIR)
			rc = mkdirat(dir_fd, f->name, 0700) == 0 ? 0 : -errno;
		else
			rc = mkfifoat(dir_fd, f->name, 0600) == 0 ? 0 : -errno;
		if (rc != 0) {
			fprintf(stderr, "fuzz_ctl_cfg: cannot make %s/%s: %s\n", dir, f->name,
				strerror(-rc));
			exit(1);
		}
	}
	FUZZ_CHECK(key_model(KEY_GOOD, 44, good_key));
}

/* ---- the configuration text ------------------------------------------------ */

/* The line s[0..n) sets private-key-file, cfg.c's way: *v, *vlen its value. */
static bool
key_file_line(const char *s, size_t n, const char **v, size_t *vlen)
{
	const char *hash = memchr(s, '#', n), *eq;
	size_t a = 0, b = hash != NULL ? (size_t)(hash - s) : n, k;

	while (a < b && is_blank(s[a]))
		a++;
	while (b > a && is_blank(s[b - 1]))
		b--;
	if (a == b || s[a] == '[' || (eq = memchr(s + a, '=', b - a)) == NULL)
		return false;
	k = (size_t)(eq - s);
	while (k > a && is_blank(s[k - 1]))
		k--;
	if (k - a != sizeof(kv_name) - 1 || memcmp(s + a, kv_name, k - a) != 0)
		return false;
	a = (size_t)(eq - s) + 1;
	while (a < b && is_blank(s[a]))
		a++;
	*v = s + a;
	*vlen = b - a;
	return true;
}

/* The path p[0..n) given to cfg.c holds a key it must accept. */
static bool
path_accepted(const char *p, size_t n)
{
	const char *name;
	size_t len;

	if (n <= dir_len + 1 || memcmp(p, dir, dir_len) != 0 || p[dir_len] != '/')
		return false;
	name = p + dir_len + 1;
	len = n - dir_len - 1;
	if (len == 6 && memcmp(name, "k.fuzz", 6) == 0)
		return fuzz_ok;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		if (strlen(fixtures[i].name) == len && memcmp(fixtures[i].name, name, len) == 0)
			return fixtures[i].accepted;
	return false;
}

/*
 * The text given to cfg.c: in, each private-key-file value rewritten to a
 * path inside the directory. *uses_fuzz: some line names k.fuzz;
 * *all_accepted: every key file named is one cfg.c must accept.
 */
static char *
text_build(const char *in, bool *uses_fuzz, bool *all_accepted)
{
	size_t lines = 1, cap, len = 0;
	const char *cur = in, *v;
	char *out;

	for (const char *c = in; (c = strchr(c, '\n')) != NULL; c++)
		lines++;
	/* "private-key-file=v" becomes "private-key-file = <dir>/v" */
	cap = strlen(in) + lines * (dir_len + 4) + 1;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	*uses_fuzz = false;
	*all_accepted = true;
	for (;;) {
		const char *nl = strchr(cur, '\n');
		size_t n = nl != NULL ? (size_t)(nl - cur) : strlen(cur), vlen;

		if (key_file_line(cur, n, &v, &vlen)) {
			len += (size_t)sprintf(out + len, "%s = ", kv_name);
			if (vlen > 0) {
				len += (size_t)sprintf(out + len, "%s/", dir);
				for (size_t i = 0; i < vlen; i++)
					out[len + i] = v[i] == '/' ? '_' : v[i];
				*uses_fuzz |= vlen == 6 && memcmp(v, "k.fuzz", 6) == 0;
				*all_accepted &=
					path_accepted(out + len - dir_len - 1, dir_len + 1 + vlen);
				len += vlen;
			} else {
				*all_accepted = false;
			}
		} else {
			memcpy(out + len, cur, n);
			len += n;
		}
		FUZZ_CHECK(len < cap);
		if (nl == NULL)
			break;
		out[len++] = '\n';
		cur = nl + 1;
	}
	out[len] = '\0';
	return out;
}

/* cfg.c refused the configuration: when it refused a private-key-file, that
 * file is one it must refuse. */
static void
key_file_error_check(const char *text, const char *err)
{
	unsigned long line;
	const char *cur = text, *v;
	char head[64], *end;
	size_t vlen, hlen;

	if (strncmp(err, "fuzz.conf:", 10) != 0)
		return;
	line = strtoul(err + 10, &end, 10);
	if (end == err + 10 || line == 0)
		return;
	for (unsigned long i = 1; i < line && cur != NULL; i++) {
		cur = strchr(cur, '\n');
		if (cur != NULL)
			cur++;
	}
	if (cur == NULL || !key_file_line(cur, strcspn(cur, "\n"), &v, &vlen))
		return;
	hlen = (size_t)snprintf(head, sizeof(head), "fuzz.conf:%lu: %s '", line, kv_name);
	if (strncmp(err, head, hlen) != 0 || strncmp(err + hlen, v, vlen) != 0 ||
	    strncmp(err + hlen + vlen, "': ", 3) != 0)
		return;
	if (path_accepted(v, vlen))
		fprintf(stderr, "refused a key file it must accept: %s\n", err);
	FUZZ_CHECK(!path_accepted(v, vlen));
}

/* ---- the parsed configuration ----------------------------------------------- */

static void
str_check(const char *s, size_t size, bool empty_ok)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size);
	FUZZ_CHECK(empty_ok || n > 0);
}

static void
prefix_check(const struct ctl_cfg_prefix *p)
{
	struct ctl_cfg_prefix back;
	char text[64];

	FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6);
	FUZZ_CHECK(p->plen <= (p->family == AF_INET ? 32 : 128));
	ctl_prefix_format(p, text, sizeof(text));
	FUZZ_CHECK(ctl_prefix_parse(text, &back) == 0);
	FUZZ_CHECK(back.family == p->family && back.plen == p->plen &&
		   memcmp(back.addr, p->addr, 16) == 0);
}

static void
cfg_check(const struct ctl_cfg *c)
{
	str_check(c->database, sizeof(c->database), true);
	str_check(c->listen, sizeof(c->listen), true);
	str_check(c->engine_socket, sizeof(c->engine_socket), true);
	str_check(c->uapi_dir, sizeof(c->uapi_dir), true);
	FUZZ_CHECK(c->connected_window_s >= 1 && c->counters_interval_s >= 1);
	FUZZ_CHECK(c->max_body >= 1024 && c->rate >= 1 && c->burst >= 1);

	FUZZ_CHECK(c->n_ifs <= CTL_CFG_MAX_IFS);
	for (unsigned i = 0; i < c->n_ifs; i++) {
		const struct ctl_cfg_if *f = &c->ifs[i];
		uint8_t pub[32];

		str_check(f->name, sizeof(f->name), false);
		str_check(f->endpoint, sizeof(f->endpoint), false);
		str_check(f->dns, sizeof(f->dns), true);
		str_check(f->client_allowed_ips, sizeof(f->client_allowed_ips), true);
		FUZZ_CHECK(f->mtu >= 1280 && f->mtu <= 9000);
		FUZZ_CHECK(!sodium_is_zero(f->private_key, 32));
		FUZZ_CHECK(memcmp(f->private_key, good_key, 32) == 0 ||
			   (fuzz_ok && memcmp(f->private_key, fuzz_key, 32) == 0));
		FUZZ_CHECK(crypto_scalarmult_curve25519_base(pub, f->private_key) == 0);
		FUZZ_CHECK(memcmp(pub, f->public_key, 32) == 0);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->ifs[j].name, f->name) != 0);
	}
	FUZZ_CHECK(c->n_pools <= CTL_CFG_MAX_POOLS);
	for (unsigned i = 0; i < c->n_pools; i++) {
		const struct ctl_cfg_pool *p = &c->pools[i];
		bool found = false;

		str_check(p->name, sizeof(p->name), false);
		str_check(p->interface, sizeof(p->interface), true);
		prefix_check(&p->prefix);
		FUZZ_CHECK(p->alloc_len == (p->prefix.family == AF_INET ? 32 : 64));
		FUZZ_CHECK(p->prefix.plen <= p->alloc_len);
		FUZZ_CHECK(p->n_reserved <= CTL_CFG_MAX_RESERVED);
		for (unsigned j = 0; j < p->n_reserved; j++)
			prefix_check(&p->reserved[j]);
		for (unsigned j = 0; j < c->n_ifs; j++)
			found |= strcmp(c->ifs[j].name, p->interface) == 0;
		FUZZ_CHECK(found);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->pools[j].name, p->name) != 0);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sodium_init();
	fixtures_make();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *in, *text;
	const uint8_t *key = data + size; /* never NULL: memcpy, memchr */
	size_t key_len = 0, n;
	bool has_key, uses_fuzz, all_accepted;
	int rc;

	in = fuzz_cstr(data, size);
	if (in == NULL)
		return 0;
	n = strlen(in);
	has_key = n < size;
	if (has_key) {
		key = data + n + 1;
		key_len = size - n - 1;
	}
	key_parse_check(key, key_len);
	/* what cfg.c reads of k.fuzz: 127 bytes, none of them NUL */
	n = key_len < 127 ? key_len : 127;
	fuzz_ok = has_key && memchr(key, '\0', n) == NULL &&
		  key_model((const char *)key, n, fuzz_key);

	text = text_build(in, &uses_fuzz, &all_accepted);
	free(in);
	if (text == NULL)
		return 0;
	if (uses_fuzz && has_key) {
		FUZZ_CHECK(file_write("k.fuzz", (const char *)key, key_len) == 0);
		fuzz_written = true;
	} else if (fuzz_written) {
		FUZZ_CHECK(unlinkat(dir_fd, "k.fuzz", 0) == 0);
		fuzz_written = false;
	}

	fuzz_rng_seed(0);
	memset(err, 0x5a, sizeof(err));
	rc = ctl_cfg_parse(text, "fuzz.conf", &cfg, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		if (rc != -ENOMEM)
			FUZZ_CHECK(strncmp(err, "fuzz.conf", 9) == 0);
		FUZZ_CHECK(memcmp(&cfg, &zero_cfg, sizeof(cfg)) == 0);
		key_file_error_check(text, err);
	} else {
		FUZZ_CHECK(all_accepted);
		cfg_check(&cfg);
		ctl_cfg_wipe(&cfg);
	}
	sodium_memzero(fuzz_key, sizeof(fuzz_key));
	free(text);
	return 0;
}
