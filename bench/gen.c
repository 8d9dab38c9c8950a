/*
 * gen.c — the load generator's WireGuard client population (see gen.h).
 * Everything here runs on the generator's core; nothing is timed inside.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <sodium.h>

#include "blake2s.h"
#include "gen.h"
#include "tai64n.h"
#include "wg_const.h"
#include "x25519.h"

enum { OUTER_HDR = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) };

int
gen_init(struct gen *g, const struct gen_net *net, uint32_t n, uint64_t seed, uint32_t inner_base,
	 uint32_t outer_base)
{
	memset(g, 0, sizeof(*g));
	g->net = *net;
	g->n_peers = n;
	g->index_base = 0x10000000u;
	g->rng = seed | 1;
	g->peers = calloc(n, sizeof(*g->peers));
	g->aead = cr_aead_burst_create(CR_AEAD_BACKEND_AUTO);
	if (g->peers == NULL || g->aead == NULL) {
		gen_fini(g);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct gen_peer *p = &g->peers[i];
		uint8_t in[12];

		/* a private key from (seed, i): the same population every run */
		memcpy(in, &seed, 8);
		memcpy(in + 8, &i, 4);
		cr_blake2s(p->s.priv, 32, in, sizeof(in), NULL, 0);
		if (cr_x25519_public(p->s.pub, p->s.priv) != 0) {
			gen_fini(g);
			return -EINVAL;
		}
		cr_cookie_maker_init(&p->cm, net->pop_pub);
		p->local_index = g->index_base + i;
		p->inner = inner_base + 1 + i;
		p->outer = outer_base + 1 + i;
		p->outer_port = (uint16_t)(40000 + i % 20000);
	}
	return 0;
}

void
gen_fini(struct gen *g)
{
	if (g->peers != NULL)
		sodium_memzero(g->peers, sizeof(*g->peers) * g->n_peers);
	free(g->peers);
	cr_aead_burst_free(g->aead);
	g->peers = NULL;
	g->aead = NULL;
}

/* Ethernet + IPv4 + UDP headers for a payload of paylen bytes; returns the
 * payload pointer. */
static uint8_t *
frame(struct rte_mbuf *m, const struct rte_ether_addr *dmac, const struct rte_ether_addr *smac,
      uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t paylen)
{
	uint32_t total = OUTER_HDR + paylen;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	rte_pktmbuf_reset(m);
	if (rte_pktmbuf_tailroom(m) < total)
		return NULL;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	m->data_len = (uint16_t)total;
	m->pkt_len = total;
	eth->dst_addr = *dmac;
	eth->src_addr = *smac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(total - RTE_ETHER_HDR_LEN));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(paylen + sizeof(*udp)));
	udp->dgram_cksum = 0;
	return (uint8_t *)(udp + 1);
}

