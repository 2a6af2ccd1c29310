/* Framing and fd passing on AF_UNIX SOCK_SEQPACKET sockets: one sendmsg()
 * is one frame; fds ride along as SCM_RIGHTS.  The receiving side checks
 * every length and closes any fd it did not expect. */
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int proto_send(int sock, uint16_t type, const char *payload, size_t len, const int *fds,
	       size_t nfds)
{
	struct proto_hdr h = {PROTO_MAGIC, PROTO_VERSION, type, (uint32_t)len};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	if (len > PROTO_MAX_PAYLOAD || nfds > PROTO_MAX_FDS)
		return -EMSGSIZE;
	if (nfds) {
		struct cmsghdr *c;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(h) + len)
		return -EMSGSIZE;
	return 0;
}

int proto_frame_parse(const uint8_t *buf, size_t n, struct proto_frame *f)
{
	struct proto_hdr h;

	if (n < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != PROTO_MAGIC || h.version != PROTO_VERSION)
		return -EBADMSG;
	if (h.len > PROTO_MAX_PAYLOAD || h.len != n - sizeof(h))
		return -EBADMSG;
	f->type = h.type;
	f->len = h.len;
	memcpy(f->payload, buf + sizeof(h), h.len);
	f->payload[h.len] = '\0';
	return 0;
}

void proto_frame_close_fds(struct proto_frame *f)
{
	for (size_t i = 0; i < f->nfds; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	f->nfds = 0;
}

static void take_fds(struct msghdr *mh, struct proto_frame *f)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (f->nfds < PROTO_MAX_FDS)
				f->fds[f->nfds++] = fd;
			else
				close(fd);
		}
	}
}

int proto_recv(int sock, struct proto_frame *f)
{
	static uint8_t buf[sizeof(struct proto_hdr) + PROTO_MAX_PAYLOAD + 1];
	union {
		char b[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b)};
	ssize_t n;
	int r;

	f->nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	take_fds(&mh, f);
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		proto_frame_close_fds(f);
		return -EBADMSG;
	}
	r = proto_frame_parse(buf, (size_t)n, f);
	if (r < 0)
		proto_frame_close_fds(f);
	return r;
}

int proto_send_json(int sock, uint16_t type, char *json_owned, const int *fds, size_t nfds)
{
	int r;

	if (!json_owned)
		return -ENOMEM;
	size_t len = strlen(json_owned);

	r = proto_send(sock, type, json_owned, len, fds, nfds);
	/* MSG_CONFIG carries passwords: leave no copy on the heap */
	explicit_bzero(json_owned, len);
	free(json_owned);
	return r;
}
