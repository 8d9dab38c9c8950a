/*
 * ctl.h — gate44-control's context and its operations. Every change goes
 * through one of these functions, shared by the HTTP API and the UAPI
 * socket: each is one store transaction that is applied to the store and to
 * the engine, or to neither (a change the engine refused, or that could not
 * reach it, is rolled back; a commit that fails after the engine applied the
 * change is undone in the engine). Main thread only.
 */
#ifndef GATE44_CTL_H
#define GATE44_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cfg.h"
#include "engine.h"
#include "ipam.h"
#include "store.h"

struct ctl_http;
struct uapi_server;

struct ctl {
	struct ctl_cfg cfg;
	struct ctl_store *store;
	struct ctl_engine *engine;
	struct ctl_http *http;
	struct uapi_server *uapi[CTL_CFG_MAX_IFS];
	unsigned synced_generation;   /* engine connection last fully synced */
	bool engine_dirty;            /* the open transaction changed the engine */
	uint64_t engine_instance;     /* the engine's counters restart with it */
	int64_t next_fold, next_expiry, next_connect;
	volatile int quit;
};

/* An error for the API: HTTP status, a stable code, the field at fault. */
struct ctl_err {
	unsigned status;
	char code[32];
	char field[48];
	char message[256];
};

int ctl_errf(struct ctl_err *e, unsigned status, const char *code, const char *field,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* What a new tunnel asks for. */
struct ctl_tunnel_req {
	int64_t user_id;
	const char *interface;        /* NULL: the first configured interface */
	const char *name;             /* NULL: "" */
	const char *public_key;       /* NULL: the server generates the key pair */
	bool psk;                     /* generate a preshared key */
	unsigned keepalive;           /* 0: off */
	unsigned v4, v6;              /* addresses to allocate from the interface's pools */
	const struct ctl_ipam_prefix *own; /* the user's own prefixes */
	unsigned n_own;
	int64_t expires_at;           /* 0: never */
	bool disabled;
};

/* A change to a tunnel: only the fields marked present change. */
struct ctl_tunnel_patch {
	const char *name;             /* NULL: unchanged */
	bool has_keepalive;
	unsigned keepalive;
	int psk;                      /* -1 unchanged, 0 remove, 1 generate, 2 psk_value */
	uint8_t psk_value[32];
	bool has_enabled;
	bool enabled;
	bool has_expires;
	int64_t expires_at;
	/* UAPI: set the allowed IPs to exactly these (each must be one of the
	 * tunnel's addresses or a valid own prefix) */
	bool has_allowed;
	const struct ctl_ipam_prefix *allowed;
	unsigned n_allowed;
	/* UAPI: the peer's endpoint as the operator set it ("" none) */
	const char *endpoint;
};

/* A transaction spanning several operations (the UAPI's set=1): begin,
 * the _tx operations, then commit or abort. The public operations below
 * are each one such transaction. */
int ctl_tx_begin(struct ctl *c, struct ctl_err *err);
int ctl_tx_commit(struct ctl *c, struct ctl_err *err);
void ctl_tx_abort(struct ctl *c);
int ctl_tunnel_create_tx(struct ctl *c, const struct ctl_tunnel_req *r, struct ctl_tunnel *out,
			 char private_key_b64[45], struct ctl_err *err);
int ctl_tunnel_update_tx(struct ctl *c, int64_t id, const struct ctl_tunnel_patch *p,
			 struct ctl_tunnel *out, struct ctl_err *err);
int ctl_tunnel_delete_tx(struct ctl *c, int64_t id, struct ctl_err *err);

int ctl_tunnel_create(struct ctl *c, const struct ctl_tunnel_req *r, struct ctl_tunnel *out,
		      char private_key_b64[45], struct ctl_err *err);
int ctl_tunnel_update(struct ctl *c, int64_t id, const struct ctl_tunnel_patch *p,
		      struct ctl_tunnel *out, struct ctl_err *err);
int ctl_tunnel_delete(struct ctl *c, int64_t id, struct ctl_err *err);
/* The engine's view of a tunnel: endpoint, last handshake, counters,
 * connected. NULL when the engine cannot be asked. */
json_t *ctl_tunnel_status(struct ctl *c, const struct ctl_tunnel *t);

int ctl_user_set_disabled(struct ctl *c, int64_t id, bool disabled, struct ctl_err *err);
/* Removes the user's tunnels from the engine first, then the user. */
int ctl_user_delete(struct ctl *c, int64_t id, struct ctl_err *err);

/* Mark a tunnel expired (it leaves the engine, stays in the store). */
int ctl_tunnel_expire(struct ctl *c, int64_t id, int64_t now, struct ctl_err *err);
/* The engine's peer.set request for a tunnel (new reference). */
json_t *ctl_peer_set_json(const struct ctl_tunnel *t);

/* Push the whole state of the store to the engine and remove what the
 * store does not have. 0 or -errno. */
int ctl_engine_sync(struct ctl *c);
/* Fold the engine's per-peer counters into the store. */
void ctl_counters_fold(struct ctl *c, int64_t now);
/* Disable expired tunnels; remove those expired longer than the grace. */
void ctl_expiry_run(struct ctl *c, int64_t now);

/* The configured interface by name (NULL: the first); NULL when none. */
const struct ctl_cfg_if *ctl_interface(const struct ctl *c, const char *name);

#endif /* GATE44_CTL_H */
