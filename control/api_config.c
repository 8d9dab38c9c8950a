/*
 * api_config.c — a tunnel's wg-quick client configuration, as the HTTP API
 * serves it: GET /v1/tunnels/{id}/config (text), .../config.png and
 * .../config.svg (its QR code), and the full configuration in the creation
 * response. Built from the tunnel (addresses, keepalive, preshared key)
 * and the interface's configured endpoint, DNS, MTU and client allowed
 * IPs; rendered by wgconf.c, encoded by qr.c. Main thread (ctl_http_run)
 * only.
 *
 * Downloads after creation never hold a private key (the server does not
 * keep it): wgconf writes a commented PrivateKey placeholder instead, so
 * the file, and its QR code, need the user's key filled in before use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api_int.h"
#include "qr.h"
#include "wgconf.h"

/* Split a ", "- or space-separated list in place; at most max items. */
static size_t
split_list(char *s, const char **items, size_t max)
{
	char *save = NULL, *tok;
	size_t n = 0;

	for (tok = strtok_r(s, ", \t", &save); tok != NULL && n < max;
	     tok = strtok_r(NULL, ", \t", &save))
		items[n++] = tok;
	return n;
}

/* "host:port" or "[v6]:port" into host (brackets kept) and port. */
static int
split_endpoint(const char *ep, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(ep, ':');
	unsigned long p;
	char *end;

	if (colon == NULL || colon == ep || (size_t)(colon - ep) >= hostlen)
		return -EINVAL;
	if (ep[0] == '[' && colon[-1] != ']')
		return -EINVAL; /* a bare IPv6 address without a port */
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || p == 0 || p > 65535)
		return -EINVAL;
	memcpy(host, ep, (size_t)(colon - ep));
	host[colon - ep] = '\0';
	*port = (uint16_t)p;
	return 0;
}

char *
api_tunnel_config(const struct ctl *c, const struct ctl_tunnel *t, const char *private_key)
{
	const struct ctl_cfg_if *ifc = ctl_interface(c, t->interface);
	const char *addrs[CTL_WGCONF_LIST_MAX], *dns[CTL_WGCONF_LIST_MAX],
		*allowed[CTL_WGCONF_LIST_MAX];
	char abuf[CTL_WGCONF_LIST_MAX][CTL_PREFIX_STRLEN];
	char dnsbuf[sizeof(ifc->dns)], allowbuf[sizeof(ifc->client_allowed_ips)];
	char pub[CTL_KEY_B64_LEN + 1], psk[CTL_KEY_B64_LEN + 1];
	char host[sizeof(ifc->endpoint)], comment[96];
	struct ctl_wgconf w = {0};
	char *text;
	size_t i, n = 0;
	int saved;

	if (ifc == NULL || strcmp(ifc->name, t->interface) != 0) {
		errno = ENOENT;
		return NULL;
	}
	for (i = 0; i < t->n_addrs && n < CTL_WGCONF_LIST_MAX; i++)
		if (ctl_ipam_prefix_format(&t->addrs[i].prefix, abuf[n], sizeof(abuf[n])) == 0) {
			addrs[n] = abuf[n];
			n++;
		}
	if (split_endpoint(ifc->endpoint, host, sizeof(host), &w.endpoint_port) != 0) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(dnsbuf, sizeof(dnsbuf), "%s", ifc->dns);
	snprintf(allowbuf, sizeof(allowbuf), "%s", ifc->client_allowed_ips);
	sodium_bin2base64(pub, sizeof(pub), ifc->public_key, sizeof(ifc->public_key),
			  sodium_base64_VARIANT_ORIGINAL);
	psk[0] = '\0';
	if (t->has_psk)
		sodium_bin2base64(psk, sizeof(psk), t->psk, sizeof(t->psk),
				  sodium_base64_VARIANT_ORIGINAL);
	snprintf(comment, sizeof(comment), "gate44 tunnel %" PRId64 " on %s", t->id, t->interface);

	w.comment = comment;
	w.private_key = private_key;
	w.addresses = addrs;
	w.n_addresses = n;
	w.dns = dns;
	w.n_dns = split_list(dnsbuf, dns, CTL_WGCONF_LIST_MAX);
	w.mtu = ifc->mtu;
	w.public_key = pub;
	w.preshared_key = t->has_psk ? psk : NULL;
	w.endpoint_host = host;
	w.allowed_ips = allowed;
	w.n_allowed_ips = split_list(allowbuf, allowed, CTL_WGCONF_LIST_MAX);
	w.persistent_keepalive = t->keepalive;
	text = ctl_wgconf_render(&w);
	saved = errno;
	sodium_memzero(psk, sizeof(psk));
	errno = saved;
	return text;
}

