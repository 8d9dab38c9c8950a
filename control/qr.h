/*
 * qr.h — a text (a wg-quick client configuration) as a QR code, in PNG or
 * SVG, for GET /v1/tunnels/{id}/config.png and .svg: what the official
 * WireGuard apps scan. libqrencode makes the symbol; the PNG and SVG
 * writers are ours (no libpng). Called by the control API's HTTP threads;
 * reentrant.
 *
 * The symbol: error correction level M, byte mode for everything that is
 * not digits or upper-case alphanumerics, case-sensitive, the smallest
 * version that fits. The text must be non-empty; a text longer than a
 * version 40 symbol holds (2331 bytes at level M) gets -EMSGSIZE.
 *
 * The outputs carry whatever the text does (a private key, at creation):
 * release them with ctl_qr_free, which wipes them.
 */
#ifndef GATE44_QR_H
#define GATE44_QR_H

#include <stddef.h>
#include <stdint.h>

#define CTL_QR_SCALE 6 /* PNG pixels per module */
#define CTL_QR_QUIET 4 /* modules of white border on each side */

/*
 * Encode text as a PNG: 1-bit grayscale, (width + 2 * CTL_QR_QUIET) *
 * CTL_QR_SCALE pixels square, black modules on white. On success *png is
 * malloc'd and *len its size. Return 0, -EINVAL (empty or NULL text),
 * -EMSGSIZE (too long for a QR code) or -ENOMEM.
 */
int ctl_qr_png(const char *text, uint8_t **png, size_t *len);

/*
 * Encode text as an SVG document: viewBox "0 0 n n" in modules with
 * n = width + 2 * CTL_QR_QUIET, a white background rect and one black path
 * of horizontal runs, shape-rendering="crispEdges". On success *svg is a
 * malloc'd NUL-terminated string and *len its strlen. Same returns as
 * ctl_qr_png.
 */
int ctl_qr_svg(const char *text, char **svg, size_t *len);

/* Wipe len bytes of buf and free it. NULL is a no-op. */
void ctl_qr_free(void *buf, size_t len);

#endif /* GATE44_QR_H */
