/*
 * telemetry.h — the engine's counters over rte_telemetry
 * (dpdk-telemetry.py: /gate44/stats, /gate44/drops, /gate44/peers).
 */
#ifndef GATE44_TELEMETRY_H
#define GATE44_TELEMETRY_H

/* Register the commands; 0 or -errno (harmless when telemetry is off). */
int dp_telemetry_init(void);

#endif /* GATE44_TELEMETRY_H */
