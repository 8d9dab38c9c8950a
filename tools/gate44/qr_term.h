/*
 * qr_term.h — a text (a wg-quick configuration) as a QR code drawn in the
 * terminal with UTF-8 half blocks, two module rows per line, for a NOC
 * engineer to hold up to a user's phone camera. libqrencode makes the
 * symbol (level L, 8-bit mode: the smallest symbol for a config).
 * Single-threaded.
 */
#ifndef GATE44_CLI_QR_TERM_H
#define GATE44_CLI_QR_TERM_H

#include <stdbool.h>
#include <stdio.h>

enum cli_qr_style {
	CLI_QR_ANSI = 0, /* black on white by escape codes: right on any terminal */
	CLI_QR_DARK,	 /* no escapes: light modules drawn, for dark backgrounds */
	CLI_QR_LIGHT,	 /* no escapes: dark modules drawn, for light backgrounds */
};

/* Columns the symbol of text takes with quiet modules of border on each
 * side (lines are half as many, rounded up): > 0, or -errno as below. */
int cli_qr_width(const char *text, unsigned quiet);

/*
 * Draw text to f. 0, -EINVAL (empty text), -EMSGSIZE (too long for a QR
 * code) or -ENOMEM. The symbol's memory is wiped (it encodes the text).
 */
int cli_qr_print(FILE *f, const char *text, enum cli_qr_style style, unsigned quiet);

#endif /* GATE44_CLI_QR_TERM_H */
