/*
 * test_ipam.c — unit tests of gate44-control's IPAM (control/ipam.c) over
 * a real store in a temporary directory: prefix parsing and printing,
 * containment, the AMPRNet boundaries, pools and their overlaps, the
 * allocation order, exhaustion, release and reuse, own-prefix assignment
 * against every kind of overlap, and random allocate / release / delete /
 * rollback sequences checked against a naive model (an array of block
 * owners per pool, searched from the bottom). Single-threaded.
 *
 * Set GATE44_SEED to replay a random run; the seed used is always printed.
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
#include <sys/socket.h>

#include <cmocka.h>
#include <sodium.h>

#include "ipam.h"
#include "store.h"

struct fx {
	char dir[64];
	char path[128];
	struct ctl_store *s;
	int64_t user;
	unsigned next_key;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ctl_interface i = {.listen_port = 51820};
	struct ctl_user u = {.max_tunnels = CTL_LIMIT_DEFAULT, .max_addresses = CTL_LIMIT_DEFAULT};
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ipam.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/control.db", f->dir);
	f->s = ctl_store_open(f->path, 0, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("open: %s", err);
	snprintf(i.name, sizeof(i.name), "wg0");
	assert_int_equal(ctl_store_interface_upsert(f->s, &i), 0);
	snprintf(i.name, sizeof(i.name), "wg1");
	assert_int_equal(ctl_store_interface_upsert(f->s, &i), 0);
	snprintf(u.name, sizeof(u.name), "DL1ABC");
	assert_int_equal(ctl_store_user_create(f->s, &u), 0);
	f->user = u.id;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	struct fx *f = *state;
	char p[200];
	size_t i;

	ctl_store_close(f->s);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct ctl_ipam_prefix
pfx(const char *text)
{
	struct ctl_ipam_prefix p;
	char err[128];

	if (ctl_ipam_prefix_parse(text, &p, err, sizeof(err)) != 0)
		fail_msg("prefix %s: %s", text, err);
	return p;
}

static const char *
fmt(const struct ctl_ipam_prefix *p)
{
	static char buf[4][CTL_PREFIX_STRLEN];
	static unsigned n;
	char *b = buf[n++ % 4];

	assert_int_equal(ctl_ipam_prefix_format(p, b, CTL_PREFIX_STRLEN), 0);
	return b;
}

static int64_t
mk_tunnel(struct fx *f, const char *ifname)
{
	struct ctl_tunnel t = {.user_id = f->user, .enabled = true};
	uint8_t k[32] = {0};

	f->next_key++;
	memcpy(k, &f->next_key, sizeof(f->next_key));
	snprintf(t.interface, sizeof(t.interface), "%s", ifname);
	sodium_bin2base64(t.public_key, sizeof(t.public_key), k, sizeof(k),
			  sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), 0);
	return t.id;
}

/* Add a pool; reserved is a NULL-terminated list of prefixes. */
static int64_t
mk_pool(struct fx *f, const char *name, const char *prefix, unsigned alloc_len,
	const char *ifname, const char *const *reserved)
{
	struct ctl_ipam_prefix r[16];
	struct ctl_pool p = {.alloc_len = (uint8_t)alloc_len};
	char err[256];
	size_t n = 0;

	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.interface, sizeof(p.interface), "%s", ifname != NULL ? ifname : "");
	p.prefix = pfx(prefix);
	while (reserved != NULL && reserved[n] != NULL) {
		r[n] = pfx(reserved[n]);
		n++;
	}
	if (ctl_ipam_pool_add(f->s, &p, r, n, err, sizeof(err)) != 0)
		fail_msg("pool %s: %s", name, err);
	return p.id;
}

/* Allocate one block and return its text (static buffer). */
static const char *
alloc1(struct fx *f, int64_t pool, int64_t tunnel)
{
	struct ctl_address a;
	char err[256];
	int ret;

	ret = ctl_ipam_allocate(f->s, pool, tunnel, 1, &a, err, sizeof(err));
	if (ret != 0)
		fail_msg("allocate: %d %s", ret, err);
	assert_int_equal(a.tunnel_id, tunnel);
	assert_int_equal(a.pool_id, pool);
	return fmt(&a.prefix);
}

/* ---- prefixes ------------------------------------------------------------------ */

