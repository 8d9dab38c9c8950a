/*
 * wgconf.h — renders a tunnel's client configuration in the wg-quick(8)
 * format that wg-quick, wireguard-go and the official WireGuard apps import
 * as is (GET /v1/tunnels/{id}/config). Pure text in, text out: no I/O, no
 * global state; called by the control API's HTTP threads, reentrant.
 *
 * Every field is validated and the text is built only from canonical forms
 * (keys re-checked as 44-character base64 of 32 bytes, addresses re-printed
 * by inet_ntop), so no input can smuggle a line (PostUp = ...) into the file
 * or produce one that wg-quick or wg(8) would refuse.
 *
 * The private key: the server generates the key pair when the tunnel is
 * created and returns the configuration with its PrivateKey exactly once;
 * it keeps only the public key. Later downloads pass private_key = NULL and
 * get a "# PrivateKey = (set your private key here)" comment in its place.
 * Such a file still parses (wg-quick strip, wg setconf: an interface
 * without a private key), but the official apps refuse to import it until
 * the user fills the key in, so the API should not offer its QR code as
 * something to scan as is.
 */
#ifndef GATE44_WGCONF_H
#define GATE44_WGCONF_H

#include <stddef.h>
#include <stdint.h>

/* POP tunnels run at 1420 (1500 less the IPv6 + UDP + WireGuard overhead);
 * rendered explicitly so a client never guesses from its own uplink. */
#define CTL_WGCONF_MTU_DEFAULT 1420
#define CTL_WGCONF_MTU_MIN     576  /* IPv4 minimum */
#define CTL_WGCONF_MTU_MIN6    1280 /* with any IPv6 Address */
#define CTL_WGCONF_MTU_MAX     9000
/* Bounds that keep a rendered file well inside a QR code's capacity. */
#define CTL_WGCONF_LIST_MAX    32 /* entries in each of the three lists */
#define CTL_WGCONF_COMMENT_MAX 128
#define CTL_WGCONF_HOST_MAX    253 /* a DNS name's longest text form */

/*
 * One client configuration. Strings are NUL-terminated; lists are arrays of
 * strings with their count. Nothing is kept after ctl_wgconf_render returns.
 */
struct ctl_wgconf {
	/* Optional first line "# <comment>": printable ASCII, no '#' needed. */
	const char *comment;

	/* [Interface] — the user's side */
	const char *private_key; /* base64; NULL: a commented placeholder */
	/*
	 * The tunnel's addresses, >= 1: "44.1.2.3/32", "2001:db8:4:5::/64",
	 * "44.1.2.3" (= /32). One given as a network (host bits zero, shorter
	 * than a host route) is the allocation routed to the user, and the
	 * client's address is its first host with the same length:
	 * 2001:db8:4:5::/64 -> Address = 2001:db8:4:5::1/64,
	 * 44.1.2.8/29 -> 44.1.2.9/29 (the POP's AllowedIPs for the user stay the
	 * whole prefix). One with host bits set is the client's address as is.
	 * Unspecified, loopback and multicast addresses, /0 and duplicates are
	 * refused (wg-quick's `ip address add` would fail on a duplicate).
	 */
	const char *const *addresses;
	size_t n_addresses;
	const char *const *dns; /* optional: IPv4/IPv6 literals only */
	size_t n_dns;
	uint16_t mtu; /* 0: CTL_WGCONF_MTU_DEFAULT */

	/* [Peer] — the POP */
	const char *public_key;	   /* base64, required, not all zero */
	const char *preshared_key; /* base64; NULL: no PresharedKey line */
	/* IPv4 literal, IPv6 literal (bare or in brackets; rendered in
	 * brackets), or a DNS name (letters, digits, '-', '.'). */
	const char *endpoint_host;
	uint16_t endpoint_port; /* 1..65535 */
	/* Networks routed into the tunnel, host bits zero ("44.0.0.0/9");
	 * n_allowed_ips = 0: full tunnel, "0.0.0.0/0, ::/0". */
	const char *const *allowed_ips;
	size_t n_allowed_ips;
	uint16_t persistent_keepalive; /* seconds; 0: no line */
};

/*
 * Render c as a wg-quick file. Return the malloc'd, NUL-terminated text
 * (release it with ctl_wgconf_free: it may hold the private key), or NULL
 * with errno EINVAL (a field fails validation) or ENOMEM.
 */
char *ctl_wgconf_render(const struct ctl_wgconf *c);

/* Wipe and free a text from ctl_wgconf_render. NULL is a no-op. */
void ctl_wgconf_free(char *text);

/* Is s a WireGuard key in text form: 44 characters of canonical standard
 * base64 decoding to 32 bytes? Return 0 or -EINVAL. */
int ctl_wgconf_key_check(const char *s);

#endif /* GATE44_WGCONF_H */
