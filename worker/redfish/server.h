/* The HTTPS side of the Redfish service (server.c, tls.c): h2o on the
 * worker's libuv loop, serving the engine of redfish.h. */
#pragma once
#include <stddef.h>
#include <openssl/ssl.h>

#include "redfish.h"

struct worker_ctx;
struct rf_server;

/* TLS context from PEM text; NULL with a reason in err. */
SSL_CTX *rf_tls_context(const char *cert_pem, const char *key_pem, char *err, size_t size);

/* Listen on WORKER_FD_TCP and serve rf; takes ownership of ssl.  NULL with
 * a reason in err (the socket then stays bound, not listening). */
struct rf_server *rf_server_start(struct worker_ctx *w, struct rf *rf, SSL_CTX *ssl, char *err,
				  size_t size);