static void
test_prefix_parse(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* canonical text, NULL: an error */
		const char *err; /* substring of the error */
	} cases[] = {
		{"44.31.1.0/24", "44.31.1.0/24", NULL},
		{"44.31.1.7/32", "44.31.1.7/32", NULL},
		{"0.0.0.0/0", "0.0.0.0/0", NULL},
		{"2001:db8:44::/48", "2001:db8:44::/48", NULL},
		{"2001:DB8:0044:0000::/64", "2001:db8:44::/64", NULL},
		{"::/0", "::/0", NULL},
		{"::1/128", "::1/128", NULL},
		{"44.31.1.3/24", NULL, "did you mean 44.31.1.0/24?"},
		{"2001:db8:44::1/48", NULL, "did you mean 2001:db8:44::/48?"},
		{"44.31.1.0", NULL, "needs a length"},
		{"44.31.1.0/33", NULL, "bad length"},
		{"2001:db8::/129", NULL, "bad length"},
		{"44.31.1.0/", NULL, "bad length"},
		{"44.31.1.0/024", NULL, "bad length"},
		{"44.31.1.0/2x", NULL, "bad length"},
		{"44.31.1.0/-1", NULL, "bad length"},
		{"44.31.1/24", NULL, "bad address"},
		{"44.31.1.256/32", NULL, "bad address"},
		{"044.31.1.0/24", NULL, "bad address"},
		{"/24", NULL, "bad address"},
		{"host.example/24", NULL, "bad address"},
		{"2001:db8:::/48", NULL, "bad address"},
		{"", NULL, "needs a length"},
	};
	struct ctl_ipam_prefix p;
	char err[256], out[CTL_PREFIX_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = ctl_ipam_prefix_parse(cases[i].in, &p, err, sizeof(err));

		if (cases[i].out != NULL) {
			if (ret != 0)
				fail_msg("'%s': %s", cases[i].in, err);
			assert_int_equal(ctl_ipam_prefix_format(&p, out, sizeof(out)), 0);
			assert_string_equal(out, cases[i].out);
		} else {
			assert_int_equal(ret, -EINVAL);
			if (strstr(err, cases[i].err) == NULL)
				fail_msg("'%s': error '%s', want '%s'", cases[i].in, err,
					 cases[i].err);
		}
	}
	assert_int_equal(ctl_ipam_prefix_parse(NULL, &p, NULL, 0), -EINVAL);
	p = pfx("2001:db8:44::/48");
	assert_int_equal(ctl_ipam_prefix_format(&p, out, 10), -ENOSPC);
}

static void
test_prefix_contains(void **state)
{
	static const struct {
		const char *a, *b;
		bool a_in_b, b_in_a;
	} cases[] = {
		{"44.31.1.0/24", "44.31.1.0/24", true, true},	   /* equal */
		{"44.31.1.7/32", "44.31.1.0/24", true, false},	   /* contained */
		{"44.31.0.0/16", "44.31.1.0/24", false, true},	   /* contains */
		{"44.31.2.0/24", "44.31.1.0/24", false, false},   /* disjoint, adjacent */
		{"44.31.1.128/25", "44.31.1.0/25", false, false}, /* halves */
		{"0.0.0.0/0", "44.31.1.7/32", false, true},
		{"2001:db8:44:1::/64", "2001:db8:44::/48", true, false},
		{"2001:db8:45::/48", "2001:db8:44::/48", false, false},
		{"::/0", "2001:db8::/32", false, true},
		{"44.0.0.0/8", "2c00::/8", false, false}, /* families never overlap */
		{"::/0", "0.0.0.0/0", false, false},
	};
	struct ctl_ipam_prefix a, b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = pfx(cases[i].a);
		b = pfx(cases[i].b);
		if (ctl_ipam_prefix_contains(&b, &a) != cases[i].a_in_b ||
		    ctl_ipam_prefix_contains(&a, &b) != cases[i].b_in_a ||
		    ctl_ipam_prefix_overlap(&a, &b) != (cases[i].a_in_b || cases[i].b_in_a) ||
		    ctl_ipam_prefix_overlap(&b, &a) != (cases[i].a_in_b || cases[i].b_in_a))
			fail_msg("case %zu: %s vs %s", i, cases[i].a, cases[i].b);
	}
}

static void
test_amprnet(void **state)
{
	static const struct {
		const char *p;
		bool ok;
	} cases[] = {
		{"44.0.0.0/9", true},
		{"44.0.0.0/32", true},
		{"44.127.255.255/32", true},
		{"44.128.0.0/10", true},
		{"44.128.0.0/32", true},
		{"44.191.255.255/32", true},
		{"44.31.1.0/24", true},
		{"44.192.0.0/10", false}, /* sold in 2019 */
		{"44.192.0.0/32", false},
		{"44.255.255.255/32", false},
		{"44.0.0.0/8", false}, /* contains the sold part */
		{"44.0.0.0/7", false},
		{"44.128.0.0/9", false},
		{"43.255.255.255/32", false},
		{"45.0.0.0/32", false},
		{"10.44.0.0/16", false},
		{"0.0.0.0/0", false},
		{"2001:db8:44::/48", true},
		{"2a00::/12", true},
		{"2000::/3", true},
		{"3fff:ffff::/32", true},
		{"::/0", false},
		{"fc00::/7", false},
		{"fd00:44::/48", false},
		{"fe80::/64", false},
		{"ff02::/16", false},
		{"::ffff:44.1.2.3/128", false},
		{"4000::/3", false},
	};
	struct ctl_ipam_prefix p;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = pfx(cases[i].p);
		err[0] = '\0';
		if (ctl_ipam_check_amprnet(&p, err, sizeof(err)) != (cases[i].ok ? 0 : -EINVAL))
			fail_msg("%s: want %s", cases[i].p, cases[i].ok ? "ok" : "refused");
		if (!cases[i].ok && strstr(err, cases[i].p) == NULL)
			fail_msg("%s: error '%s' does not name it", cases[i].p, err);
	}
}

/* ---- pools and allocation ---------------------------------------------------- */

