/*
 * util.c — small helpers shared by the engine's modules. Any thread.
 */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

int
dp_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
