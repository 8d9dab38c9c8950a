/*
 * util.h — small helpers shared by the engine's modules. Any thread.
 */
#ifndef GATE44_UTIL_H
#define GATE44_UTIL_H

#include <stddef.h>

/* printf into err[errlen] and return rc: `return dp_errf(err, len, -EINVAL, ...)` */
int dp_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* GATE44_UTIL_H */