static void
test_pool_add(void **state)
{
	static const char *const resv[] = {"44.31.1.0/32", "44.31.1.1/32", NULL};
	static const struct {
		const char *name, *prefix;
		unsigned alloc_len;
		const char *ifname;
		const char *reserved; /* one, or NULL */
		int ret;
		const char *err;
	} cases[] = {
		{"a", "44.31.0.0/16", 32, NULL, NULL, -EEXIST, "44.31.1.0/24 (pool v4)"},
		{"b", "44.31.1.128/25", 32, NULL, NULL, -EEXIST, "pool v4"},
		{"c", "44.31.1.0/24", 32, NULL, NULL, -EEXIST, "pool v4"},
		{"v4", "44.31.2.0/24", 32, NULL, NULL, -EEXIST, "named v4"},
		{"d", "44.192.1.0/24", 32, NULL, NULL, -EINVAL, "not AMPRNet"},
		{"e", "10.0.0.0/24", 32, NULL, NULL, -EINVAL, "not AMPRNet"},
		{"f", "44.31.2.0/24", 16, NULL, NULL, -EINVAL, "alloc_len"},
		{"g", "44.31.2.0/24", 33, NULL, NULL, -EINVAL, "alloc_len"},
		{"h", "44.31.2.0/24", 32, "wg9", NULL, -ENOENT, "no interface wg9"},
		{"i", "44.31.2.0/24", 32, NULL, "44.31.3.1/32", -EINVAL, "not inside"},
		{"j", "44.60.0.0/16", 32, NULL, NULL, -EEXIST, "44.60.1.0/24 (assigned"},
		{"bad name", "44.31.2.0/24", 32, NULL, NULL, -EINVAL, "name"},
		{"k", "fd00::/48", 64, NULL, NULL, -EINVAL, "global unicast"},
		{"l", "2001:db8:44::/48", 64, "wg0", NULL, 0, NULL},
		{"m", "2001:db8::/32", 64, NULL, NULL, -EEXIST, "2001:db8:44::/48 (pool l)"},
		{"n", "44.31.2.0/24", 32, "wg1", "44.31.2.0/28", 0, NULL},
	};
	struct fx *f = *state;
	struct ctl_pool p, q;
	struct ctl_ipam_prefix r;
	struct ctl_address a;
	char err[256];
	size_t i;
	int64_t tun;

	mk_pool(f, "v4", "44.31.1.0/24", 32, "wg0", resv);
	tun = mk_tunnel(f, "wg0");
	r = pfx("44.60.1.0/24");
	assert_int_equal(ctl_ipam_assign(f->s, tun, &r, NULL, err, sizeof(err)), 0);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&p, 0, sizeof(p));
		snprintf(p.name, sizeof(p.name), "%s", cases[i].name);
		p.prefix = pfx(cases[i].prefix);
		p.alloc_len = (uint8_t)cases[i].alloc_len;
		snprintf(p.interface, sizeof(p.interface), "%s",
			 cases[i].ifname ? cases[i].ifname : "");
		if (cases[i].reserved != NULL)
			r = pfx(cases[i].reserved);
		err[0] = '\0';
		if (ctl_ipam_pool_add(f->s, &p, &r, cases[i].reserved ? 1 : 0, err, sizeof(err)) !=
		    cases[i].ret)
			fail_msg("case %zu (%s): err '%s'", i, cases[i].name, err);
		if (cases[i].err != NULL && strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err '%s', want '%s'", i, err, cases[i].err);
		/* all or nothing */
		if (cases[i].ret != 0)
			assert_int_equal(ctl_store_pool_get_by_name(f->s, cases[i].name, &q),
					 strcmp(cases[i].name, "v4") == 0 ? 0 : -ENOENT);
	}
	/* the reservations are rows of the pool without a tunnel */
	assert_int_equal(ctl_store_pool_get_by_name(f->s, "n", &q), 0);
	r = pfx("44.31.2.0/28");
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &r, &a), 0);
	assert_int_equal(a.tunnel_id, 0);
	assert_int_equal(a.pool_id, q.id);
	/* a reservation that overlaps another one, all or nothing */
	{
		struct ctl_ipam_prefix two[2] = {pfx("44.31.3.8/29"), pfx("44.31.3.12/30")};

		memset(&p, 0, sizeof(p));
		snprintf(p.name, sizeof(p.name), "o");
		p.prefix = pfx("44.31.3.0/24");
		p.alloc_len = 32;
		assert_int_equal(ctl_ipam_pool_add(f->s, &p, two, 2, err, sizeof(err)), -EEXIST);
		assert_non_null(strstr(err, "44.31.3.8/29 (reserved in pool"));
		assert_int_equal(ctl_store_pool_get_by_name(f->s, "o", &q), -ENOENT);
		r = pfx("44.31.3.8/29");
		assert_int_equal(ctl_store_address_get_by_prefix(f->s, &r, &a), -ENOENT);
	}
}

/* Sync pool v4 (44.31.1.0/24 of /32s on ifname) with the given reservations. */
static int
sync_v4(struct fx *f, const char *prefix, const char *ifname, const char *const *resv,
	char *err, size_t errlen, int64_t *id)
{
	struct ctl_pool p = {.alloc_len = 32};
	struct ctl_ipam_prefix r[8];
	size_t n = 0;
	int ret;

	snprintf(p.name, sizeof(p.name), "v4");
	snprintf(p.interface, sizeof(p.interface), "%s", ifname);
	p.prefix = pfx(prefix);
	while (resv[n] != NULL) {
		r[n] = pfx(resv[n]);
		n++;
	}
	ret = ctl_ipam_pool_sync(f->s, &p, r, n, err, errlen);
	if (ret == 0)
		*id = p.id;
	return ret;
}

