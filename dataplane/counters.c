/*
 * counters.c — the names and help strings of the drop reasons, generated
 * from the X-macro in counters.h. Read-only data, any thread.
 */
#include "counters.h"

const char *const dp_drop_names[DP_DROP_MAX] = {
#define _(e, n, h) [DP_DROP_##e] = n,
	DP_DROP_REASONS(_)
#undef _
};

const char *const dp_drop_help[DP_DROP_MAX] = {
#define _(e, n, h) [DP_DROP_##e] = h,
	DP_DROP_REASONS(_)
#undef _
};
