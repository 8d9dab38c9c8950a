/*
 * config.h — the gate44-dp configuration file: an INI-like text parsed into
 * plain C structs (no DPDK types, so it is unit-tested and fuzzed without
 * EAL), plus the address, prefix, endpoint and key parsers that other
 * modules reuse. Runs on the main thread before rte_eal_init(); the helpers
 * are pure functions that any thread may call. Format: dataplane/CONFIG.md.
 */
#ifndef GATE44_DP_CONFIG_H
#define GATE44_DP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>

#define DP_CFG_NAME_MAX	     16 /* port / interface / tap names: 1..15 chars + NUL */
#define DP_CFG_MAX_PORTS     32
#define DP_CFG_MAX_WG	     16
#define DP_CFG_MAX_ADDRS     16	 /* address = lines per [port] or [wireguard] */
#define DP_CFG_SOCKET_MAX    108 /* sizeof(sockaddr_un.sun_path) */
#define DP_CFG_KEY_LEN	     32
#define DP_CFG_LINE_MAX	     4096 /* longest line, without its newline */
#define DP_CFG_FILE_MAX	     (64u << 20)
#define DP_CFG_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4) /* "addr/128" + NUL */

/* Defaults. */
#define DP_CFG_DEF_SOCKET    "/run/gate44/engine.sock"
#define DP_CFG_DEF_WORKERS   (-1) /* all lcores but the main one */
#define DP_CFG_DEF_MBUFS     16383u
#define DP_CFG_DEF_BURST     32u
#define DP_CFG_DEF_MAX_PEERS 131072u
#define DP_CFG_DEF_ROUTES4 65536u
#define DP_CFG_DEF_ROUTES6 4096u
#define DP_CFG_DEF_PORT_MTU  1500u
#define DP_CFG_DEF_WG_MTU    1420u

/* An address with a prefix length. IPv4 uses addr[0..3], the rest is zero. */
struct dp_cfg_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t plen;
};

/* [port NAME]: one ethdev. */
struct dp_cfg_port {
	char name[DP_CFG_NAME_MAX];
	char *device;				      /* vdev devargs or PCI address, as written */
	struct dp_cfg_prefix addrs[DP_CFG_MAX_ADDRS]; /* own addresses; prefix on-link */
	unsigned int n_addrs;
	uint16_t mtu;
	uint16_t queues;
	bool has_mac;
	uint8_t mac[6];
	unsigned int line; /* line of the section header */
};

/* [wireguard NAME]: one WireGuard interface. */
struct dp_cfg_wg {
	char name[DP_CFG_NAME_MAX];
	uint8_t private_key[DP_CFG_KEY_LEN]; /* wiped by dp_cfg_free() */
	uint16_t listen_port;
	struct dp_cfg_prefix addrs[DP_CFG_MAX_ADDRS]; /* inner addresses of the POP */
	unsigned int n_addrs;
	uint16_t mtu;
	unsigned int line;
};

/* [peer] */
struct dp_cfg_peer {
	unsigned int wg; /* index into dp_cfg.wgs */
	uint8_t public_key[DP_CFG_KEY_LEN];
	bool has_psk;
	uint8_t psk[DP_CFG_KEY_LEN];	   /* wiped by dp_cfg_free() */
	struct dp_cfg_prefix *allowed_ips; /* network addresses (host bits zero) */
	unsigned int n_allowed_ips;
	bool has_endpoint;
	struct sockaddr_storage endpoint; /* sockaddr_in or sockaddr_in6 */
	uint16_t keepalive;		  /* seconds, 0 = off */
	unsigned int line;
};

enum dp_route_kind {
	DP_ROUTE_VIA,	    /* gateway .via reached through port .port */
	DP_ROUTE_PEER,	    /* into the tunnel of peer .peer */
	DP_ROUTE_EXCEPTION, /* to the host kernel through the exception TAP */
	DP_ROUTE_DROP,	    /* blackhole */
};

/* [route] */
struct dp_cfg_route {
	enum dp_route_kind kind;
	struct dp_cfg_prefix prefix; /* network address (host bits zero) */
	uint8_t via[16];	     /* DP_ROUTE_VIA: gateway, family of prefix */
	unsigned int port;	     /* DP_ROUTE_VIA: index into dp_cfg.ports */
	unsigned int peer;	     /* DP_ROUTE_PEER: index into dp_cfg.peers */
	unsigned int line;
};

struct dp_cfg {
	/* [eal] args split into words; eal_argv[0] = "gate44-dp",
	 * eal_argv[eal_argc] = NULL. rte_eal_init() may permute or overwrite
	 * the pointers: that is harmless, the strings live in eal_buf. */
	char **eal_argv;
	int eal_argc;
	char *eal_buf;

	/* [engine] */
	char socket_path[DP_CFG_SOCKET_MAX];
	int workers; /* -1 = all lcores but the main one; 0 = main lcore forwards */
	unsigned int mbufs;
	unsigned int burst;
	unsigned int max_peers;
	/* capacity of each FIB (the POP's, and each interface's allowed IPs) */
	unsigned int routes4;
	unsigned int routes6;

	struct dp_cfg_port ports[DP_CFG_MAX_PORTS];
	unsigned int n_ports;
	struct dp_cfg_wg wgs[DP_CFG_MAX_WG];
	unsigned int n_wgs;
	struct dp_cfg_peer *peers;
	unsigned int n_peers;
	struct dp_cfg_route *routes;
	unsigned int n_routes;

	/* [exception] tap; "" = no exception path */
	char exception_tap[DP_CFG_NAME_MAX];
};

/*
 * Parse the configuration file at path into cfg (overwritten: free an old
 * one first). Returns 0; -EINVAL for a bad configuration; -errno when a file
 * cannot be read. On error cfg is empty (as after dp_cfg_free()) and err
 * holds "<file>:<line>: <reason>" (or "<file>: <reason>" when no line
 * applies); err may be NULL.
 */
int dp_cfg_load(const char *path, struct dp_cfg *cfg, char *err, size_t errlen);
/* The same on text[0..len) (need not be NUL-terminated); name is the file
 * name used in messages and to resolve a relative private-key-file. */
int dp_cfg_parse(const char *text, size_t len, const char *name, struct dp_cfg *cfg, char *err,
		 size_t errlen);
/* Free and wipe cfg, leaving it all zero. Idempotent. */
void dp_cfg_free(struct dp_cfg *cfg);

/* Helpers. Each returns 0 or -EINVAL and writes its output only on success. */

/* "a.b.c.d" or an IPv6 address; *family = AF_INET / AF_INET6. */
int dp_addr_parse(const char *s, int *family, uint8_t addr[16]);
/* "addr/len" (the length is required); host bits may be set. */
int dp_prefix_parse(const char *s, struct dp_cfg_prefix *p);
/* Are the bits of p->addr beyond p->plen all zero? */
bool dp_prefix_is_network(const struct dp_cfg_prefix *p);
/* "a.b.c.d:port" or "[v6]:port", port 1..65535; no host names. */
int dp_endpoint_parse(const char *s, struct sockaddr_storage *ss);
/* 44 characters of padded standard base64 encoding exactly 32 bytes. */
int dp_key_parse(const char *b64, uint8_t key[32]);
/* "addr/len" into buf (DP_CFG_PREFIX_STRLEN is enough); "?" if invalid. */
void dp_prefix_format(const struct dp_cfg_prefix *p, char *buf, size_t len);

#endif /* GATE44_DP_CONFIG_H */