static void
test_pool_sync(void **state)
{
	static const char *const r01[] = {"44.31.1.0/32", "44.31.1.1/32", NULL};
	static const char *const r02[] = {"44.31.1.0/32", "44.31.1.2/32", NULL};
	static const char *const r_alloc[] = {"44.31.1.0/32", "44.31.1.3/32", NULL};
	static const char *const none[] = {NULL};
	struct fx *f = *state;
	struct ctl_ipam_prefix p;
	struct ctl_address a;
	struct ctl_pool q;
	int64_t id, id2, tun;
	char err[256];

	tun = mk_tunnel(f, "wg0");
	assert_int_equal(sync_v4(f, "44.31.1.0/24", "wg0", r01, err, sizeof(err), &id), 0);
	assert_string_equal(alloc1(f, id, tun), "44.31.1.2/32");
	assert_string_equal(alloc1(f, id, tun), "44.31.1.3/32");
	/* the same again: nothing changes */
	assert_int_equal(sync_v4(f, "44.31.1.0/24", "wg0", r01, err, sizeof(err), &id2), 0);
	assert_int_equal(id2, id);
	p = pfx("44.31.1.1/32");
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &p, &a), 0);
	assert_int_equal(a.tunnel_id, 0);
	/* a reservation over an allocated block: refused, all or nothing */
	assert_int_equal(sync_v4(f, "44.31.1.0/24", "wg1", r_alloc, err, sizeof(err), &id2),
			 -EEXIST);
	assert_non_null(strstr(err, "44.31.1.3/32 (allocated to tunnel"));
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &p, &a), 0); /* .1 kept */
	assert_int_equal(ctl_store_pool_get(f->s, id, &q), 0);
	assert_string_equal(q.interface, "wg0");
	/* .1 dropped, .2 is allocated: refused too */
	assert_int_equal(sync_v4(f, "44.31.1.0/24", "wg0", r02, err, sizeof(err), &id2), -EEXIST);
	/* release .2, then it works: .1 is free again, below the mark */
	p = pfx("44.31.1.2/32");
	assert_int_equal(ctl_ipam_release(f->s, tun, &p), 0);
	assert_int_equal(sync_v4(f, "44.31.1.0/24", "", r02, err, sizeof(err), &id2), 0);
	assert_int_equal(ctl_store_pool_get(f->s, id, &q), 0);
	assert_string_equal(q.interface, "");
	assert_string_equal(alloc1(f, id, tun), "44.31.1.1/32");
	assert_string_equal(alloc1(f, id, tun), "44.31.1.4/32");
	/* an unknown interface */
	assert_int_equal(sync_v4(f, "44.31.1.0/24", "wg9", r02, err, sizeof(err), &id2), -ENOENT);
	assert_non_null(strstr(err, "no interface wg9"));
	/* a new prefix while blocks are allocated */
	assert_int_equal(sync_v4(f, "44.31.2.0/24", "", none, err, sizeof(err), &id2), -EBUSY);
	assert_non_null(strstr(err, "3 blocks are allocated"));
	assert_int_equal(ctl_store_tunnel_delete(f->s, tun), 0);
	assert_int_equal(sync_v4(f, "44.31.2.0/24", "", none, err, sizeof(err), &id2), 0);
	assert_int_equal(ctl_store_pool_get_by_name(f->s, "v4", &q), 0);
	assert_string_equal(fmt(&q.prefix), "44.31.2.0/24");
	p = pfx("44.31.1.0/32"); /* the old reservations went with the old pool */
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &p, &a), -ENOENT);
	tun = mk_tunnel(f, "wg0");
	assert_string_equal(alloc1(f, id2, tun), "44.31.2.0/32");
}

static void
test_pool_for(void **state)
{
	struct fx *f = *state;
	struct ctl_pool p;
	int64_t any4, wg1v4, v6;

	assert_int_equal(ctl_ipam_pool_for(f->s, "wg0", AF_INET, &p), -ENOENT);
	any4 = mk_pool(f, "any4", "44.31.1.0/24", 32, NULL, NULL);
	wg1v4 = mk_pool(f, "wg1v4", "44.31.2.0/24", 32, "wg1", NULL);
	v6 = mk_pool(f, "v6", "2001:db8:44::/48", 64, "wg0", NULL);
	assert_int_equal(ctl_ipam_pool_for(f->s, "wg0", AF_INET, &p), 0);
	assert_int_equal(p.id, any4);
	assert_int_equal(ctl_ipam_pool_for(f->s, "wg1", AF_INET, &p), 0);
	assert_int_equal(p.id, wg1v4);
	assert_int_equal(ctl_ipam_pool_for(f->s, "wg0", AF_INET6, &p), 0);
	assert_int_equal(p.id, v6);
	assert_int_equal(ctl_ipam_pool_for(f->s, "wg1", AF_INET6, &p), -ENOENT);
}

