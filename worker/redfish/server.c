/* h2o on the worker's libuv loop: TLS on the TCP socket the supervisor
 * bound for us (fd 5), HTTP/1.1 and HTTP/2 (ALPN), one handler for every
 * path that turns an h2o request into a struct rf_request for the engine
 * and its struct rf_response back into an HTTP answer.
 *
 * Limits, so that a flood or a slow client cannot starve the node's BMC:
 * RF_MAX_CONNS connections at once (fewer if the fd limit is low: see
 * max_conns(); more are accepted and closed at once),
 * h2o's request, idle and handshake timeouts at 10 s, request bodies of
 * at most 1 MiB at the h2o level (the engine refuses more than 16 KiB with
 * a Redfish 413).
 *
 * An answer may come later than the request (power actions wait for
 * QEMU).  The per-request state is allocated in the request's pool with a
 * dispose callback: if the client goes away first, h2o disposes of the
 * pool, we cancel the engine's call, and the late answer touches nothing. */
#include "server.h"

#include <arpa/inet.h>
#include <sys/resource.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <h2o.h>

#include "common/log.h"
#include "worker/worker.h"

#define RF_MAX_CONNS	256
#define RF_FD_RESERVE	32 /* fds besides connections: stdio, channel, UDP, QMP, journal, loop */
#define RF_BACKLOG	511 /* as nginx: a burst of new connections must not overflow it (SYN retried after 1 s) */
#define RF_TIMEOUT_MS	10000
#define RF_H2O_BODY_MAX (1024 * 1024)

struct rf_server {
	struct worker_ctx *w;
	struct rf *rf;
	h2o_globalconf_t config;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	SSL_CTX *ssl;
	uv_tcp_t listener;
	unsigned conns;
	unsigned max_conns; /* RF_MAX_CONNS, or fewer under a low fd limit */
	uint64_t refused; /* connections closed for being over the limit */
};

struct rf_conn {
	uv_tcp_t tcp; /* first: h2o hands this back to conn_closed */
	struct rf_server *srv;
};

struct rf_h2o_handler {
	h2o_handler_t super;
	struct rf_server *srv;
};

/* One request in flight, in the request's pool. */
struct rf_pending {
	h2o_req_t *req;
	struct rf_call *call; /* the engine is still working on it */
	bool answered;
	const char *method, *path;
};

/* ---- request in ---- */

static const char *pool_str(h2o_req_t *req, h2o_iovec_t v)
{
	return h2o_strdup(&req->pool, v.base, v.len).base;
}

static const char *header_tok(h2o_req_t *req, const h2o_token_t *tok)
{
	ssize_t i = h2o_find_header(&req->headers, tok, -1);

	return i < 0 ? NULL : pool_str(req, req->headers.entries[i].value);
}

/* h2o keeps header names in lower case */
static const char *header_str(h2o_req_t *req, const char *name)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);

	return i < 0 ? NULL : pool_str(req, req->headers.entries[i].value);
}

static const char *client_addr(h2o_req_t *req)
{
	struct sockaddr_storage ss;
	char buf[INET6_ADDRSTRLEN] = "?";
	socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);

	if (len && ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof(buf));
	else if (len && ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof(buf));
	return h2o_strdup(&req->pool, buf, strlen(buf)).base;
}

static void fill_request(h2o_req_t *req, struct rf_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = pool_str(req, req->method);
	rq->path = pool_str(req, req->path);
	rq->authorization = header_tok(req, H2O_TOKEN_AUTHORIZATION);
	rq->if_match = header_tok(req, H2O_TOKEN_IF_MATCH);
	rq->x_auth_token = header_str(req, "x-auth-token");
	rq->odata_version = header_str(req, "odata-version");
	rq->body = (const uint8_t *)req->entity.base;
	rq->body_len = req->entity.base ? req->entity.len : 0;
	rq->client = client_addr(req);
}

/* ---- answer out ---- */

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
	size_t nlen = strlen(name);
	h2o_iovec_t lower = h2o_strdup(&req->pool, name, nlen);
	h2o_iovec_t v = h2o_strdup(&req->pool, value, strlen(value));

	/* HTTP/2 wants lower-case names; HTTP/1 gets ours as written */
	h2o_strtolower(lower.base, nlen);
	h2o_add_header_by_str(&req->pool, &req->res.headers, lower.base, nlen, 1, name, v.base,
			      v.len);
}

static void send_response(h2o_req_t *req, const struct rf_response *res)
{
	req->res.status = res->status;
	req->res.reason = rf_status_text(res->status);
	for (size_t i = 0; i < res->n_headers; i++)
		add_header(req, res->headers[i].name, res->headers[i].value);
	if (res->content_type)
		add_header(req, "Content-Type", res->content_type);
	/* h2o_send_inline leaves the length open: HTTP/1.1 would be chunked */
	if (res->status != 204)
		req->res.content_length = res->body ? res->body_len : 0;
	h2o_send_inline(req, res->body ? res->body : "", res->body ? res->body_len : 0);
}

