/*
 * cfg.h — gate44-control's configuration file: where the database lives,
 * where to listen, how to reach the engine, the WireGuard interfaces the
 * POP offers (as users see them: endpoint, DNS, MTU) and the 44net address
 * pools. INI-style, errors as "file:line: reason". Main thread, at start.
 */
#ifndef GATE44_CTL_CFG_H
#define GATE44_CTL_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CTL_CFG_MAX_IFS = 16, CTL_CFG_MAX_POOLS = 64, CTL_CFG_MAX_RESERVED = 64 };

struct ctl_cfg_prefix {
	int family;
	uint8_t addr[16];
	uint8_t plen;
};

struct ctl_cfg_if {
	char name[16];
	uint8_t private_key[32];     /* the engine's key, for wg(8) and client configs */
	uint8_t public_key[32];
	char endpoint[128];          /* host:port clients dial */
	char dns[128];               /* optional, for client configs */
	uint16_t mtu;                /* client MTU, default 1420 */
	char client_allowed_ips[256]; /* default "0.0.0.0/0, ::/0" */
	unsigned line;
};

struct ctl_cfg_pool {
	char name[32];
	char interface[16];
	struct ctl_cfg_prefix prefix;
	uint8_t alloc_len;           /* 32 for IPv4, 64 for IPv6 */
	struct ctl_cfg_prefix reserved[CTL_CFG_MAX_RESERVED];
	unsigned n_reserved;
	unsigned line;
};

struct ctl_cfg {
	char database[256];
	char listen[128];
	char engine_socket[108];
	char uapi_dir[108];
	unsigned connected_window_s;  /* handshake within: connected (180) */
	unsigned counters_interval_s; /* fold engine counters (10) */
	unsigned expiry_grace_s;      /* expired tunnels removed after (7 days) */
	unsigned max_body;            /* HTTP body limit (65536) */
	unsigned rate, burst;         /* mutating calls per token (20/s, 40) */
	struct ctl_cfg_if ifs[CTL_CFG_MAX_IFS];
	unsigned n_ifs;
	struct ctl_cfg_pool pools[CTL_CFG_MAX_POOLS];
	unsigned n_pools;
};

/*
 * The configuration file at path, or its text (name for the messages):
 * 0, or -EINVAL / -errno with err = "file:line: reason"; cfg is zeroed
 * first and wiped on error. The file must be a regular file, and so must
 * every private-key-file it names (symbolic links to regular files are
 * fine): a FIFO, a device or a directory is refused at once, never read.
 */
int ctl_cfg_load(const char *path, struct ctl_cfg *cfg, char *err, size_t errlen);
int ctl_cfg_parse(const char *text, const char *name, struct ctl_cfg *cfg, char *err,
		  size_t errlen);
void ctl_cfg_wipe(struct ctl_cfg *cfg);
/* The text of a private-key-file: one base64 key (44 characters, the
 * canonical text of 32 bytes), blanks around it allowed. 0, or -EINVAL
 * with key zeroed. */
int ctl_cfg_key_parse(const char *text, uint8_t key[32]);
/*
 * "a.b.c.d/n" or "v6/n" by the one parser of prefix.h (the API's too): the
 * length required, without a leading zero; host bits must be zero. 0 or
 * -EINVAL.
 */
int ctl_prefix_parse(const char *s, struct ctl_cfg_prefix *p);
void ctl_prefix_format(const struct ctl_cfg_prefix *p, char *buf, size_t len);

#endif /* GATE44_CTL_CFG_H */