static void
test_allocate_sequence(void **state)
{
	static const char *const resv4[] = {"44.31.1.0/32", "44.31.1.1/32", "44.31.1.4/30",
					    "44.31.1.255/32", NULL};
	static const char *const resv6[] = {"2001:db8:44::1/128", "2001:db8:44:2::/63", NULL};
	struct fx *f = *state;
	struct ctl_address out[4];
	int64_t v4, v6, t1, t2, t3;
	char err[256];

	v4 = mk_pool(f, "v4", "44.31.1.0/24", 32, "wg0", resv4);
	v6 = mk_pool(f, "v6", "2001:db8:44::/48", 64, NULL, resv6);
	t1 = mk_tunnel(f, "wg0");
	t2 = mk_tunnel(f, "wg0");
	t3 = mk_tunnel(f, "wg1");

	assert_string_equal(alloc1(f, v4, t1), "44.31.1.2/32");
	assert_string_equal(alloc1(f, v4, t2), "44.31.1.3/32");
	assert_string_equal(alloc1(f, v4, t1), "44.31.1.8/32"); /* past the reserved /30 */
	assert_int_equal(ctl_ipam_allocate(f->s, v4, t2, 3, out, err, sizeof(err)), 0);
	assert_string_equal(fmt(&out[0].prefix), "44.31.1.9/32");
	assert_string_equal(fmt(&out[1].prefix), "44.31.1.10/32");
	assert_string_equal(fmt(&out[2].prefix), "44.31.1.11/32");

	/* /64s out of the /48; ::/64 holds a reserved /128 */
	assert_string_equal(alloc1(f, v6, t1), "2001:db8:44:1::/64");
	assert_string_equal(alloc1(f, v6, t3), "2001:db8:44:4::/64");
	assert_string_equal(alloc1(f, v6, t1), "2001:db8:44:5::/64");

	/* the pool's interface */
	assert_int_equal(ctl_ipam_allocate(f->s, v4, t3, 1, out, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "serves wg0"));
	assert_int_equal(ctl_ipam_allocate(f->s, 9999, t1, 1, out, err, sizeof(err)), -ENOENT);
	assert_int_equal(ctl_ipam_allocate(f->s, v4, 9999, 1, out, err, sizeof(err)), -ENOENT);
	assert_int_equal(ctl_ipam_allocate(f->s, v4, t1, 0, out, err, sizeof(err)), -EINVAL);

	/* release and reuse: the lowest free block comes back first */
	assert_int_equal(ctl_ipam_release(f->s, t2, &(struct ctl_ipam_prefix){0}), -EINVAL);
	{
		struct ctl_ipam_prefix p = pfx("44.31.1.3/32");

		assert_int_equal(ctl_ipam_release(f->s, t1, &p), -ENOENT); /* not t1's */
		assert_int_equal(ctl_ipam_release(f->s, t2, &p), 0);
		assert_int_equal(ctl_ipam_release(f->s, t2, &p), -ENOENT);
		p = pfx("44.31.1.0/32");
		assert_int_equal(ctl_ipam_release(f->s, 0, &p), -ENOENT); /* a reservation */
	}
	assert_string_equal(alloc1(f, v4, t1), "44.31.1.3/32");
	assert_string_equal(alloc1(f, v4, t1), "44.31.1.12/32");
	/* a deleted tunnel frees its blocks (cascade) */
	assert_int_equal(ctl_store_tunnel_delete(f->s, t2), 0);
	assert_string_equal(alloc1(f, v4, t1), "44.31.1.9/32");
	assert_string_equal(alloc1(f, v4, t1), "44.31.1.10/32");
	assert_string_equal(alloc1(f, v4, t1), "44.31.1.11/32");
	assert_string_equal(alloc1(f, v4, t1), "44.31.1.13/32");
	assert_string_equal(alloc1(f, v6, t1), "2001:db8:44:6::/64");
}

static void
test_exhaustion(void **state)
{
	struct fx *f = *state;
	struct ctl_address out[4];
	struct ctl_pool p;
	uint64_t al, rs;
	int64_t pool, t1, t2;
	char err[256];

	pool = mk_pool(f, "tiny", "44.31.9.0/30", 32, NULL, NULL);
	t1 = mk_tunnel(f, "wg0");
	t2 = mk_tunnel(f, "wg1");
	/* every address of the /30, network and broadcast included */
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 3, out, err, sizeof(err)), 0);
	assert_string_equal(fmt(&out[0].prefix), "44.31.9.0/32");
	assert_string_equal(fmt(&out[2].prefix), "44.31.9.2/32");
	/* asking for more than is left takes nothing */
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t2, 2, out, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "full"));
	assert_int_equal(ctl_store_pool_usage(f->s, pool, &al, &rs), 0);
	assert_int_equal(al, 3);
	assert_string_equal(alloc1(f, pool, t2), "44.31.9.3/32");
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t2, 1, out, err, sizeof(err)), -ENOSPC);
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 1, out, err, sizeof(err)), -ENOSPC);
	/* inside a transaction: the failure leaves the transaction usable */
	assert_int_equal(ctl_store_begin(f->s), 0);
	assert_int_equal(ctl_store_tunnel_delete(f->s, t2), 0);
	assert_string_equal(alloc1(f, pool, t1), "44.31.9.3/32");
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 1, out, err, sizeof(err)), -ENOSPC);
	assert_true(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_rollback(f->s), 0);
	/* the rollback restored t2, its address and the pool's hint */
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 1, out, err, sizeof(err)), -ENOSPC);
	assert_int_equal(ctl_store_pool_get(f->s, pool, &p), 0);
	assert_int_equal(ctl_store_tunnel_delete(f->s, t2), 0);
	assert_int_equal(ctl_store_tunnel_delete(f->s, t1), 0);
	t1 = mk_tunnel(f, "wg0");
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 4, out, err, sizeof(err)), 0);
	assert_string_equal(fmt(&out[3].prefix), "44.31.9.3/32");

	/* a pool that is all one block; a v6 /126 of /128s ending at a /64 edge */
	pool = mk_pool(f, "one", "44.31.10.0/24", 24, NULL, NULL);
	assert_string_equal(alloc1(f, pool, t1), "44.31.10.0/24");
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 1, out, err, sizeof(err)), -ENOSPC);
	pool = mk_pool(f, "v6", "2001:db8:0:ffff:ffff:ffff:ffff:fffc/126", 128, NULL, NULL);
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 4, out, err, sizeof(err)), 0);
	assert_string_equal(fmt(&out[3].prefix), "2001:db8:0:ffff:ffff:ffff:ffff:ffff/128");
	assert_int_equal(ctl_ipam_allocate(f->s, pool, t1, 1, out, err, sizeof(err)), -ENOSPC);
}

