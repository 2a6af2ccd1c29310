/* Redfish TLS material for a worker.  The worker cannot open files, so the
 * supervisor reads (or makes) the certificate and key here and hands over
 * the PEM text in MSG_CONFIG.  A generated certificate is kept in
 * state-dir/tls/ so that a client that was told to trust it once keeps
 * trusting it across restarts: it is replaced only when it no longer fits
 * the node (address moved, about to expire, damaged). */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>

#include "common/log.h"
#include "common/util.h"

#define TLS_FILE_MAX   (64 * 1024)  /* a long chain fits; anything larger is not PEM we want */
#define RENEW_BEFORE_S (30 * 86400) /* never hand a worker a certificate about to expire */
#define VALID_DAYS     825	    /* longer validity is rejected by Apple and browsers */
#define BACKDATE_S     3600	    /* a client whose clock is a little behind still accepts it */
#define SERIAL_LEN     16
#define KEY_ID_MAX     64

/* A gnutls error as -errno with "what: text" in err. */
static int gt_err(char *err, size_t errlen, const char *what, int code)
{
	snprintf(err, errlen, "%s: %s", what, gnutls_strerror(code));
	return code == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
}

static void wipe_free(char *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* Read from an open fd until EOF, at most TLS_FILE_MAX bytes. */
static int read_bounded(int fd, char **ret, size_t *ret_len)
{
	char *buf = xmalloc(TLS_FILE_MAX + 1);
	size_t len = 0;

	for (;;) {
		ssize_t k = read(fd, buf + len, TLS_FILE_MAX + 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = -errno;
			wipe_free(buf, TLS_FILE_MAX + 1);
			return e;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > TLS_FILE_MAX) {
			wipe_free(buf, TLS_FILE_MAX + 1);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Read a PEM file.  The mode is checked on the opened file (no race with a
 * chmod in between): a private key anyone else can read is no longer private,
 * so it is refused rather than used. */
static int read_pem(const char *path, bool secret, char **ret, size_t *ret_len, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (secret && (st.st_mode & 077))
		r = -EPERM;
	else
		r = read_bounded(fd, ret, ret_len);
	close(fd);
	if (r == -EPERM)
		snprintf(err, errlen,
			 "%s: private key is accessible by group or others (mode %04o)", path,
			 (unsigned)(st.st_mode & 07777));
	else if (r == -EINVAL)
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (r == -EFBIG)
		snprintf(err, errlen, "%s: larger than %d bytes", path, TLS_FILE_MAX);
	else if (r < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}

/* The key belongs to the certificate iff their public keys are the same;
 * the key ids are hashes of exactly that. */
static bool key_matches(gnutls_x509_crt_t crt, gnutls_x509_privkey_t pk)
{
	unsigned char a[KEY_ID_MAX], b[KEY_ID_MAX];
	size_t al = sizeof(a), bl = sizeof(b);

	if (gnutls_x509_crt_get_key_id(crt, 0, a, &al) < 0 ||
	    gnutls_x509_privkey_get_key_id(pk, 0, b, &bl) < 0)
		return false;
	return al == bl && memcmp(a, b, al) == 0;
}

/* Parse the first certificate of the cert text and the key, and check that
 * they belong together.  *ret_crt is the caller's. */
static int parse_pair(const char *cpath, const char *ctext, size_t clen, const char *kpath,
		      const char *ktext, size_t klen, gnutls_x509_crt_t *ret_crt, char *err,
		      size_t errlen)
{
	gnutls_datum_t cd = {(unsigned char *)ctext, (unsigned)clen};
	gnutls_datum_t kd = {(unsigned char *)ktext, (unsigned)klen};
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t pk = NULL;
	int r, g;

	if ((g = gnutls_x509_crt_init(&crt)) < 0 || (g = gnutls_x509_privkey_init(&pk)) < 0) {
		r = gt_err(err, errlen, "gnutls", g);
		goto out;
	}
	r = -EINVAL;
	if ((g = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM)) < 0)
		snprintf(err, errlen, "%s: not a PEM certificate: %s", cpath, gnutls_strerror(g));
	else if ((g = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		snprintf(err, errlen, "%s: not an unencrypted PEM private key: %s", kpath,
			 gnutls_strerror(g));
	else if (!key_matches(crt, pk))
		snprintf(err, errlen, "%s does not belong to the certificate in %s", kpath, cpath);
	else
		r = 0;
out:
	gnutls_x509_privkey_deinit(pk);
	if (r == 0)
		*ret_crt = crt;
	else
		gnutls_x509_crt_deinit(crt);
	return r;
}

/* PEM text into a message buffer, NUL-terminated. */
static int copy_pem(char *dst, size_t size, const char *src, size_t len, const char *what,
		    char *err, size_t errlen)
{
	if (len >= size) {
		snprintf(err, errlen, "%s: %zu bytes, more than the %zu a worker can be given",
			 what, len, size - 1);
		return -E2BIG;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* Read, check and copy out a cert/key pair.  ret_crt (may be NULL) gets the
 * parsed leaf certificate for further checks. */
static int load_pair(const char *cpath, const char *kpath, char *cert, size_t certsize, char *key,
		     size_t keysize, gnutls_x509_crt_t *ret_crt, char *err, size_t errlen)
{
	char *ctext = NULL, *ktext = NULL;
	size_t clen = 0, klen = 0;
	gnutls_x509_crt_t crt = NULL;
	int r;

	r = read_pem(cpath, false, &ctext, &clen, err, errlen);
	if (r == 0)
		r = read_pem(kpath, true, &ktext, &klen, err, errlen);
	if (r == 0)
		r = parse_pair(cpath, ctext, clen, kpath, ktext, klen, &crt, err, errlen);
	/* the whole cert file: it may carry the chain after the leaf */
	if (r == 0)
		r = copy_pem(cert, certsize, ctext, clen, cpath, err, errlen);
	if (r == 0)
		r = copy_pem(key, keysize, ktext, klen, kpath, err, errlen);
	free(ctext);
	wipe_free(ktext, klen);
	if (r == 0 && ret_crt)
		*ret_crt = crt;
	else
		gnutls_x509_crt_deinit(crt);
	return r;
}

/* ---- generated per-node certificates ---------------------------------- */

static bool san_has_addr(gnutls_x509_crt_t crt, const struct net_addr *a)
{
	size_t want = a->family == AF_INET ? 4 : 16;

	for (unsigned i = 0;; i++) {
		unsigned char buf[256];
		size_t len = sizeof(buf);
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &len, NULL);
		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return false;
		if (t == GNUTLS_SAN_IPADDRESS && len == want && memcmp(buf, a->bytes, want) == 0)
			return true;
		/* other errors (a name longer than buf) concern other entries: go on */
	}
}

/* A stored certificate is kept only while it fits the node; why says what
 * does not. */
static bool still_fits(gnutls_x509_crt_t crt, const struct net_addr *a, char *why, size_t whylen)
{
	time_t exp = gnutls_x509_crt_get_expiration_time(crt);

	if (!san_has_addr(crt, a)) {
		snprintf(why, whylen, "the stored certificate is for another address");
		return false;
	}
	if (exp == (time_t)-1 || exp - time(NULL) < RENEW_BEFORE_S) {
		snprintf(why, whylen, "the stored certificate expires within %d days",
			 RENEW_BEFORE_S / 86400);
		return false;
	}
	return true;
}

/* Random positive serial (RFC 5280: at most 20 bytes, non-negative).  The
 * second bit is set so the DER integer keeps all 16 bytes. */
static int set_serial(gnutls_x509_crt_t crt)
{
	unsigned char serial[SERIAL_LEN];
	int g = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));

	if (g < 0)
		return g;
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	return gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
}

static int set_names(gnutls_x509_crt_t crt, const struct node *n)
{
	size_t alen = n->addr.family == AF_INET ? 4 : 16;
	int g;

	if ((g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, n->name,
					       (unsigned)strlen(n->name))) < 0 ||
	    (g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "vbmc",
					       4)) < 0)
		return g;
	/* clients check the IP they connected to against the SAN, never the CN */
	if ((g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, n->addr.bytes,
						      (unsigned)alen, GNUTLS_FSAN_APPEND)) < 0)
		return g;
	return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, n->name,
						    (unsigned)strlen(n->name), GNUTLS_FSAN_APPEND);
}

/* A leaf for a TLS server, not a CA: what clients expect of a server. */
static int set_extensions(gnutls_x509_crt_t crt)
{
	unsigned char id[KEY_ID_MAX];
	size_t idlen = sizeof(id);
	int g;

	if ((g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (g = gnutls_x509_crt_get_key_id(crt, 0, id, &idlen)) < 0)
		return g;
	return gnutls_x509_crt_set_subject_key_id(crt, id, idlen);
}

static int build_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t pk, const struct node *n)
{
	time_t now = time(NULL);
	int g;

	if ((g = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (g = gnutls_x509_crt_set_key(crt, pk)) < 0 || (g = set_serial(crt)) < 0 ||
	    (g = set_names(crt, n)) < 0 ||
	    (g = gnutls_x509_crt_set_activation_time(crt, now - BACKDATE_S)) < 0 ||
	    (g = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)VALID_DAYS * 86400)) < 0 ||
	    (g = set_extensions(crt)) < 0)
		return g;
	return gnutls_x509_crt_sign2(crt, crt, pk, GNUTLS_DIG_SHA256, 0);
}

