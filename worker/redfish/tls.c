/* The TLS context of the Redfish server, built from PEM text in memory: the
 * worker gets its certificate and key in MSG_CONFIG and can open no file.
 * Certificates after the first in the PEM are the chain.  TLS 1.2 at least;
 * for 1.2 only ECDHE with AES-GCM or ChaCha20-Poly1305 (forward secrecy,
 * AEAD, and what HTTP/2 requires); TLS 1.3 with OpenSSL's default suites. */
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

static void ssl_error(char *err, size_t size, const char *what)
{
	char buf[160];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, size, "%s: %s", what, e ? buf : "no detail");
	ERR_clear_error();
}

/* The first certificate is ours, any further ones its chain. */
static int load_certs(SSL_CTX *ctx, const char *pem, char *err, size_t size)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int r = -1;

	if (!b || !(x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		ssl_error(err, size, "reading the certificate");
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		ssl_error(err, size, "using the certificate");
		goto out;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ssl_error(err, size, "adding a chain certificate");
			goto out;
		}
	ERR_clear_error(); /* the loop ends on "no start line" */
	r = 0;
out:
	BIO_free(b);
	return r;
}

static int load_key(SSL_CTX *ctx, const char *pem, char *err, size_t size)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	int r = -1;

	if (!k)
		ssl_error(err, size, "reading the private key");
	else if (SSL_CTX_use_PrivateKey(ctx, k) != 1)
		ssl_error(err, size, "using the private key");
	else if (SSL_CTX_check_private_key(ctx) != 1)
		ssl_error(err, size, "the key does not match the certificate");
	else
		r = 0;
	EVP_PKEY_free(k);
	BIO_free(b);
	return r;
}

static int set_policy(SSL_CTX *ctx, char *err, size_t size)
{
	/* no compression (CRIME), no renegotiation, our order of ciphers, no
	 * session tickets: their key would be one more secret in memory */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		ssl_error(err, size, "setting the TLS policy");
		return -1;
	}
	return 0;
}

SSL_CTX *rf_tls_context(const char *cert_pem, const char *key_pem, char *err, size_t size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_error(err, size, "creating the TLS context");
		return NULL;
	}
	if (set_policy(ctx, err, size) < 0 || load_certs(ctx, cert_pem, err, size) < 0 ||
	    load_key(ctx, key_pem, err, size) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