/* ---- assignment ---------------------------------------------------------------- */

static void
test_assign(void **state)
{
	static const struct {
		const char *p;
		int ret;
		const char *err; /* substring */
	} cases[] = {
		/* pools: equal, contained, containing */
		{"44.31.1.0/24", -EEXIST, "44.31.1.0/24 (pool v4)"},
		{"44.31.1.128/25", -EEXIST, "44.31.1.0/24 (pool v4)"},
		{"44.31.1.77/32", -EEXIST, "(pool v4)"},
		{"44.31.0.0/16", -EEXIST, "(pool v4)"},
		{"44.0.0.0/9", -EEXIST, "pool v4"},
		/* an assigned prefix: equal, contained, containing */
		{"44.60.0.0/16", -EEXIST, "44.60.0.0/16 (assigned to tunnel"},
		{"44.60.5.0/24", -EEXIST, "44.60.0.0/16 (assigned"},
		{"44.60.255.255/32", -EEXIST, "44.60.0.0/16 (assigned"},
		{"44.32.0.0/11", -EEXIST, "44.60.0.0/16 (assigned"},
		/* disjoint neighbours */
		{"44.61.0.0/16", 0, NULL},
		{"44.59.255.0/24", 0, NULL},
		{"44.31.2.0/24", 0, NULL},
		{"44.31.0.255/32", 0, NULL},
		/* not AMPRNet */
		{"44.192.0.0/16", -EINVAL, "not AMPRNet"},
		{"45.0.0.0/24", -EINVAL, "not AMPRNet"},
		{"fd00::/48", -EINVAL, "global unicast"},
		/* IPv6 */
		{"2001:db8:44::/48", -EEXIST, "2001:db8:44::/48 (pool v6)"},
		{"2001:db8:44:ff::/64", -EEXIST, "(pool v6)"},
		{"2001:db8::/32", -EEXIST, "(pool v6)"},
		{"2001:db8:45::/48", 0, NULL},
		{"2001:db8:45:1::/64", -EEXIST, "2001:db8:45::/48 (assigned"},
		{"2a0b:44::/32", 0, NULL},
		{"2a0b::/16", -EEXIST, "2a0b:44::/32 (assigned"},
	};
	struct fx *f = *state;
	struct ctl_ipam_prefix p;
	struct ctl_address a;
	struct ctl_tunnel t;
	int64_t v4, tun, other;
	char err[256];
	size_t i;

	v4 = mk_pool(f, "v4", "44.31.1.0/24", 32, NULL, NULL);
	mk_pool(f, "v6", "2001:db8:44::/48", 64, NULL, NULL);
	tun = mk_tunnel(f, "wg0");
	other = mk_tunnel(f, "wg0");
	p = pfx("44.60.0.0/16");
	assert_int_equal(ctl_ipam_assign(f->s, other, &p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.pool_id, 0);
	assert_int_equal(a.tunnel_id, other);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = pfx(cases[i].p);
		err[0] = '\0';
		if (ctl_ipam_assign(f->s, tun, &p, NULL, err, sizeof(err)) != cases[i].ret)
			fail_msg("%s: err '%s'", cases[i].p, err);
		if (cases[i].err != NULL && strstr(err, cases[i].err) == NULL)
			fail_msg("%s: err '%s', want '%s'", cases[i].p, err, cases[i].err);
		if (cases[i].ret == -EEXIST) {
			/* ctl_ipam_conflict finds the same */
			assert_int_equal(ctl_ipam_conflict(f->s, &p, err, sizeof(err)), -EEXIST);
			assert_non_null(strstr(err, cases[i].err));
		}
	}
	/* an allocated address conflicts as such */
	alloc1(f, v4, other);
	assert_int_equal(ctl_store_pool_delete(f->s, v4), -EBUSY);
	p = pfx("44.31.1.0/32");
	assert_int_equal(ctl_ipam_conflict(f->s, &p, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "(pool v4)")); /* pools are checked first */
	p = pfx("44.31.2.0/24");
	assert_int_equal(ctl_ipam_conflict(f->s, &p, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "assigned to tunnel"));
	p = pfx("44.99.0.0/16");
	assert_int_equal(ctl_ipam_conflict(f->s, &p, err, sizeof(err)), 0);
	assert_int_equal(ctl_ipam_assign(f->s, 9999, &p, NULL, err, sizeof(err)), -ENOENT);

	/* the tunnel holds its own prefixes */
	assert_int_equal(ctl_store_tunnel_get(f->s, tun, &t), 0);
	assert_int_equal(t.n_addrs, 6);
	assert_string_equal(fmt(&t.addrs[0].prefix), "44.31.0.255/32");
	assert_string_equal(fmt(&t.addrs[5].prefix), "2a0b:44::/32");
	ctl_store_tunnel_clear(&t);
	p = pfx("44.61.0.0/16");
	assert_int_equal(ctl_ipam_release(f->s, tun, &p), 0);
	assert_int_equal(ctl_ipam_assign(f->s, other, &p, NULL, err, sizeof(err)), 0);
}

