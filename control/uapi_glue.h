/*
 * uapi_glue.h — gate44-control's side of the WireGuard UAPI socket: what
 * `wg show` sees (the engine's peers: the active tunnels, with the engine's
 * counters) and what `wg set`/`setconf`/`syncconf` do (tunnel operations in
 * one transaction, as through the HTTP API). Main thread.
 */
#ifndef GATE44_CTL_UAPI_GLUE_H
#define GATE44_CTL_UAPI_GLUE_H

#include "uapi.h"

/* ctx: struct ctl * */
extern const struct uapi_ops ctl_uapi_ops;

/* Tunnels created through the UAPI (wg set/setconf) belong to this user,
 * made on first use. */
#define CTL_UAPI_USER "wg"

#endif /* GATE44_CTL_UAPI_GLUE_H */
