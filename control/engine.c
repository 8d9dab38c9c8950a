/*
 * engine.c — the engine socket client of gate44-control (see engine.h).
 * Main thread only; calls block for at most the timeout.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "engine.h"

enum { REPLY_MAX = 256 << 20 };

struct ctl_engine {
	char path[108];
	int fd;
	int timeout_ms;
	unsigned generation;
	uint64_t next_id;
	char *buf;       /* bytes read past the last reply */
	size_t len, cap;
};

struct ctl_engine *
ctl_engine_new(const char *path, int timeout_ms)
{
	struct ctl_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->fd = -1;
	e->timeout_ms = timeout_ms;
	return e;
}

void
ctl_engine_disconnect(struct ctl_engine *e)
{
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	e->len = 0;
}

void
ctl_engine_free(struct ctl_engine *e)
{
	if (e == NULL)
		return;
	ctl_engine_disconnect(e);
	free(e->buf);
	free(e);
}

int
ctl_engine_connect(struct ctl_engine *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (e->fd >= 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	e->fd = fd;
	e->len = 0;
	e->generation++;
	return 0;
}

bool
ctl_engine_connected(const struct ctl_engine *e)
{
	return e->fd >= 0;
}

int
ctl_engine_fd(const struct ctl_engine *e)
{
	return e->fd;
}

unsigned
ctl_engine_generation(const struct ctl_engine *e)
{
	return e->generation;
}

void
ctl_engine_check(struct ctl_engine *e)
{
	char c;
	ssize_t n;

	if (e->fd < 0)
		return;
	n = recv(e->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		ctl_engine_disconnect(e);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
send_all(struct ctl_engine *e, const char *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(e->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {.fd = e->fd, .events = POLLOUT};
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			poll(&pfd, 1, (int)left);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		return -ENOTCONN;
	}
	return 0;
}

/* Read one line into a malloc'd string. */
static int
recv_line(struct ctl_engine *e, char **line, int64_t deadline)
{
	for (;;) {
		char *nl = e->len > 0 ? memchr(e->buf, '\n', e->len) : NULL;
		ssize_t r;

		if (nl != NULL) {
			size_t l = (size_t)(nl - e->buf);

			*line = strndup(e->buf, l);
			memmove(e->buf, nl + 1, e->len - l - 1);
			e->len -= l + 1;
			return *line == NULL ? -ENOMEM : 0;
		}
		if (e->cap - e->len < 65536) {
			size_t cap = e->cap ? e->cap * 2 : 131072;
			char *b;

			if (cap > REPLY_MAX)
				return -E2BIG;
			b = realloc(e->buf, cap);
			if (b == NULL)
				return -ENOMEM;
			e->buf = b;
			e->cap = cap;
		}
		r = recv(e->fd, e->buf + e->len, e->cap - e->len, MSG_DONTWAIT);
		if (r > 0) {
			e->len += (size_t)r;
			continue;
		}
		if (r == 0)
			return -ENOTCONN;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = {.fd = e->fd, .events = POLLIN};
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			poll(&pfd, 1, (int)left);
			continue;
		}
		return -ENOTCONN;
	}
}

static const struct {
	const char *name;
	int err;
} codes[] = {
	{"EINVAL", EINVAL}, {"ENOENT", ENOENT}, {"EEXIST", EEXIST}, {"ENOSPC", ENOSPC},
	{"ENOMEM", ENOMEM}, {"EBUSY", EBUSY},   {"E2BIG", E2BIG},   {"ENOSYS", ENOSYS},
	{"EPERM", EPERM},   {"ENOTSUP", ENOTSUP},
};

int
ctl_engine_call(struct ctl_engine *e, json_t *req, json_t **result, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + e->timeout_ms;
	uint64_t id = ++e->next_id;
	json_t *reply = NULL, *ok;
	char *text = NULL, *line = NULL;
	int rc;

	if (result != NULL)
		*result = NULL;
	if (e->fd < 0) {
		json_decref(req);
		snprintf(err, errlen, "the engine is not connected");
		return -ENOTCONN;
	}
	json_object_set_new(req, "id", json_integer((json_int_t)id));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		return -ENOMEM;
	rc = send_all(e, text, strlen(text), deadline);
	if (rc == 0)
		rc = send_all(e, "\n", 1, deadline);
	free(text);
	/* replies come in order: skip any that belong to a call that timed out */
	while (rc == 0) {
		json_t *rid;

		rc = recv_line(e, &line, deadline);
		if (rc != 0)
			break;
		reply = json_loads(line, 0, NULL);
		free(line);
		line = NULL;
		rid = json_object_get(reply, "id");
		if (json_is_integer(rid) && (uint64_t)json_integer_value(rid) == id)
			break;
		json_decref(reply);
		reply = NULL;
	}
	if (rc != 0) {
		/* a connection in an unknown state is not reused */
		ctl_engine_disconnect(e);
		snprintf(err, errlen, "engine: %s", rc == -ETIMEDOUT ? "no answer in time"
								     : "connection lost");
		return rc == -ETIMEDOUT ? -ETIMEDOUT : -ENOTCONN;
	}
	ok = json_object_get(reply, "ok");
	if (json_is_true(ok)) {
		if (result != NULL) {
			*result = json_object_get(reply, "result");
			json_incref(*result);
		}
		json_decref(reply);
		return 0;
	}
	{
		json_t *eo = json_object_get(reply, "error");
		const char *code = json_string_value(json_object_get(eo, "code"));
		const char *msg = json_string_value(json_object_get(eo, "message"));

		rc = -EIO;
		for (size_t i = 0; code != NULL && i < sizeof(codes) / sizeof(codes[0]); i++)
			if (strcmp(code, codes[i].name) == 0)
				rc = -codes[i].err;
		snprintf(err, errlen, "engine: %s", msg != NULL ? msg : "error");
	}
	json_decref(reply);
	return rc;
}
