/*
 * http_client.c — the gate44 CLI's HTTP/1.1 client over a TCP socket: URL
 * parsing, the request message, a connect with a timeout over every
 * resolved address, and a response parser that takes whatever bytes have
 * arrived (Content-Length, chunked, or read-until-close framing). Runs on
 * the CLI's only thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/socket.h>

#include <sodium.h>

#include "http_client.h"

/* ---- URLs ---------------------------------------------------------------- */

static int __attribute__((format(printf, 4, 5)))
url_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int
cli_http_url_parse(const char *url, struct cli_http_url *u, char *err, size_t errlen)
{
	const char *p, *host, *host_end, *port = NULL, *path;
	size_t hlen, plen = 0;
	unsigned long pn;
	char *end;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "http://", 7) != 0) {
		if (strstr(url, "://") != NULL)
			return url_err(err, errlen, -EPROTONOSUPPORT,
				       "%s: only http:// URLs are supported", url);
		return url_err(err, errlen, -EINVAL, "%s: not an http:// URL", url);
	}
	p = url + 7;
	path = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(path - p)) != NULL)
		return url_err(err, errlen, -EINVAL, "%s: user info in URLs is not supported", url);
	if (*p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(path - host));
		if (host_end == NULL)
			return url_err(err, errlen, -EINVAL, "%s: unterminated [IPv6 address]",
				       url);
		p = host_end + 1;
		if (p < path && *p != ':')
			return url_err(err, errlen, -EINVAL, "%s: junk after ]", url);
	} else {
		host = p;
		host_end = memchr(p, ':', (size_t)(path - p));
		if (host_end == NULL)
			host_end = path;
		p = host_end;
	}
	if (p < path && *p == ':') {
		port = p + 1;
		plen = (size_t)(path - port);
	}
	hlen = (size_t)(host_end - host);
	if (hlen == 0 || hlen >= sizeof(u->host))
		return url_err(err, errlen, -EINVAL, "%s: bad host", url);
	memcpy(u->host, host, hlen);
	if (strcspn(u->host, " \t\r\n/\\") != hlen)
		return url_err(err, errlen, -EINVAL, "%s: bad host", url);
	if (port != NULL) {
		if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen)
			return url_err(err, errlen, -EINVAL, "%s: bad port", url);
		pn = strtoul(port, &end, 10);
		if (pn == 0 || pn > 65535)
			return url_err(err, errlen, -EINVAL, "%s: bad port", url);
		snprintf(u->port, sizeof(u->port), "%lu", pn);
	} else {
		snprintf(u->port, sizeof(u->port), "80");
	}
	if (*path == '?' || *path == '#' || strpbrk(path, "?# \t\r\n") != NULL)
		return url_err(err, errlen, -EINVAL, "%s: query, fragment or space in the URL",
			       url);
	plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	if (plen >= sizeof(u->base))
		return url_err(err, errlen, -EINVAL, "%s: path too long", url);
	memcpy(u->base, path, plen);
	snprintf(u->authority, sizeof(u->authority), "%s%s%s%s%s", strchr(u->host, ':') ? "[" : "",
		 u->host, strchr(u->host, ':') ? "]" : "", port != NULL ? ":" : "",
		 port != NULL ? u->port : "");
	return 0;
}

/* ---- the response parser -------------------------------------------------- */

void
cli_http_resp_free(struct cli_http_resp *r)
{
	if (r->body != NULL) {
		sodium_memzero(r->body, r->body_len);
		free(r->body);
	}
	memset(r, 0, sizeof(*r));
}

/*
 * The line starting at pos: 1 with [pos, *eol) its text (CR LF or a lone LF
 * cut) and *next past it; 0 when no LF has arrived yet.
 */
static int
next_line(const uint8_t *buf, size_t len, size_t pos, size_t *eol, size_t *next)
{
	const uint8_t *lf = memchr(buf + pos, '\n', len - pos);

	if (lf == NULL)
		return 0;
	*next = (size_t)(lf - buf) + 1;
	*eol = (size_t)(lf - buf);
	if (*eol > pos && buf[*eol - 1] == '\r')
		(*eol)--;
	return 1;
}

static bool
is_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* How the body is framed, from the headers. */
enum framing {
	FRAME_CLOSE = 0, /* until the connection closes */
	FRAME_LENGTH,
	FRAME_CHUNKED,
};

struct head {
	int status;
	enum framing framing;
	uint64_t length;
	char reason[128];
	char content_type[128];
	char retry_after[32];
};