/* ---- random operations against a model ---------------------------------------------- */

enum { SLOTS = 256, TUNNELS = 12, RESERVED = -1 };

struct model_pool {
	int64_t id;
	int family;
	uint8_t base[16];
	unsigned shift;	     /* bits of a block above the pool's base: slot << shift */
	int64_t owner[SLOTS]; /* 0 free, RESERVED, or a tunnel id */
};

struct model {
	struct model_pool pool[2];
	int64_t tunnel[TUNNELS];
};

static uint64_t rng;

/* what the random run did, printed at its end */
static struct {
	unsigned allocs, full, releases, deletes, commits, rollbacks, checks;
} stats;

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}

/* The block of slot i of a model pool. */
static struct ctl_ipam_prefix
slot_prefix(const struct model_pool *mp, unsigned i, unsigned plen)
{
	struct ctl_ipam_prefix p = {.family = mp->family, .plen = (uint8_t)plen};
	unsigned bit = (mp->family == AF_INET ? 32 : 128) - mp->shift - 8; /* slot's top bit */
	unsigned byte = bit / 8, sh = bit % 8;

	memcpy(p.addr, mp->base, 16);
	/* the 8 slot bits start at bit `bit` from the top; spread over two bytes */
	p.addr[byte] |= (uint8_t)(i >> sh);
	if (sh != 0)
		p.addr[byte + 1] |= (uint8_t)(i << (8 - sh));
	return p;
}

/* Slot index of a block of a model pool. */
static unsigned
slot_of(const struct model_pool *mp, const struct ctl_ipam_prefix *p)
{
	unsigned i;

	for (i = 0; i < SLOTS; i++) {
		struct ctl_ipam_prefix q = slot_prefix(mp, i, p->plen);

		if (memcmp(q.addr, p->addr, 16) == 0)
			return i;
	}
	fail_msg("%s is no block of pool %lld", fmt(p), (long long)mp->id);
	return 0;
}

struct check {
	const struct model_pool *mp;
	int64_t seen[SLOTS];
};

static int
check_row(const struct ctl_address *a, void *arg)
{
	struct check *c = arg;
	unsigned plen = c->mp->family == AF_INET ? 32 : 64;

	if (a->tunnel_id == 0)
		return 0; /* reservations: checked by the allocations never landing there */
	assert_int_equal(a->prefix.plen, plen);
	c->seen[slot_of(c->mp, &a->prefix)] = a->tunnel_id;
	return 0;
}

/* The database holds exactly the model's allocations. */
static void
check_model(struct fx *f, const struct model *m)
{
	struct check c;
	unsigned p, i;

	for (p = 0; p < 2; p++) {
		memset(&c, 0, sizeof(c));
		c.mp = &m->pool[p];
		assert_int_equal(ctl_store_address_foreach_pool(f->s, c.mp->id, check_row, &c), 0);
		for (i = 0; i < SLOTS; i++) {
			int64_t want = c.mp->owner[i] == RESERVED ? 0 : c.mp->owner[i];

			if (c.seen[i] != want)
				fail_msg("pool %u slot %u: db %lld, model %lld", p, i,
					 (long long)c.seen[i], (long long)want);
		}
	}
}

static void
model_alloc(struct fx *f, struct model *m)
{
	struct model_pool *mp = &m->pool[rnd() % 2];
	int64_t tun = m->tunnel[rnd() % TUNNELS];
	unsigned count = 1 + (unsigned)(rnd() % 3), want[3], n = 0, i;
	unsigned plen = mp->family == AF_INET ? 32 : 64;
	struct ctl_address out[3];
	char err[256];
	int ret;

	for (i = 0; i < SLOTS && n < count; i++)
		if (mp->owner[i] == 0)
			want[n++] = i;
	ret = ctl_ipam_allocate(f->s, mp->id, tun, count, out, err, sizeof(err));
	if (n < count) {
		if (ret != -ENOSPC)
			fail_msg("allocate %u with %u free: %d", count, n, ret);
		stats.full++;
		return;
	}
	if (ret != 0)
		fail_msg("allocate %u: %d %s", count, ret, err);
	for (i = 0; i < count; i++) {
		struct ctl_ipam_prefix p = slot_prefix(mp, want[i], plen);

		if (!ctl_ipam_prefix_equal(&p, &out[i].prefix))
			fail_msg("allocated %s, model says %s", fmt(&out[i].prefix), fmt(&p));
		mp->owner[want[i]] = tun;
	}
	stats.allocs++;
}

static void
model_release(struct fx *f, struct model *m)
{
	struct model_pool *mp = &m->pool[rnd() % 2];
	unsigned start = (unsigned)(rnd() % SLOTS), i, plen = mp->family == AF_INET ? 32 : 64;

	for (i = 0; i < SLOTS; i++) {
		unsigned s = (start + i) % SLOTS;

		if (mp->owner[s] > 0) {
			struct ctl_ipam_prefix p = slot_prefix(mp, s, plen);

			assert_int_equal(ctl_ipam_release(f->s, mp->owner[s], &p), 0);
			mp->owner[s] = 0;
			stats.releases++;
			return;
		}
	}
}

