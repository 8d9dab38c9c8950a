/*
 * qr.c — QR code of a text as PNG or SVG (see qr.h). Called by the control
 * API's HTTP threads; reentrant (libqrencode is built thread-safe on
 * Debian).
 *
 * The PNG is the smallest valid file: signature, IHDR (1-bit grayscale,
 * no interlace), one IDAT holding the zlib stream of compress2 (every row
 * with filter type 0), IEND; CRC-32 from zlib. The SVG is one path of
 * horizontal runs of dark modules, in module units.
 *
 * Every intermediate buffer that holds the text in some form (the module
 * matrix, raw rows, the compressed stream) is wiped before it is freed.
 * libqrencode's and zlib's own internal buffers are freed unwiped: neither
 * library offers a hook, and they live for the length of one call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>
#include <zlib.h>

#include "qr.h"

static int
encode(const char *text, QRcode **out)
{
	QRcode *qr;

	if (text == NULL || text[0] == '\0')
		return -EINVAL;
	errno = 0;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL) {
		if (errno == ERANGE)
			return -EMSGSIZE;
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	*out = qr;
	return 0;
}

static void
qr_release(QRcode *qr)
{
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
}

/* Is module (x, y) of the bordered symbol dark? x, y count the border. */
static bool
dark(const QRcode *qr, int x, int y)
{
	x -= CTL_QR_QUIET;
	y -= CTL_QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return false;
	return qr->data[y * qr->width + x] & 1;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* Write one chunk (length, type, data, CRC over type and data) at p. */
static uint8_t *
put_chunk(uint8_t *p, const char type[4], const uint8_t *data, uint32_t len)
{
	uLong crc;

	p = put32(p, len);
	memcpy(p, type, 4);
	if (len > 0)
		memcpy(p + 4, data, len);
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, p, len + 4);
	return put32(p + 4 + len, (uint32_t)crc);
}

/*
 * The image rows: each a filter byte 0 and the pixels packed MSB first,
 * 1 white, 0 black. Module rows are built once and copied scale times.
 */
static void
rows_fill(const QRcode *qr, uint8_t *raw, uint32_t px, size_t stride)
{
	int n = qr->width + 2 * CTL_QR_QUIET;

	for (int my = 0; my < n; my++) {
		uint8_t *row = raw + (size_t)my * CTL_QR_SCALE * stride;

		memset(row, 0xff, stride);
		row[0] = 0; /* filter: none */
		for (uint32_t x = 0; x < px; x++)
			if (dark(qr, (int)(x / CTL_QR_SCALE), my))
				row[1 + x / 8] &= (uint8_t) ~(0x80 >> (x % 8));
		/* padding bits after the last pixel stay 1: any value is
		 * valid, and white is what a viewer that shows them paints */
		for (int k = 1; k < CTL_QR_SCALE; k++)
			memcpy(row + (size_t)k * stride, row, stride);
	}
}

int
ctl_qr_png(const char *text, uint8_t **png, size_t *len)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	QRcode *qr = NULL;
	uint8_t ihdr[13], *raw = NULL, *z = NULL, *buf, *p;
	uLongf zlen;
	uint32_t px;
	size_t stride, rawlen, zcap, total;
	int ret, zret;

	if (png == NULL || len == NULL)
		return -EINVAL;
	ret = encode(text, &qr);
	if (ret != 0)
		return ret;

	px = (uint32_t)(qr->width + 2 * CTL_QR_QUIET) * CTL_QR_SCALE;
	stride = 1 + (px + 7) / 8;
	rawlen = stride * px;
	raw = malloc(rawlen);
	zcap = compressBound((uLong)rawlen);
	z = malloc(zcap);
	if (raw == NULL || z == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rows_fill(qr, raw, px, stride);
	zlen = (uLongf)zcap;
	zret = compress2(z, &zlen, raw, (uLong)rawlen, Z_BEST_COMPRESSION);
	if (zret != Z_OK) {
		ret = zret == Z_MEM_ERROR ? -ENOMEM : -EIO;
		goto out;
	}

	p = put32(ihdr, px);
	p = put32(p, px);
	p[0] = 1; /* bit depth */
	p[1] = 0; /* colour type: grayscale */
	p[2] = 0; /* compression: deflate */
	p[3] = 0; /* filter method 0 */
	p[4] = 0; /* no interlace */

	total = sizeof(sig) + (12 + sizeof(ihdr)) + (12 + zlen) + 12;
	buf = malloc(total);
	if (buf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(buf, sig, sizeof(sig));
	p = put_chunk(buf + sizeof(sig), "IHDR", ihdr, sizeof(ihdr));
	p = put_chunk(p, "IDAT", z, (uint32_t)zlen);
	put_chunk(p, "IEND", NULL, 0);
	*png = buf;
	*len = total;
	ret = 0;
out:
	if (raw != NULL)
		sodium_memzero(raw, rawlen);
	if (z != NULL)
		sodium_memzero(z, zcap);
	free(raw);
	free(z);
	qr_release(qr);
	return ret;
}

/* Append the path of the dark runs to out (NULL: only count the bytes). */
static size_t
svg_path(const QRcode *qr, char *out, size_t cap)
{
	int n = qr->width + 2 * CTL_QR_QUIET;
	size_t len = 0;
	char tmp[64];

	for (int y = 0; y < n; y++) {
		for (int x = 0; x < n;) {
			int w = 0;

			while (x + w < n && dark(qr, x + w, y))
				w++;
			if (w == 0) {
				x++;
				continue;
			}
			int k = snprintf(tmp, sizeof(tmp), "M%d %dh%dv1h-%dz", x, y, w, w);
			if (out != NULL && len + (size_t)k < cap)
				memcpy(out + len, tmp, (size_t)k);
			len += (size_t)k;
			x += w;
		}
	}
	sodium_memzero(tmp, sizeof(tmp));
	return len;
}

int
ctl_qr_svg(const char *text, char **svg, size_t *len)
{
	static const char head[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		"viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
		"<path fill=\"#000000\" d=\"";
	static const char tail[] = "\"/>\n</svg>\n";
	QRcode *qr = NULL;
	char *buf;
	size_t plen, cap, off;
	int n, ret, k;

	if (svg == NULL || len == NULL)
		return -EINVAL;
	ret = encode(text, &qr);
	if (ret != 0)
		return ret;
	n = qr->width + 2 * CTL_QR_QUIET;
	plen = svg_path(qr, NULL, 0);
	cap = sizeof(head) + 6 * 12 + plen + sizeof(tail);
	buf = malloc(cap);
	if (buf == NULL) {
		qr_release(qr);
		return -ENOMEM;
	}
	k = snprintf(buf, cap, head, n, n, n * CTL_QR_SCALE, n * CTL_QR_SCALE, n, n);
	off = (size_t)k;
	off += svg_path(qr, buf + off, cap - off);
	memcpy(buf + off, tail, sizeof(tail)); /* with the NUL */
	off += sizeof(tail) - 1;
	qr_release(qr);
	*svg = buf;
	*len = off;
	return 0;
}

void
ctl_qr_free(void *buf, size_t len)
{
	if (buf == NULL)
		return;
	sodium_memzero(buf, len);
	free(buf);
}