/* The tunnel's configuration without a private key; NULL after a reply. */
static char *
config_of(struct ctl_http_req *req, struct ctl *c)
{
	struct ctl_tunnel t;
	char *text;

	if (api_tunnel_load(req, c, &t) != 0)
		return NULL;
	text = api_tunnel_config(c, &t, NULL);
	if (text == NULL && errno == ENOENT)
		ctl_http_reply_error(req, 409, "interface_gone",
				     "interface %s is no longer configured", t.interface);
	else if (text == NULL)
		ctl_http_reply_error(req, 500, "internal", "cannot render the configuration: %s",
				     strerror(errno));
	ctl_store_tunnel_clear(&t);
	return text;
}

static void
disposition(struct ctl_http_req *req, const char *ext)
{
	const char *id = ctl_http_param(req, "id");
	char v[96];

	/* wg-quick names the interface after the file: g44-<id> fits IFNAMSIZ */
	snprintf(v, sizeof(v), "attachment; filename=\"g44-%.11s.%s\"", id != NULL ? id : "0", ext);
	ctl_http_reply_header(req, "Content-Disposition", v);
}

/* GET /v1/tunnels/{id}/config: the wg-quick file, text/plain. */
int
api_tunnels_config(struct ctl_http_req *req, void *ctx)
{
	char *text = config_of(req, ctx);
	int rc;

	if (text == NULL)
		return 0;
	disposition(req, "conf");
	rc = ctl_http_reply_raw(req, 200, "text/plain; charset=utf-8", text, strlen(text));
	ctl_wgconf_free(text);
	return rc;
}

static int
qr_reply(struct ctl_http_req *req, int rc)
{
	if (rc == -EMSGSIZE)
		return ctl_http_reply_error(req, 409, "too_large_for_qr",
					    "the configuration is too long for a QR code");
	return ctl_http_reply_error(req, 500, "internal", "cannot make the QR code: %s",
				    strerror(-rc));
}

/* GET /v1/tunnels/{id}/config.png: the QR code of the config. */
int
api_tunnels_config_png(struct ctl_http_req *req, void *ctx)
{
	char *text = config_of(req, ctx);
	uint8_t *png = NULL;
	size_t len = 0;
	int rc;

	if (text == NULL)
		return 0;
	rc = ctl_qr_png(text, &png, &len);
	ctl_wgconf_free(text);
	if (rc != 0)
		return qr_reply(req, rc);
	rc = ctl_http_reply_raw(req, 200, "image/png", png, len);
	ctl_qr_free(png, len);
	return rc;
}

/* GET /v1/tunnels/{id}/config.svg: the QR code of the config. */
int
api_tunnels_config_svg(struct ctl_http_req *req, void *ctx)
{
	char *text = config_of(req, ctx);
	char *svg = NULL;
	size_t len = 0;
	int rc;

	if (text == NULL)
		return 0;
	rc = ctl_qr_svg(text, &svg, &len);
	ctl_wgconf_free(text);
	if (rc != 0)
		return qr_reply(req, rc);
	rc = ctl_http_reply_raw(req, 200, "image/svg+xml", svg, len);
	ctl_qr_free(svg, len);
	return rc;
}