static void on_done(void *arg, const struct rf_response *res)
{
	struct rf_pending *p = arg;

	p->call = NULL;
	p->answered = true;
	log_debug("Redfish: %s %s -> %d", p->method, p->path, res->status);
	send_response(p->req, res);
}

/* The request's pool is going away (answered, or the client is gone). */
static void pending_dispose(void *arg)
{
	struct rf_pending *p = arg;

	if (p->call)
		rf_call_cancel(p->call);
	p->call = NULL;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct rf_server *s = ((struct rf_h2o_handler *)self)->srv;
	struct rf_pending *p;
	struct rf_request rq;

	s->w->st.redfish_rx++;
	channel_report(s->w, 0);
	fill_request(req, &rq);
	p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), pending_dispose);
	*p = (struct rf_pending){.req = req, .method = rq.method, .path = rq.path};
	p->call = rf_handle(s->rf, &rq, on_done, p);
	if (!p->call && !p->answered)
		h2o_send_error_500(req, "Internal Server Error", "out of memory", 0);
	return 0;
}

/* ---- connections ---- */

static void conn_free(uv_handle_t *h)
{
	free(h); /* struct rf_conn starts with the handle */
}

static void conn_closed(uv_handle_t *h)
{
	struct rf_conn *c = (struct rf_conn *)h;

	c->srv->conns--;
	free(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct rf_server *s = listener->data;
	struct rf_conn *c;
	h2o_socket_t *sock;

	if (status < 0 || !(c = calloc(1, sizeof(*c))))
		return;
	c->srv = s;
	uv_tcp_init(s->w->loop, &c->tcp);
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, conn_free);
		return;
	}
	/* over the limit: accepted and closed, so it does not wait in the backlog */
	if (s->conns >= s->max_conns) {
		if (s->refused++ % 1000 == 0)
			log_warnx("Redfish: %u connections open, refusing more (%llu so far)",
				  s->conns, (unsigned long long)s->refused);
		uv_close((uv_handle_t *)&c->tcp, conn_free);
		return;
	}
	s->conns++;
	uv_tcp_nodelay(&c->tcp, 1);
	sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, conn_closed);
	h2o_accept(&s->accept_ctx, sock);
}

/* ---- set-up (before the sandbox) ---- */

/* The connection limit must stay below the fd limit (fixed from now on:
 * the sandbox has no setrlimit).  Were accept() to fail with EMFILE, libuv
 * would use its reserved fd once, could not reopen it (open is denied), and
 * from then on spin in its accept loop: the whole worker, IPMI included,
 * would hang.  Below the limit, the connection over it is accepted and
 * closed like any other refused one. */
static unsigned max_conns(void)
{
	struct rlimit rl;
	rlim_t n = RF_MAX_CONNS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		n = rl.rlim_cur > 2 * RF_FD_RESERVE ? rl.rlim_cur - RF_FD_RESERVE
						    : rl.rlim_cur / 2;
		if (n > RF_MAX_CONNS)
			n = RF_MAX_CONNS;
		if (n < 1)
			n = 1;
		if (n < RF_MAX_CONNS)
			log_warnx("Redfish: fd limit %llu allows only %u connections at once",
				  (unsigned long long)rl.rlim_cur, (unsigned)n);
	}
	return (unsigned)n;
}

static void configure(struct rf_server *s)
{
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	struct rf_h2o_handler *h;

	h2o_config_init(&s->config);
	s->config.server_name = h2o_iovec_init(H2O_STRLIT("vbmc"));
	s->config.max_request_entity_size = RF_H2O_BODY_MAX;
	s->config.handshake_timeout = RF_TIMEOUT_MS;
	s->config.http1.req_timeout = RF_TIMEOUT_MS;
	s->config.http2.idle_timeout = RF_TIMEOUT_MS;
	host = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	h = (struct rf_h2o_handler *)h2o_create_handler(path, sizeof(*h));
	h->super.on_req = on_req;
	h->srv = s;
}

struct rf_server *rf_server_start(struct worker_ctx *w, struct rf *rf, SSL_CTX *ssl, char *err,
				  size_t size)
{
	struct rf_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		snprintf(err, size, "out of memory");
		SSL_CTX_free(ssl);
		return NULL;
	}
	s->w = w;
	s->rf = rf;
	s->ssl = ssl;
	s->max_conns = max_conns();
	configure(s);
	h2o_ssl_register_alpn_protocols(ssl, h2o_http2_alpn_protocols);
	h2o_context_init(&s->ctx, w->loop, &s->config);
	s->accept_ctx.ctx = &s->ctx;
	s->accept_ctx.hosts = s->config.hosts;
	s->accept_ctx.ssl_ctx = ssl;
	uv_tcp_init(w->loop, &s->listener);
	s->listener.data = s;
	if ((r = uv_tcp_open(&s->listener, WORKER_FD_TCP)) < 0 ||
	    (r = uv_listen((uv_stream_t *)&s->listener, RF_BACKLOG, on_connection)) < 0) {
		snprintf(err, size, "listening on the TCP socket: %s", uv_strerror(r));
		return NULL; /* h2o holds pointers into s: keep it */
	}
	return s;
}
