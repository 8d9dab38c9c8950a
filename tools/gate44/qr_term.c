/*
 * qr_term.c — QR codes in the terminal: libqrencode's symbol drawn with
 * the half-block characters U+2580 (upper), U+2584 (lower) and U+2588
 * (full), one text line for two module rows. Runs on the CLI's only
 * thread.
 */
#include <errno.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>

#include "qr_term.h"

static QRcode *
encode(const char *text, int *rc)
{
	QRcode *qr;

	*rc = 0;
	if (text == NULL || text[0] == '\0') {
		*rc = -EINVAL;
		return NULL;
	}
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (qr == NULL)
		*rc = errno == ERANGE ? -EMSGSIZE : errno == EINVAL ? -EINVAL : -ENOMEM;
	return qr;
}

static void
release(QRcode *qr)
{
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
}

int
cli_qr_width(const char *text, unsigned quiet)
{
	QRcode *qr;
	int rc, w;

	qr = encode(text, &rc);
	if (qr == NULL)
		return rc;
	w = qr->width + 2 * (int)quiet;
	release(qr);
	return w;
}

/* Is module (x, y) of the bordered symbol dark? The border is light. */
static bool
dark(const QRcode *qr, int x, int y, int quiet)
{
	x -= quiet;
	y -= quiet;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return false;
	return qr->data[y * qr->width + x] & 1;
}

int
cli_qr_print(FILE *f, const char *text, enum cli_qr_style style, unsigned quiet)
{
	static const char *const glyph[4] = {" ", "\u2584", "\u2580", "\u2588"};
	QRcode *qr;
	int rc, n, x, y, q = (int)quiet;
	bool top, bot;

	qr = encode(text, &rc);
	if (qr == NULL)
		return rc;
	n = qr->width + 2 * q;
	for (y = 0; y < n; y += 2) {
		/* ANSI: bright white foreground draws the light modules on black */
		if (style == CLI_QR_ANSI)
			fputs("\033[97;40m", f);
		for (x = 0; x < n; x++) {
			top = dark(qr, x, y, q);
			bot = y + 1 < n ? dark(qr, x, y + 1, q) : false;
			if (style != CLI_QR_LIGHT) {
				/* the drawn (foreground) modules are the light ones */
				top = !top;
				bot = y + 1 < n ? !bot : false;
			}
			fputs(glyph[(top ? 2 : 0) | (bot ? 1 : 0)], f);
		}
		if (style == CLI_QR_ANSI)
			fputs("\033[0m", f);
		fputc('\n', f);
	}
	release(qr);
	return 0;
}