/* Export both as PEM into the message buffers (PKCS#8 for the key: every
 * TLS library reads it). */
static int export_pem(gnutls_x509_crt_t crt, gnutls_x509_privkey_t pk, char *cert, size_t certsize,
		      char *key, size_t keysize, char *err, size_t errlen)
{
	gnutls_datum_t c = {0}, k = {0};
	int g, r;

	if ((g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c)) < 0)
		return gt_err(err, errlen, "exporting the certificate", g);
	if ((g = gnutls_x509_privkey_export2_pkcs8(pk, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
						   &k)) < 0) {
		gnutls_free(c.data);
		return gt_err(err, errlen, "exporting the key", g);
	}
	r = copy_pem(cert, certsize, (char *)c.data, c.size, "generated certificate", err, errlen);
	if (r == 0)
		r = copy_pem(key, keysize, (char *)k.data, k.size, "generated key", err, errlen);
	gnutls_free(c.data);
	explicit_bzero(k.data, k.size);
	gnutls_free(k.data);
	return r;
}

static void log_generated(const struct node *n, gnutls_x509_crt_t crt, const char *why)
{
	unsigned char fp[32];
	size_t fplen = sizeof(fp);
	char hex[sizeof(fp) * 3] = "";

	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fplen) == 0)
		for (size_t i = 0; i < fplen; i++)
			snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02X%s", fp[i],
				 i + 1 < fplen ? ":" : "");
	log_node(LOG_NOTICE, n->name, n->addr_text,
		 "generated a self-signed TLS certificate for %s (%s), SHA-256 %s", n->addr_text,
		 why, hex);
}