static void
copy_trim(char *dst, size_t dstlen, const uint8_t *s, size_t n)
{
	while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Content-Length: digits only; repeated headers must agree. */
static int
parse_length(struct head *h, const char *v)
{
	uint64_t n = 0;
	size_t i;

	if (v[0] == '\0')
		return -EBADMSG;
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EBADMSG;
		if (n > (UINT64_MAX - 9) / 10)
			return -EMSGSIZE;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (h->framing == FRAME_LENGTH && h->length != n)
		return -EBADMSG;
	if (h->framing != FRAME_CHUNKED) {
		h->framing = FRAME_LENGTH;
		h->length = n;
	}
	return 0;
}

/* Transfer-Encoding: "chunked" alone; any other coding is refused. */
static int
parse_te(struct head *h, const char *v)
{
	char tmp[64];

	copy_trim(tmp, sizeof(tmp), (const uint8_t *)v, strlen(v));
	if (strcasecmp(tmp, "chunked") != 0 || h->framing == FRAME_CHUNKED)
		return -ENOTSUP;
	h->framing = FRAME_CHUNKED; /* it overrides Content-Length (RFC 9112 6.3) */
	return 0;
}

static bool
name_is(const uint8_t *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && strncasecmp((const char *)name, want, nlen) == 0;
}

static int
parse_header(struct head *h, const uint8_t *line, size_t n)
{
	const uint8_t *colon = memchr(line, ':', n);
	size_t nlen, i;
	char v[512];

	if (n > 0 && (line[0] == ' ' || line[0] == '\t'))
		return -EBADMSG; /* obsolete line folding */
	if (colon == NULL || colon == line)
		return -EBADMSG;
	nlen = (size_t)(colon - line);
	for (i = 0; i < nlen; i++)
		if (!is_tchar(line[i]))
			return -EBADMSG;
	for (i = nlen + 1; i < n; i++)
		if (line[i] == '\0' || line[i] == '\r')
			return -EBADMSG;
	if (n - nlen - 1 >= sizeof(v)) {
		/* longer than any value of the headers read below */
		if (name_is(line, nlen, "Content-Length") ||
		    name_is(line, nlen, "Transfer-Encoding"))
			return -EBADMSG;
		return 0;
	}
	copy_trim(v, sizeof(v), colon + 1, n - nlen - 1);
	if (name_is(line, nlen, "Content-Length"))
		return parse_length(h, v);
	if (name_is(line, nlen, "Transfer-Encoding"))
		return parse_te(h, v);
	if (name_is(line, nlen, "Content-Type")) {
		v[strcspn(v, "; \t")] = '\0';
		for (i = 0; v[i] != '\0'; i++)
			if (v[i] >= 'A' && v[i] <= 'Z')
				v[i] = (char)(v[i] - 'A' + 'a');
		copy_trim(h->content_type, sizeof(h->content_type), (const uint8_t *)v, strlen(v));
	} else if (name_is(line, nlen, "Retry-After")) {
		copy_trim(h->retry_after, sizeof(h->retry_after), (const uint8_t *)v, strlen(v));
	}
	return 0;
}

/* "HTTP/1.x SSS[ reason]" */
static int
parse_status(struct head *h, const uint8_t *line, size_t n)
{
	if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ')
		return -EBADMSG;
	if (line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
	    line[11] > '9')
		return -EBADMSG;
	if (n > 12 && line[12] != ' ')
		return -EBADMSG;
	h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	if (n > 13)
		copy_trim(h->reason, sizeof(h->reason), line + 13, n - 13);
	for (size_t i = 0; h->reason[i] != '\0'; i++)
		if ((unsigned char)h->reason[i] < 0x20 || h->reason[i] == 0x7f)
			h->reason[i] = '?';
	return 0;
}

/* One response head from *pos: 0 (and *pos past its blank line), -EAGAIN,
 * or an error. */
static int
parse_head(const uint8_t *buf, size_t len, bool eof, size_t *pos, struct head *h)
{
	size_t p = *pos, eol, next;
	int rc;

	memset(h, 0, sizeof(*h));
	if (!next_line(buf, len, p, &eol, &next))
		goto more;
	rc = parse_status(h, buf + p, eol - p);
	if (rc != 0)
		return rc;
	for (p = next;;) {
		if (p - *pos > CLI_HTTP_HEADERS_MAX)
			return -EMSGSIZE;
		if (!next_line(buf, len, p, &eol, &next))
			goto more;
		if (eol == p)
			break;
		rc = parse_header(h, buf + p, eol - p);
		if (rc != 0)
			return rc;
		p = next;
	}
	if (next - *pos > CLI_HTTP_HEADERS_MAX)
		return -EMSGSIZE;
	*pos = next;
	return 0;
more:
	if (len - *pos > CLI_HTTP_HEADERS_MAX)
		return -EMSGSIZE;
	return eof ? -EBADMSG : -EAGAIN;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Walk a chunked body from pos: with dst NULL check it and count its bytes
 * into *total; with dst copy them there. 0, -EAGAIN or an error.
 */
static int
chunked_walk(const uint8_t *buf, size_t len, bool eof, size_t pos, uint8_t *dst, size_t *total)
{
	size_t eol, next, i, n = 0;
	uint64_t size;

	for (;;) {
		if (!next_line(buf, len, pos, &eol, &next))
			goto more;
		size = 0;
		for (i = pos; i < eol && hexval(buf[i]) >= 0; i++) {
			if (size > (CLI_HTTP_BODY_MAX >> 4))
				return -EMSGSIZE;
			size = (size << 4) | (uint64_t)hexval(buf[i]);
		}
		if (i == pos)
			return -EBADMSG;
		while (i < eol && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (i < eol && buf[i] != ';')
			return -EBADMSG; /* anything but a chunk extension */
		if (size > CLI_HTTP_BODY_MAX - n)
			return -EMSGSIZE;
		pos = next;
		if (size == 0)
			break;
		if (len - pos < size + 1)
			goto more;
		if (dst != NULL)
			memcpy(dst + n, buf + pos, size);
		n += size;
		pos += size;
		/* the CRLF after the data (a lone LF is tolerated) */
		if (buf[pos] == '\r') {
			if (len - pos < 2)
				goto more;
			pos++;
		}
		if (buf[pos] != '\n')
			return -EBADMSG;
		pos++;
	}
	/* trailers, ignored, up to the blank line */
	for (;;) {
		if (!next_line(buf, len, pos, &eol, &next))
			goto more;
		if (eol == pos)
			break;
		if (eol - pos > CLI_HTTP_HEADERS_MAX)
			return -EMSGSIZE;
		pos = next;
	}
	*total = n;
	return 0;
more:
	return eof ? -EBADMSG : -EAGAIN;
}

int
cli_http_parse(const uint8_t *buf, size_t len, bool eof, bool no_body, struct cli_http_resp *r)
{
	struct head h;
	size_t pos = 0, n = 0;
	uint8_t *body;
	int rc;

	/* interim 1xx responses come first, without a body */
	for (;;) {
		rc = parse_head(buf, len, eof, &pos, &h);
		if (rc != 0)
			return rc;
		if (h.status >= 200)
			break;
		if (h.status == 101)
			return -EBADMSG; /* we never ask to switch protocols */
	}

	if (no_body || h.status == 204 || h.status == 304) {
		n = 0;
	} else if (h.framing == FRAME_CHUNKED) {
		rc = chunked_walk(buf, len, eof, pos, NULL, &n);
		if (rc != 0)
			return rc;
	} else if (h.framing == FRAME_LENGTH) {
		if (h.length > CLI_HTTP_BODY_MAX)
			return -EMSGSIZE;
		if (len - pos < h.length)
			return eof ? -EBADMSG : -EAGAIN;
		n = (size_t)h.length;
	} else {
		if (len - pos > CLI_HTTP_BODY_MAX)
			return -EMSGSIZE;
		if (!eof)
			return -EAGAIN;
		n = len - pos;
	}

	body = malloc(n + 1);
	if (body == NULL)
		return -ENOMEM;
	if (h.framing == FRAME_CHUNKED && n > 0)
		(void)chunked_walk(buf, len, eof, pos, body, &n);
	else if (n > 0)
		memcpy(body, buf + pos, n);
	body[n] = '\0';

	memset(r, 0, sizeof(*r));
	r->status = h.status;
	memcpy(r->reason, h.reason, sizeof(r->reason));
	memcpy(r->content_type, h.content_type, sizeof(r->content_type));
	memcpy(r->retry_after, h.retry_after, sizeof(r->retry_after));
	r->body = body;
	r->body_len = n;
	return 0;
}

/* ---- the request ------------------------------------------------------------ */

static bool
clean(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static bool
token_str(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_tchar((uint8_t)*s))
			return false;
	return true;
}

int
cli_http_request_format(const struct cli_http_url *u, const char *method, const char *target,
			const struct cli_http_header *hdrs, size_t n_hdrs, const void *body,
			size_t body_len, char **out, size_t *out_len)
{
	bool needs_len = body_len > 0 || strcmp(method, "POST") == 0 ||
			 strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
	size_t cap, n = 0, i;
	char *s;
	int w;

	if (!token_str(method) || target[0] != '/' || strpbrk(target, " \t\r\n") != NULL ||
	    !clean(u->base) || !clean(u->authority))
		return -EINVAL;
	cap = strlen(method) + strlen(u->base) + strlen(target) + strlen(u->authority) + 128;
	for (i = 0; i < n_hdrs; i++) {
		if (!token_str(hdrs[i].name) || !clean(hdrs[i].value))
			return -EINVAL;
		cap += strlen(hdrs[i].name) + strlen(hdrs[i].value) + 4;
	}
	cap += body_len;
	s = malloc(cap);
	if (s == NULL)
		return -ENOMEM;
	w = snprintf(s, cap, "%s %s%s HTTP/1.1\r\nHost: %s\r\n", method, u->base, target,
		     u->authority);
	n = (size_t)w;
	for (i = 0; i < n_hdrs; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s: %s\r\n", hdrs[i].name, hdrs[i].value);
	if (needs_len)
		n += (size_t)snprintf(s + n, cap - n, "Content-Length: %zu\r\n", body_len);
	n += (size_t)snprintf(s + n, cap - n, "Connection: close\r\n\r\n");
	if (body_len > 0)
		memcpy(s + n, body, body_len);
	n += body_len;
	*out = s;
	*out_len = n;
	return 0;
}

/* ---- the connection ------------------------------------------------------- */

static int
wait_fd(int fd, short events, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	do
		n = poll(&pfd, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

/* A non-blocking socket connected to one of the host's addresses. */
static int
dial(const struct cli_http_url *u, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	int fd = -1, rc, last = -ECONNREFUSED;
	socklen_t sl;
	int soerr;

	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			last = -errno;
			goto next;
		}
		rc = wait_fd(fd, POLLOUT, CLI_HTTP_CONNECT_MS);
		if (rc != 0) {
			last = rc;
			goto next;
		}
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == 0)
			break;
		last = -soerr;
	next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", u->authority, strerror(-last));
		return last;
	}
	return fd;
}

/* Send it all; -errno on failure (the caller may still read a reply). */
static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t w;
	int rc;

	while (len > 0) {
		rc = wait_fd(fd, POLLOUT, CLI_HTTP_IO_MS);
		if (rc != 0)
			return rc;
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static void
buf_free(uint8_t *buf, size_t cap)
{
	if (buf != NULL) {
		sodium_memzero(buf, cap);
		free(buf);
	}
}

/* Read until the parser has a whole response. */
static int
recv_resp(int fd, bool no_body, struct cli_http_resp *r, char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	uint8_t *buf = NULL, *nb;
	bool eof = false;
	ssize_t n;
	int rc;

	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;

			if (ncap > CLI_HTTP_HEADERS_MAX + CLI_HTTP_BODY_MAX + 65536) {
				rc = -EMSGSIZE;
				break;
			}
			nb = malloc(ncap);
			if (nb == NULL) {
				rc = -ENOMEM;
				break;
			}
			if (len > 0)
				memcpy(nb, buf, len);
			buf_free(buf, cap);
			buf = nb;
			cap = ncap;
		}
		rc = wait_fd(fd, POLLIN, CLI_HTTP_IO_MS);
		if (rc != 0)
			break;
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -errno;
			if (rc != -ECONNRESET || len == 0)
				break;
			n = 0; /* a reset after data: parse what came */
		}
		if (n == 0)
			eof = true;
		len += (size_t)n;
		rc = cli_http_parse(buf, len, eof, no_body, r);
		if (rc != -EAGAIN)
			break;
	}
	buf_free(buf, cap);
	if (rc == -EBADMSG && eof && len == 0)
		rc = -ECONNRESET;
	switch (rc) {
	case 0:
		break;
	case -ETIMEDOUT:
		snprintf(err, errlen, "no response within %d s", CLI_HTTP_IO_MS / 1000);
		break;
	case -ECONNRESET:
		snprintf(err, errlen, "the connection closed without a response");
		break;
	case -EBADMSG:
		snprintf(err, errlen, "malformed or truncated HTTP response");
		break;
	case -EMSGSIZE:
		snprintf(err, errlen, "HTTP response too large");
		break;
	case -ENOTSUP:
		snprintf(err, errlen, "HTTP response in an unsupported transfer coding");
		break;
	default:
		snprintf(err, errlen, "reading the response: %s", strerror(-rc));
		break;
	}
	return rc;
}

int
cli_http_request(const struct cli_http_url *u, const char *method, const char *target,
		 const struct cli_http_header *hdrs, size_t n_hdrs, const void *body,
		 size_t body_len, struct cli_http_resp *r, char *err, size_t errlen)
{
	char *req = NULL;
	size_t req_len = 0;
	int fd, rc, src;

	rc = cli_http_request_format(u, method, target, hdrs, n_hdrs, body, body_len, &req,
				     &req_len);
	if (rc != 0) {
		snprintf(err, errlen, "cannot make the request: %s",
			 rc == -EINVAL ? "a header or the path holds CR, LF or space"
				       : strerror(-rc));
		return rc;
	}
	fd = dial(u, err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	/* when sending fails, the server may have answered early (413, 401) */
	src = send_all(fd, req, req_len);
	rc = recv_resp(fd, strcmp(method, "HEAD") == 0, r, err, errlen);
	if (rc != 0 && src != 0)
		snprintf(err, errlen, "sending the request: %s", strerror(-src));
	close(fd);
out:
	sodium_memzero(req, req_len);
	free(req);
	return rc;
}
