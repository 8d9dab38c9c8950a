/*
 * api_json.c — read-only JSON views of the engine for the engine socket:
 * counters summed over lcores, ports, interfaces, peers, routes. Main lcore.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <rte_ethdev.h>
#include <sodium.h>

#include "api.h"
#include "engine.h"
#include "fib.h"
#include "wg_data.h"

static json_t *
key_json(const uint8_t key[32])
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
	return json_string(b64);
}

static json_t *
prefix_json(int family, const uint8_t *addr, uint8_t plen)
{
	struct dp_cfg_prefix p = {.family = family, .plen = plen};
	char buf[DP_CFG_PREFIX_STRLEN];

	memcpy(p.addr, addr, family == AF_INET ? 4 : 16);
	dp_prefix_format(&p, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
endpoint_json(const struct dp_endpoint *ep)
{
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 10];

	if (ep->family == 0)
		return json_null();
	inet_ntop(ep->family, ep->addr, a, sizeof(a));
	snprintf(buf, sizeof(buf), ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 (unsigned)rte_be_to_cpu_16(ep->port));
	return json_string(buf);
}

static json_t *
lcore_stats_json(const struct dp_lcore_stats *s, json_t *drops)
{
	json_t *o = json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI}", "rx_packets",
			      (json_int_t)s->rx_pkts, "rx_bytes", (json_int_t)s->rx_bytes,
			      "tx_packets", (json_int_t)s->tx_pkts, "tx_bytes",
			      (json_int_t)s->tx_bytes, "forwarded", (json_int_t)s->forwarded,
			      "decrypted", (json_int_t)s->decrypted, "encrypted",
			      (json_int_t)s->encrypted, "handoff_out", (json_int_t)s->handoff_out,
			      "handoff_in", (json_int_t)s->handoff_in, "to_main",
			      (json_int_t)s->to_main, "handshakes_rx", (json_int_t)s->handshakes_rx,
			      "handshakes_tx", (json_int_t)s->handshakes_tx, "cookies_tx",
			      (json_int_t)s->cookies_tx, "icmp_tx", (json_int_t)s->icmp_tx,
			      "exception_up", (json_int_t)s->exception_up, "exception_down",
			      (json_int_t)s->exception_down);

	for (unsigned d = 0; d < DP_DROP_MAX; d++) {
		json_t *cur = json_object_get(drops, dp_drop_names[d]);

		json_object_set_new(drops, dp_drop_names[d],
				    json_integer((cur ? json_integer_value(cur) : 0) +
						 (json_int_t)s->drops[d]));
	}
	return o;
}

json_t *
dp_api_stats_json(void)
{
	json_t *root = json_object(), *lcores = json_array(), *ports = json_array();
	json_t *drops = json_object();

	for (unsigned i = 0; i <= dp_eng->n_workers; i++) {
		const struct dp_lcore *lc = &dp_eng->lcores[i];
		json_t *o = lcore_stats_json(&lc->stats, drops);

		json_object_set_new(o, "lcore", json_integer(lc->lcore_id));
		json_object_set_new(o, "role", json_string(lc->is_main ? "main" : "worker"));
		json_object_set_new(o, "loops", json_integer((json_int_t)lc->stats.loops));
		json_array_append_new(lcores, o);
	}
	for (unsigned i = 0; i < dp_eng->n_ports; i++) {
		const struct dp_port *p = &dp_eng->ports[i];
		struct rte_eth_stats es;

		memset(&es, 0, sizeof(es));
		rte_eth_stats_get(p->port_id, &es);
		json_array_append_new(
			ports, json_pack("{ss sI sI sI sI sI sI sI}", "name", p->name, "ipackets",
					 (json_int_t)es.ipackets, "opackets", (json_int_t)es.opackets,
					 "ibytes", (json_int_t)es.ibytes, "obytes",
					 (json_int_t)es.obytes, "imissed", (json_int_t)es.imissed,
					 "ierrors", (json_int_t)es.ierrors, "oerrors",
					 (json_int_t)es.oerrors));
	}
	json_object_set_new(root, "lcores", lcores);
	json_object_set_new(root, "ports", ports);
	json_object_set_new(root, "drops", drops);
	json_object_set_new(root, "peers", json_integer(dp_eng->n_peers));
	json_object_set_new(root, "instance", json_integer((json_int_t)dp_eng->instance));
	json_object_set_new(root, "mbufs_in_use",
			    json_integer(rte_mempool_in_use_count(dp_eng->mp)));
	json_object_set_new(root, "mbufs_total", json_integer(dp_eng->mp->size));
	return root;
}

static json_t *
peer_json(struct wg_peer *p)
{
	struct dp_endpoint ep;
	const struct dp_cfg_prefix *al;
	unsigned n = dp_api_peer_allowed(p->id, &al);
	json_t *allowed = json_array();
	json_t *o;

	for (unsigned i = 0; i < n; i++)
		json_array_append_new(allowed, prefix_json(al[i].family, al[i].addr, al[i].plen));
	wg_peer_endpoint_get(p, &ep);
	o = json_pack("{ss so so so sI sI sI sI sI si sb sb}", "interface",
		      dp_eng->wg[p->wg_if].name, "public_key", key_json(p->public_key),
		      "endpoint", endpoint_json(&ep), "allowed_ips", allowed, "rx_bytes",
		      (json_int_t)(p->st.rx_bytes + p->hs_rx_bytes), "tx_bytes",
		      (json_int_t)(p->st.tx_bytes + p->hs_tx_bytes), "rx_packets",
		      (json_int_t)p->st.rx_pkts, "tx_packets", (json_int_t)p->st.tx_pkts,
		      "last_handshake", (json_int_t)(p->last_handshake_ns / 1000000000ULL),
		      "persistent_keepalive", (int)p->persistent_keepalive, "has_preshared_key",
		      !sodium_is_zero(p->psk, 32), "session",
		      __atomic_load_n(&p->st.cur_birth_ns, __ATOMIC_RELAXED) != 0);
	return o;
}

json_t *
dp_api_peers_json(int wg_if)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < dp_eng->max_peers; i++) {
		struct wg_peer *p = &dp_eng->peers[i];

		if (p->in_use && (wg_if < 0 || p->wg_if == wg_if))
			json_array_append_new(a, peer_json(p));
	}
	return a;
}

json_t *
dp_api_peer_json(uint16_t wg_if, const uint8_t pub[32])
{
	struct wg_peer *p = wg_peer_find(dp_eng, wg_if, pub);

	return p == NULL ? NULL : peer_json(p);
}

json_t *
dp_api_interfaces_json(void)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < dp_eng->n_wg; i++) {
		const struct dp_wg_if *w = &dp_eng->wg[i];
		json_t *addrs = json_array();
		unsigned peers = 0;

		for (unsigned k = 0; k < w->n_addrs; k++)
			json_array_append_new(addrs, prefix_json(w->addrs[k].family,
								 w->addrs[k].addr,
								 w->addrs[k].plen));
		for (uint32_t p = 0; p < dp_eng->max_peers; p++)
			peers += dp_eng->peers[p].in_use && dp_eng->peers[p].wg_if == i;
		json_array_append_new(
			a, json_pack("{ss so si si so si}", "name", w->name, "public_key",
				     key_json(w->self.pub), "listen_port",
				     (int)rte_be_to_cpu_16(w->listen_port), "mtu", (int)w->mtu,
				     "addresses", addrs, "peers", (int)peers));
	}
	return a;
}

static int
route_cb(int family, const uint8_t *addr, uint8_t plen, uint32_t nh, void *arg)
{
	json_t *o = json_object();
	uint32_t idx = dp_nh_index(nh);

	json_object_set_new(o, "prefix", prefix_json(family, addr, plen));
	switch (dp_nh_kind(nh)) {
	case DP_NH_PEER: {
		struct wg_peer *p = &dp_eng->peers[idx];

		json_object_set_new(o, "peer", key_json(p->public_key));
		json_object_set_new(o, "interface", json_string(dp_eng->wg[p->wg_if].name));
		break;
	}
	case DP_NH_ADJ: {
		const struct dp_adj *a = &dp_eng->adj[idx];
		char s[INET6_ADDRSTRLEN];

		inet_ntop(a->family, a->addr, s, sizeof(s));
		json_object_set_new(o, "via", json_string(s));
		json_object_set_new(o, "port", json_string(dp_eng->ports[a->port].name));
		break;
	}
	case DP_NH_CONNECTED:
		json_object_set_new(o, "connected", json_string(dp_eng->ports[idx].name));
		break;
	case DP_NH_LOCAL:
		json_object_set_new(o, "local", json_true());
		break;
	default:
		json_object_set_new(o, "drop", json_true());
		break;
	}
	json_array_append_new(arg, o);
	return 0;
}

json_t *
dp_api_routes_json(void)
{
	json_t *a = json_array();

	dp_fib_walk(dp_eng->fib, route_cb, a);
	return a;
}