/* Make a new key and certificate, hand them out and store them. */
static int generate(const struct node *n, const char *cpath, const char *kpath, char *cert,
		    size_t certsize, char *key, size_t keysize, const char *why, char *err,
		    size_t errlen, const char *dir_err)
{
	gnutls_x509_privkey_t pk = NULL;
	gnutls_x509_crt_t crt = NULL;
	char store_err[PATH_MAX + 64];
	int g, r;

	strlcpy0(store_err, dir_err, sizeof(store_err));

	if ((g = gnutls_x509_privkey_init(&pk)) < 0 || (g = gnutls_x509_crt_init(&crt)) < 0 ||
	    (g = gnutls_x509_privkey_generate(
		 pk, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
	    (g = build_cert(crt, pk, n)) < 0) {
		r = gt_err(err, errlen, "generating a TLS certificate", g);
		goto out;
	}
	r = export_pem(crt, pk, cert, certsize, key, keysize, err, errlen);
	if (r < 0)
		goto out;
	log_generated(n, crt, why);
	/* The key first: a cert without its key would be thrown away next time
	 * anyway.  Storing is a cache: a state dir that is read-only or full
	 * must not keep the node's BMC down, so the pair is used unsaved (and
	 * made again at the next spawn); and without fsyncs, which were most
	 * of a first spawn's time: a file cut short by a crash is remade. */
	if (store_err[0] == '\0') {
		int w = write_file_cache(kpath, key, strlen(key), 0600);

		if (w == 0)
			w = write_file_cache(cpath, cert, strlen(cert), 0600);
		if (w < 0)
			snprintf(store_err, sizeof(store_err), "%s: %s", kpath, strerror(-w));
	}
	if (store_err[0])
		log_node(LOG_WARNING, n->name, n->addr_text,
			 "cannot store the TLS certificate (%s): serving with an unsaved one",
			 store_err);
out:
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(pk);
	return r;
}

/* state-dir/tls, only for us: it holds private keys. */
static int tls_dir(const char *dir, char *err, size_t errlen)
{
	int r = mkdir_p(dir, 0700);

	/* an existing directory keeps its mode with mkdir: set it */
	if (r == 0 && chmod(dir, 0700) < 0)
		r = -errno;
	if (r < 0)
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
	return r;
}

static int tls_generated(const struct config *c, const struct node *n, char *cert, size_t certsize,
			 char *key, size_t keysize, char *err, size_t errlen)
{
	char dir[PATH_MAX], cpath[PATH_MAX], kpath[PATH_MAX], why[PATH_MAX + 128];
	char dir_err[PATH_MAX + 64];
	gnutls_x509_crt_t crt = NULL;
	int r;

	if (!n->has_addr) {
		snprintf(err, errlen, "no address to make a certificate for");
		return -EADDRNOTAVAIL;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/tls", c->state_dir) >= sizeof(dir) ||
	    (size_t)snprintf(cpath, sizeof(cpath), "%s/%s.crt", dir, n->name) >= sizeof(cpath) ||
	    (size_t)snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, n->name) >= sizeof(kpath)) {
		snprintf(err, errlen, "%s/tls: path too long", c->state_dir);
		return -ENAMETOOLONG;
	}
	r = load_pair(cpath, kpath, cert, certsize, key, keysize, &crt, why, sizeof(why));
	if (r == 0) {
		bool fits = still_fits(crt, &n->addr, why, sizeof(why));
		gnutls_x509_crt_deinit(crt);
		if (fits)
			return 0;
	} else if (r == -ENOENT) {
		snprintf(why, sizeof(why), "none stored yet");
	}
	dir_err[0] = '\0';
	tls_dir(dir, dir_err, sizeof(dir_err));
	r = generate(n, cpath, kpath, cert, certsize, key, keysize, why, err, errlen, dir_err);
	if (r < 0)
		explicit_bzero(key, keysize);
	return r;
}

int tls_for_node(struct sup *s, const struct node *n, char *cert, size_t certsize, char *key,
		 size_t keysize, char *err, size_t errlen)
{
	const struct config *c = s->cfg;
	int r;

	if (c->tls_cert && c->tls_key) {
		r = load_pair(c->tls_cert, c->tls_key, cert, certsize, key, keysize, NULL, err,
			      errlen);
		if (r < 0)
			explicit_bzero(key, keysize);
		return r;
	}
	return tls_generated(c, n, cert, certsize, key, keysize, err, errlen);
}