int
gen_initiation(struct gen *g, uint32_t i, struct rte_mbuf *m)
{
	struct gen_peer *p = &g->peers[i];
	struct cr_wg_msg_initiation *msg;
	uint8_t ts[WG_TAI64N_LEN];
	struct timespec now;
	int rc;

	msg = (struct cr_wg_msg_initiation *)frame(m, &g->net.pop_wan_mac, &g->net.gen_mac,
						   p->outer, g->net.pop_wan, p->outer_port,
						   g->net.pop_port, sizeof(*msg));
	if (msg == NULL)
		return -ENOSPC;
	cr_tai64n_now(ts);
	rc = cr_wg_initiation_create(&p->hs, &p->s, g->net.pop_pub, p->local_index, ts, msg);
	if (rc != 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &now);
	cr_cookie_add_macs(&p->cm, (uint8_t *)msg, sizeof(*msg),
			   (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);
	p->hs_pending = true;
	return 0;
}

int
gen_response(struct gen *g, const struct cr_wg_msg_response *r, uint32_t *peer, uint64_t now_ns)
{
	uint32_t idx = rte_le_to_cpu_32(r->receiver) - g->index_base;
	struct gen_peer *p;
	struct cr_wg_keypair kp;

	if (idx >= g->n_peers || !g->peers[idx].hs_pending)
		return -ENOENT;
	p = &g->peers[idx];
	if (cr_wg_response_consume(&p->hs, &p->s, NULL, r) != 0 ||
	    cr_wg_keypair_derive(&p->hs, 1, &kp) != 0)
		return -EBADMSG;
	memcpy(p->send_key, kp.send, 32);
	memcpy(p->recv_key, kp.recv, 32);
	sodium_memzero(&kp, sizeof(kp));
	p->remote_index = rte_le_to_cpu_32(r->sender);
	p->send_ctr = 0;
	p->hs_pending = false;
	p->established_ns = now_ns ? now_ns : 1;
	*peer = idx;
	return 0;
}

void
gen_inner_ipv4(uint8_t *buf, uint32_t len, uint32_t src, uint32_t dst, uint16_t id)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)len);
	ip->packet_id = rte_cpu_to_be_16(id);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(1024);
	udp->dst_port = rte_cpu_to_be_16(9); /* discard */
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - sizeof(*ip)));
	udp->dgram_cksum = 0;
	memset(udp + 1, 0x5a, len - sizeof(*ip) - sizeof(*udp));
}

int
gen_data_frame(struct gen *g, uint32_t i, uint32_t len, uint16_t id, struct rte_mbuf *m,
	       struct cr_aead_op *op)
{
	struct gen_peer *p = &g->peers[i];
	uint32_t padded = (len + WG_MSG_PADDING - 1) & ~(uint32_t)(WG_MSG_PADDING - 1);
	struct cr_wg_msg_data_hdr *h;
	uint8_t *inner;

	if (p->established_ns == 0 || len < 28)
		return -EINVAL;
	h = (struct cr_wg_msg_data_hdr *)frame(m, &g->net.pop_wan_mac, &g->net.gen_mac, p->outer,
					       g->net.pop_wan, p->outer_port, g->net.pop_port,
					       WG_MSG_DATA_HDR_LEN + padded + WG_AEAD_TAG_LEN);
	if (h == NULL)
		return -ENOSPC;
	h->type = rte_cpu_to_le_32(WG_MSG_DATA);
	h->receiver = rte_cpu_to_le_32(p->remote_index);
	h->counter = rte_cpu_to_le_64(p->send_ctr);
	inner = (uint8_t *)(h + 1);
	gen_inner_ipv4(inner, len, p->inner, g->net.inet_dst + (i & 0xff), id);
	memset(inner + len, 0, padded - len);
	*op = (struct cr_aead_op){
		.key = p->send_key,
		.src = inner,
		.dst = inner,
		.counter = p->send_ctr++,
		.len = padded,
	};
	return 0;
}

int
gen_plain_frame(struct gen *g, uint32_t i, uint32_t len, uint16_t id, struct rte_mbuf *m)
{
	struct gen_peer *p = &g->peers[i];
	struct rte_ether_hdr *eth;

	if (len < 28)
		return -EINVAL;
	rte_pktmbuf_reset(m);
	if (rte_pktmbuf_tailroom(m) < RTE_ETHER_HDR_LEN + len)
		return -ENOSPC;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	eth->dst_addr = g->net.pop_inet_mac;
	eth->src_addr = g->net.gen_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	gen_inner_ipv4((uint8_t *)(eth + 1), len, g->net.inet_src + (i & 0xff), p->inner, id);
	m->data_len = (uint16_t)(RTE_ETHER_HDR_LEN + len);
	m->pkt_len = m->data_len;
	return 0;
}

bool
gen_arp_reply(struct rte_mbuf *m, const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t tip;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) ||
	    arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST))
		return false;
	tip = arp->arp_data.arp_tip;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = *mac;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = *mac;
	arp->arp_data.arp_sip = tip;
	return true;
}
