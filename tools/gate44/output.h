/*
 * output.h — how the gate44 CLI shows things to people: aligned tables
 * (one row per object, like `ip -br` or kubectl), "key: value" detail
 * lists, and the numbers in them (byte counts, "2 min ago", dates). Also
 * the JSON lookups the commands use to pick fields out of replies.
 * Single-threaded.
 */
#ifndef GATE44_CLI_OUTPUT_H
#define GATE44_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* ---- tables ----------------------------------------------------------------- */

struct cli_table;

/* A table with ncols columns named by heads; a head starting with '>' is a
 * right-aligned column (numbers), shown without the '>'. NULL on ENOMEM. */
struct cli_table *cli_table_new(size_t ncols, const char *const *heads);
/* A row of ncols strings (copied; NULL shows as "-"). 0 or -ENOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells);
/* Heads and rows, columns two spaces apart, no trailing blanks; widths in
 * characters (UTF-8 aware). */
void cli_table_print(const struct cli_table *t, FILE *f);
void cli_table_free(struct cli_table *t);

/* "key:" padded to a column, then the value: the detail views. */
void cli_kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- numbers ---------------------------------------------------------------- */

/* Scratch space for one formatted value. */
#define CLI_FMT_LEN 64

/* 0 -> "0 B", 1536 -> "1.5 KiB", up to EiB. Returns buf. */
const char *cli_fmt_bytes(uint64_t n, char *buf);
/* Unix time t relative to now: "never" (t 0), "just now", "42 s ago",
 * "2 min ago", "3 h ago", "5 d ago", or "in 2 min" for the future. */
const char *cli_fmt_ago(int64_t t, int64_t now, char *buf);
/* "2025-01-31 18:04:05 UTC", or "never" for 0. */
const char *cli_fmt_time(int64_t t, char *buf);
/* "2025-01-31" (UTC), or "never" for 0. */
const char *cli_fmt_date(int64_t t, char *buf);

/* ---- JSON lookups ----------------------------------------------------------- */

/* The member at path ("limits.tunnels": dots descend into objects), or NULL. */
json_t *cli_j(const json_t *o, const char *path);
/* Its string, or NULL when absent, null or not a string. */
const char *cli_jstr(const json_t *o, const char *path);
/* Its integer, or dflt when absent, null or not an integer. */
int64_t cli_jint(const json_t *o, const char *path, int64_t dflt);
/* true only for JSON true. */
bool cli_jbool(const json_t *o, const char *path);
/* "yes" / "no" for a boolean, NULL when it is absent. */
const char *cli_jyesno(const json_t *o, const char *path);
/* An integer as decimal text into buf (NULL when absent or null). */
const char *cli_jnum(const json_t *o, const char *path, char *buf);
/* The strings of an array joined by sep into buf (len bytes); "" for none.
 * Truncated with "..." when it does not fit. */
const char *cli_jjoin(const json_t *o, const char *path, const char *sep, char *buf, size_t len);

#endif /* GATE44_CLI_OUTPUT_H */
