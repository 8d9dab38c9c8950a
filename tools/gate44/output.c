/*
 * output.c — the gate44 CLI's human output: aligned tables, detail lines,
 * byte counts, relative times and dates, and JSON member lookups by
 * dotted path. Runs on the CLI's only thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"

#define KV_WIDTH 18 /* "last handshake:" and a blank or two */

/* ---- tables ----------------------------------------------------------------- */

struct cli_table {
	size_t ncols;
	char **heads;
	bool *right;
	char **cells; /* rows * ncols */
	size_t rows, cap;
};

struct cli_table *
cli_table_new(size_t ncols, const char *const *heads)
{
	struct cli_table *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	t->heads = calloc(ncols, sizeof(*t->heads));
	t->right = calloc(ncols, sizeof(*t->right));
	if (t->heads == NULL || t->right == NULL)
		goto err;
	for (i = 0; i < ncols; i++) {
		t->right[i] = heads[i][0] == '>';
		t->heads[i] = strdup(heads[i] + t->right[i]);
		if (t->heads[i] == NULL)
			goto err;
	}
	return t;
err:
	cli_table_free(t);
	return NULL;
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
	size_t i, base;

	if (t->rows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));

		if (nc == NULL)
			return -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	base = t->rows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		char *p = strdup(cells[i] != NULL && cells[i][0] != '\0' ? cells[i] : "-");

		if (p == NULL) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return -ENOMEM;
		}
		t->cells[base + i] = p;
		/* the daemon refuses control characters; a terminal is not the
		 * place to find out that one got through anyway */
		for (; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	t->rows++;
	return 0;
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
print_row(const struct cli_table *t, char *const *row, const size_t *w, FILE *f)
{
	size_t i, pad;

	for (i = 0; i < t->ncols; i++) {
		pad = w[i] - width(row[i]);
		if (t->right[i])
			fprintf(f, "%*s%s", (int)pad, "", row[i]);
		else if (i + 1 < t->ncols)
			fprintf(f, "%s%*s", row[i], (int)pad, "");
		else
			fputs(row[i], f);
		if (i + 1 < t->ncols)
			fputs("  ", f);
	}
	fputc('\n', f);
}

void
cli_table_print(const struct cli_table *t, FILE *f)
{
	size_t *w = calloc(t->ncols, sizeof(*w));
	size_t i, r;

	if (w == NULL)
		return;
	for (i = 0; i < t->ncols; i++) {
		w[i] = width(t->heads[i]);
		for (r = 0; r < t->rows; r++)
			if (width(t->cells[r * t->ncols + i]) > w[i])
				w[i] = width(t->cells[r * t->ncols + i]);
	}
	print_row(t, t->heads, w, f);
	for (r = 0; r < t->rows; r++)
		print_row(t, &t->cells[r * t->ncols], w, f);
	free(w);
}

void
cli_table_free(struct cli_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; t->heads != NULL && i < t->ncols; i++)
		free(t->heads[i]);
	for (i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->heads);
	free(t->right);
	free(t->cells);
	free(t);
}

void
cli_kv(const char *key, const char *fmt, ...)
{
	int pad = KV_WIDTH - 1 - (int)width(key);
	va_list ap;

	printf("%s:%*s", key, pad > 0 ? pad : 1, "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- numbers ---------------------------------------------------------------- */

const char *
cli_fmt_bytes(uint64_t n, char *buf)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)n;
	unsigned u = 0;

	if (n < 1024) {
		snprintf(buf, CLI_FMT_LEN, "%" PRIu64 " B", n);
		return buf;
	}
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, CLI_FMT_LEN, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

const char *
cli_fmt_ago(int64_t t, int64_t now, char *buf)
{
	int64_t d = now - t, a;
	const char *u;

	if (t == 0) {
		snprintf(buf, CLI_FMT_LEN, "never");
		return buf;
	}
	a = d < 0 ? -d : d;
	if (a < 5) {
		snprintf(buf, CLI_FMT_LEN, "just now");
		return buf;
	}
	if (a < 120) {
		u = "s";
	} else if (a < 2 * 3600) {
		a /= 60;
		u = "min";
	} else if (a < 2 * 86400) {
		a /= 3600;
		u = "h";
	} else {
		a /= 86400;
		u = "d";
	}
	if (d >= 0)
		snprintf(buf, CLI_FMT_LEN, "%" PRId64 " %s ago", a, u);
	else
		snprintf(buf, CLI_FMT_LEN, "in %" PRId64 " %s", a, u);
	return buf;
}

/* t as UTC: the date, or the date and time; "never" for 0. */
static const char *
fmt_utc(int64_t t, bool with_time, char *buf)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, CLI_FMT_LEN, "%s", t == 0 ? "never" : "?");
		return buf;
	}
	if (with_time)
		snprintf(buf, CLI_FMT_LEN, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(buf, CLI_FMT_LEN, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday);
	return buf;
}

const char *
cli_fmt_time(int64_t t, char *buf)
{
	return fmt_utc(t, true, buf);
}

const char *
cli_fmt_date(int64_t t, char *buf)
{
	return fmt_utc(t, false, buf);
}

/* ---- JSON lookups ----------------------------------------------------------- */

json_t *
cli_j(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (o != NULL) {
		dot = strchr(path, '.');
		if (dot == NULL)
			return json_object_get(o, path);
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return NULL;
}

const char *
cli_jstr(const json_t *o, const char *path)
{
	return json_string_value(cli_j(o, path));
}

int64_t
cli_jint(const json_t *o, const char *path, int64_t dflt)
{
	json_t *v = cli_j(o, path);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool
cli_jbool(const json_t *o, const char *path)
{
	return json_is_true(cli_j(o, path));
}

const char *
cli_jyesno(const json_t *o, const char *path)
{
	json_t *v = cli_j(o, path);

	if (!json_is_boolean(v))
		return NULL;
	return json_is_true(v) ? "yes" : "no";
}

const char *
cli_jnum(const json_t *o, const char *path, char *buf)
{
	json_t *v = cli_j(o, path);

	if (!json_is_integer(v))
		return NULL;
	snprintf(buf, CLI_FMT_LEN, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

const char *
cli_jjoin(const json_t *o, const char *path, const char *sep, char *buf, size_t len)
{
	json_t *a = cli_j(o, path), *v;
	size_t i, n = 0, l, sl = strlen(sep);

	buf[0] = '\0';
	json_array_foreach (a, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL)
			continue;
		l = strlen(s);
		if (n + (n ? sl : 0) + l + 4 > len) {
			if (n + 4 <= len)
				snprintf(buf + n, len - n, "...");
			break;
		}
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? sep : "", s);
	}
	return buf;
}
