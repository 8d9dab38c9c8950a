/*
 * http_client.h — the gate44 CLI's HTTP/1.1 client: just enough to talk to
 * gate44-control's API on a trusted host or LAN. http:// URLs only (the
 * daemon listens on loopback; put a TLS proxy in front of it for anything
 * else), one request per connection ("Connection: close"), responses
 * framed by Content-Length, chunked transfer coding or the end of the
 * connection. Single-threaded: the CLI's one thread runs all of it.
 *
 * The response parser is a pure function over a byte buffer (no sockets),
 * so that it is unit-tested without a network: feed it what has arrived so
 * far; it says "complete", "need more" or "malformed".
 *
 * Secrets: request buffers (they hold the bearer token) and response
 * bodies (they may hold a private key) are wiped before they are freed.
 */
#ifndef GATE44_CLI_HTTP_CLIENT_H
#define GATE44_CLI_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_HTTP_HEADERS_MAX (64 * 1024)	/* status line and headers */
#define CLI_HTTP_BODY_MAX    (64 * 1024 * 1024) /* a response body */
#define CLI_HTTP_CONNECT_MS  5000		/* per address tried */
#define CLI_HTTP_IO_MS	     30000		/* per read or write */

/* A parsed http:// URL. */
struct cli_http_url {
	char host[256];	     /* name or address, IPv6 without brackets */
	char port[6];	     /* decimal, "80" when the URL has none */
	char authority[272]; /* the Host header: host[:port], IPv6 in brackets */
	char base[512];	     /* the path prefix without a trailing '/', "" for none */
};

/*
 * "http://host[:port][/base]", host a name, an IPv4 address or [IPv6]. No
 * user info, query or fragment. 0, or -EINVAL with a message in err;
 * -EPROTONOSUPPORT for any other scheme (https:// included).
 */
int cli_http_url_parse(const char *url, struct cli_http_url *u, char *err, size_t errlen);

/* A response. body is malloc'd and NUL-terminated (not counted in
 * body_len); release with cli_http_resp_free, which wipes it. */
struct cli_http_resp {
	int status;		/* 200..599 (interim 1xx responses are skipped) */
	char reason[128];	/* the reason phrase, possibly "" */
	char content_type[128]; /* media type, lower case, parameters cut; "" if none */
	char retry_after[32];	/* as sent; "" if none */
	uint8_t *body;
	size_t body_len;
};

void cli_http_resp_free(struct cli_http_resp *r);

/*
 * Parse the response in buf[0..len). eof: the peer has closed the
 * connection, so len is all there is. no_body: the request was HEAD (the
 * response has headers only, whatever Content-Length says). Returns:
 *   0             a complete response, in *r (free it);
 *   -EAGAIN       incomplete: read more (never returned with eof);
 *   -EBADMSG      malformed, or truncated by eof;
 *   -EMSGSIZE     headers or body beyond the limits above;
 *   -ENOTSUP      a transfer coding other than chunked;
 *   -ENOMEM.
 * Bytes after a complete response are ignored. *r is untouched unless the
 * return is 0.
 */
int cli_http_parse(const uint8_t *buf, size_t len, bool eof, bool no_body, struct cli_http_resp *r);

/* One request header, "Name: value" without CR LF. */
struct cli_http_header {
	const char *name;
	const char *value;
};

/*
 * The request message: request line, Host, the given headers, Content-Length
 * when there is a body (or the method is POST, PUT or PATCH), Connection:
 * close, then the body. *out is malloc'd (wipe and free it: it may hold a
 * token). -EINVAL for a method, target or header with CR, LF or NUL, or a
 * target not starting with '/'; -ENOMEM.
 */
int cli_http_request_format(const struct cli_http_url *u, const char *method, const char *target,
			    const struct cli_http_header *hdrs, size_t n_hdrs, const void *body,
			    size_t body_len, char **out, size_t *out_len);

/*
 * Connect (each resolved address in turn), send the request for
 * u->base + target, read and parse the response. 0 with *r filled (any
 * status), or a negative errno with a message in err:
 *   -EHOSTUNREACH and other connect errors, -ETIMEDOUT: cannot connect;
 *   -EBADMSG, -EMSGSIZE, -ENOTSUP, -ECONNRESET: a broken response;
 *   -EINVAL: a bad request (see cli_http_request_format).
 */
int cli_http_request(const struct cli_http_url *u, const char *method, const char *target,
		     const struct cli_http_header *hdrs, size_t n_hdrs, const void *body,
		     size_t body_len, struct cli_http_resp *r, char *err, size_t errlen);

#endif /* GATE44_CLI_HTTP_CLIENT_H */