static void
model_delete_tunnel(struct fx *f, struct model *m)
{
	unsigned k = (unsigned)(rnd() % TUNNELS), p, i;
	int64_t old = m->tunnel[k];

	assert_int_equal(ctl_store_tunnel_delete(f->s, old), 0);
	for (p = 0; p < 2; p++)
		for (i = 0; i < SLOTS; i++)
			if (m->pool[p].owner[i] == old)
				m->pool[p].owner[i] = 0;
	m->tunnel[k] = mk_tunnel(f, "wg0");
	stats.deletes++;
}

/*
 * One random step; alloc_pct of them allocate (the run alternates filling
 * phases, which exhaust the pools, with draining ones). The rest: 70%
 * releases, 10% tunnel deletions, 10% transactions (depth 0 only), 10%
 * full checks.
 */
static void
model_step(struct fx *f, struct model *m, unsigned depth, unsigned alloc_pct)
{
	unsigned r = (unsigned)(rnd() % 100), rest;

	if (r < alloc_pct) {
		model_alloc(f, m);
		return;
	}
	rest = (unsigned)(rnd() % 10);
	if (rest < 7) {
		model_release(f, m);
	} else if (rest < 8) {
		model_delete_tunnel(f, m);
	} else if (rest < 9 && depth == 0) {
		/* a transaction of a few steps, committed or rolled back */
		struct model *saved = malloc(sizeof(*saved));
		unsigned n = 1 + (unsigned)(rnd() % 4), i;

		assert_non_null(saved);
		*saved = *m;
		assert_int_equal(ctl_store_begin(f->s), 0);
		for (i = 0; i < n; i++)
			model_step(f, m, depth + 1, alloc_pct);
		if (rnd() % 2) {
			assert_int_equal(ctl_store_rollback(f->s), 0);
			*m = *saved; /* tunnels made inside it are gone with it */
			stats.rollbacks++;
		} else {
			assert_int_equal(ctl_store_commit(f->s), 0);
			stats.commits++;
		}
		free(saved);
	} else {
		check_model(f, m);
		stats.checks++;
	}
}

static void
test_random_vs_model(void **state)
{
	/* v4: .0, .1, .64/28, .255 reserved; v6 /56 of /64s: ::1/128 and :80::/62 */
	static const char *const resv4[] = {"44.31.1.0/32", "44.31.1.1/32", "44.31.1.64/28",
					    "44.31.1.255/32", NULL};
	static const char *const resv6[] = {"2001:db8:44::1/128", "2001:db8:44:80::/62", NULL};
	struct fx *f = *state;
	struct model *m = calloc(1, sizeof(*m));
	const char *env = getenv("GATE44_SEED");
	unsigned i, steps = 4000;

	assert_non_null(m);
	rng = env != NULL ? strtoull(env, NULL, 0) : UINT64_C(0x44a3b1c2d3e4f501);
	if (rng == 0)
		rng = 1;
	printf("test_random_vs_model: GATE44_SEED=0x%" PRIx64 "\n", rng);

	m->pool[0].id = mk_pool(f, "v4", "44.31.1.0/24", 32, "wg0", resv4);
	m->pool[0].family = AF_INET;
	memcpy(m->pool[0].base, pfx("44.31.1.0/24").addr, 16);
	m->pool[0].shift = 0;
	m->pool[1].id = mk_pool(f, "v6", "2001:db8:44::/56", 64, NULL, resv6);
	m->pool[1].family = AF_INET6;
	memcpy(m->pool[1].base, pfx("2001:db8:44::/56").addr, 16);
	m->pool[1].shift = 64;
	m->pool[0].owner[0] = m->pool[0].owner[1] = m->pool[0].owner[255] = RESERVED;
	for (i = 64; i < 80; i++)
		m->pool[0].owner[i] = RESERVED;
	m->pool[1].owner[0] = RESERVED;
	for (i = 0x80; i < 0x84; i++)
		m->pool[1].owner[i] = RESERVED;
	for (i = 0; i < TUNNELS; i++)
		m->tunnel[i] = mk_tunnel(f, "wg0");

	/* commit in batches: one fsync per batch keeps the test quick */
	for (i = 0; i < steps; i++) {
		if (i % 50 == 0)
			assert_int_equal(ctl_store_savepoint(f->s), 0);
		model_step(f, m, 1, (i / 400) % 2 ? 20 : 90);
		if (i % 50 == 49)
			assert_int_equal(ctl_store_savepoint_end(f->s, 0), 0);
	}
	if (steps % 50 != 0)
		assert_int_equal(ctl_store_savepoint_end(f->s, 0), 0);
	check_model(f, m);
	/* and with real transactions (depth 0), fewer steps */
	for (i = 0; i < 800; i++)
		model_step(f, m, 0, (i / 200) % 2 ? 20 : 90);
	check_model(f, m);
	printf("test_random_vs_model: %u allocations, %u refused (full), %u releases, "
	       "%u tunnel deletions, %u commits, %u rollbacks, %u full checks\n",
	       stats.allocs, stats.full, stats.releases, stats.deletes, stats.commits,
	       stats.rollbacks, stats.checks);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_amprnet),
		cmocka_unit_test_setup_teardown(test_pool_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_for, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocate_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_vs_model, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
