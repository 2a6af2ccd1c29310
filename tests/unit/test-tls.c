/* supervisor/tls.c: per-node generated certificates in state-dir/tls and the
 * configured cert/key pair. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/supervisor.h"
#include "tap.h"

static char dir[64];
static struct config cfg;
static struct sup sup = {.cfg = &cfg};
static char cert[MSG_PEM_MAX], key[MSG_PEM_MAX], err[512];

static void make_node(struct node *n, const char *name, const char *addr)
{
	memset(n, 0, sizeof(*n));
	n->sup = &sup;
	n->name = (char *)name;
	n->has_addr = net_parse_addr(addr, &n->addr) == 0;
	net_addr_str(&n->addr, n->addr_text);
}

static int call(const struct node *n)
{
	err[0] = '\0';
	return tls_for_node(&sup, n, cert, sizeof(cert), key, sizeof(key), err, sizeof(err));
}

static char *path_of(const char *name, const char *ext)
{
	static char buf[4][256];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, 256, "%s/tls/%s.%s", dir, name, ext);
	return p;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? (mode_t)-1 : st.st_mode & 07777;
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? 0 : st.st_ino;
}

static char *slurp(const char *path)
{
	char *buf = NULL;

	if (read_file(path, 1 << 20, &buf, NULL) < 0)
		return xstrdup("");
	return buf;
}

static gnutls_x509_crt_t parse_crt(const char *pem)
{
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
	gnutls_x509_crt_t c;

	gnutls_x509_crt_init(&c);
	if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crt_deinit(c);
		return NULL;
	}
	return c;
}

static gnutls_x509_privkey_t parse_key(const char *pem)
{
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
	gnutls_x509_privkey_t k;

	gnutls_x509_privkey_init(&k);
	if (gnutls_x509_privkey_import2(k, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
		gnutls_x509_privkey_deinit(k);
		return NULL;
	}
	return k;
}

/* SAN IP of the certificate text equals addr, and no other IP is listed. */
static bool san_ip_is(const char *pem, const char *addr)
{
	gnutls_x509_crt_t c = parse_crt(pem);
	struct net_addr a;
	int found = 0, other = 0;

	if (!c || net_parse_addr(addr, &a) < 0)
		return false;
	for (unsigned i = 0;; i++) {
		unsigned char buf[64];
		size_t len = sizeof(buf);
		int t = gnutls_x509_crt_get_subject_alt_name(c, i, buf, &len, NULL);
		if (t < 0)
			break;
		if (t != GNUTLS_SAN_IPADDRESS)
			continue;
		if (len == (a.family == AF_INET ? 4u : 16u) && memcmp(buf, a.bytes, len) == 0)
			found++;
		else
			other++;
	}
	gnutls_x509_crt_deinit(c);
	return found == 1 && other == 0;
}

static bool cn_is(const char *pem, const char *name)
{
	gnutls_x509_crt_t c = parse_crt(pem);
	char buf[128];
	size_t len = sizeof(buf);
	bool ok;

	if (!c)
		return false;
	ok = gnutls_x509_crt_get_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) == 0 &&
	     strcmp(buf, name) == 0;
	gnutls_x509_crt_deinit(c);
	return ok;
}

static bool pair_matches(const char *cpem, const char *kpem)
{
	gnutls_x509_crt_t c = parse_crt(cpem);
	gnutls_x509_privkey_t k = parse_key(kpem);
	unsigned char a[64], b[64];
	size_t al = sizeof(a), bl = sizeof(b);
	bool ok = c && k && gnutls_x509_crt_get_key_id(c, 0, a, &al) == 0 &&
		  gnutls_x509_privkey_get_key_id(k, 0, b, &bl) == 0 && al == bl &&
		  memcmp(a, b, al) == 0;

	gnutls_x509_crt_deinit(c);
	gnutls_x509_privkey_deinit(k);
	return ok;
}

static size_t serial_of(const char *pem, unsigned char *buf, size_t size)
{
	gnutls_x509_crt_t c = parse_crt(pem);
	size_t len = size;

	if (!c || gnutls_x509_crt_get_serial(c, buf, &len) < 0)
		len = 0;
	gnutls_x509_crt_deinit(c);
	return len;
}

/* The same certificate, re-signed to expire in `days`. */
static void resign_expiring(const char *cpath, const char *kpath, int days)
{
	char *cp = slurp(cpath), *kp = slurp(kpath);
	gnutls_x509_crt_t c = parse_crt(cp);
	gnutls_x509_privkey_t k = parse_key(kp);
	gnutls_datum_t out = {0};

	gnutls_x509_crt_set_expiration_time(c, time(NULL) + days * 86400);
	gnutls_x509_crt_sign2(c, c, k, GNUTLS_DIG_SHA256, 0);
	gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, &out);
	write_file_atomic(cpath, out.data, out.size, 0600);
	gnutls_free(out.data);
	gnutls_x509_crt_deinit(c);
	gnutls_x509_privkey_deinit(k);
	free(cp);
	free(kp);
}

static void test_generate(struct node *a, struct node *b, char *a_cert, char *a_key)
{
	unsigned char sa[32], sb[32];
	size_t la, lb;
	char *f;

	CHECK(call(a) == 0);
	f = path_of("n1", "crt");
	CHECK(mode_of(f) == 0600);
	CHECK(mode_of(path_of("n1", "key")) == 0600);
	CHECK(strstr(cert, "BEGIN CERTIFICATE") != NULL);
	CHECK(strstr(key, "PRIVATE KEY") != NULL);
	CHECK(san_ip_is(cert, "192.0.2.10"));
	CHECK(cn_is(cert, "n1"));
	CHECK(pair_matches(cert, key));
	f = slurp(path_of("n1", "crt"));
	CHECK(strcmp(f, cert) == 0);
	free(f);
	f = slurp(path_of("n1", "key"));
	CHECK(strcmp(f, key) == 0);
	free(f);
	la = serial_of(cert, sa, sizeof(sa));
	CHECK(la == 16 && (sa[0] & 0x80) == 0);
	strcpy(a_cert, cert);
	strcpy(a_key, key);

	CHECK(call(b) == 0);
	CHECK(san_ip_is(cert, "2001:db8::5"));
	CHECK(cn_is(cert, "node_2.example"));
	CHECK(pair_matches(cert, key));
	lb = serial_of(cert, sb, sizeof(sb));
	CHECK(lb == 16 && !(la == lb && memcmp(sa, sb, la) == 0));
	CHECK(strcmp(cert, a_cert) != 0);
}

static void test_dir_modes(void)
{
	char tlsdir[128];

	snprintf(tlsdir, sizeof(tlsdir), "%s/tls", dir);
	CHECK(mode_of(tlsdir) == 0700);
}

static void test_reuse(struct node *a, const char *a_cert, const char *a_key)
{
	ino_t ic = inode_of(path_of("n1", "crt")), ik = inode_of(path_of("n1", "key"));

	CHECK(call(a) == 0);
	CHECK(strcmp(cert, a_cert) == 0);
	CHECK(strcmp(key, a_key) == 0);
	/* not even rewritten: write_file_atomic would give a new inode */
	CHECK(inode_of(path_of("n1", "crt")) == ic);
	CHECK(inode_of(path_of("n1", "key")) == ik);
}

static void test_address_change(struct node *a, const char *a_cert)
{
	net_parse_addr("192.0.2.11", &a->addr);
	net_addr_str(&a->addr, a->addr_text);
	CHECK(call(a) == 0);
	CHECK(strcmp(cert, a_cert) != 0);
	CHECK(san_ip_is(cert, "192.0.2.11"));
	CHECK(pair_matches(cert, key));
	CHECK(mode_of(path_of("n1", "key")) == 0600);
}

static void test_damaged(struct node *a)
{
	char old[MSG_PEM_MAX], *f;
	const char junk[] = "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n"
			    "-----END PRIVATE KEY-----\n";

	strcpy(old, cert);
	CHECK(write_file_atomic(path_of("n1", "key"), junk, strlen(junk), 0600) == 0);
	CHECK(call(a) == 0);
	CHECK(strcmp(cert, old) != 0);
	CHECK(pair_matches(cert, key));
	CHECK(san_ip_is(cert, "192.0.2.11"));

	/* a stored key somebody made readable is not trusted either */
	strcpy(old, cert);
	CHECK(chmod(path_of("n1", "key"), 0644) == 0);
	CHECK(call(a) == 0);
	CHECK(strcmp(cert, old) != 0);
	CHECK(mode_of(path_of("n1", "key")) == 0600);

	/* expiring within 30 days: renewed; 60 days left: kept */
	resign_expiring(path_of("n1", "crt"), path_of("n1", "key"), 60);
	f = slurp(path_of("n1", "crt"));
	CHECK(call(a) == 0);
	CHECK(strcmp(cert, f) == 0);
	strcpy(old, cert);
	free(f);
	resign_expiring(path_of("n1", "crt"), path_of("n1", "key"), 10);
	CHECK(call(a) == 0);
	CHECK(strcmp(cert, old) != 0);
	CHECK(pair_matches(cert, key));
}

static void set_configured(const char *c, const char *k)
{
	free(cfg.tls_cert);
	free(cfg.tls_key);
	cfg.tls_cert = c ? xstrdup(c) : NULL;
	cfg.tls_key = k ? xstrdup(k) : NULL;
}

static void test_configured(struct node *a, struct node *b)
{
	char cpath[128], kpath[128], *chain, *ctext, *ktext;

	/* a good pair whose cert file carries a second certificate (a chain) */
	snprintf(cpath, sizeof(cpath), "%s/site.crt", dir);
	snprintf(kpath, sizeof(kpath), "%s/site.key", dir);
	ctext = slurp(path_of("node_2.example", "crt"));
	ktext = slurp(path_of("node_2.example", "key"));
	chain = xmalloc(strlen(ctext) * 3);
	strcpy(chain, ctext);
	free(ctext);
	ctext = slurp(path_of("n1", "crt"));
	strcat(chain, ctext);
	CHECK(write_file_atomic(cpath, chain, strlen(chain), 0644) == 0);
	CHECK(write_file_atomic(kpath, ktext, strlen(ktext), 0600) == 0);
	set_configured(cpath, kpath);
	CHECK(call(a) == 0);
	CHECK(strcmp(cert, chain) == 0);
	CHECK(strcmp(key, ktext) == 0);

	/* the leaf and the key do not belong together */
	CHECK(write_file_atomic(cpath, ctext, strlen(ctext), 0644) == 0);
	CHECK(call(b) == -EINVAL);
	CHECK(strstr(err, cpath) != NULL && strstr(err, kpath) != NULL);
	CHECK(key[0] == '\0');

	/* a key readable by others */
	CHECK(write_file_atomic(cpath, chain, strlen(chain), 0644) == 0);
	CHECK(chmod(kpath, 0644) == 0);
	CHECK(call(b) == -EPERM);
	CHECK(strstr(err, kpath) != NULL);

	/* missing and unparseable files name the file */
	CHECK(chmod(kpath, 0600) == 0);
	unlink(cpath);
	CHECK(call(b) == -ENOENT);
	CHECK(strstr(err, cpath) != NULL);
	CHECK(write_file_atomic(cpath, "hello\n", 6, 0644) == 0);
	CHECK(call(b) == -EINVAL);
	CHECK(strstr(err, cpath) != NULL);
	set_configured(NULL, NULL);
	free(chain);
	free(ctext);
	explicit_bzero(ktext, strlen(ktext));
	free(ktext);
}

static void cleanup(void)
{
	const char *names[] = {"n1", "node_2.example"}, *exts[] = {"crt", "key"};
	char p[128];

	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 2; j++)
			unlink(path_of(names[i], exts[j]));
	snprintf(p, sizeof(p), "%s/tls", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/site.crt", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/site.key", dir);
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	static char a_cert[MSG_PEM_MAX], a_key[MSG_PEM_MAX];
	struct node a, b;
	char tlsdir[128];

	setenv("VBMC_LOG", "stderr", 1);
	log_init("test-tls", 0);
	strcpy(dir, "/tmp/test-tls-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	cfg.state_dir = dir;
	make_node(&a, "n1", "192.0.2.10");
	make_node(&b, "node_2.example", "2001:db8::5");
	/* a tls dir that exists already with a loose mode is tightened */
	snprintf(tlsdir, sizeof(tlsdir), "%s/tls", dir);
	CHECK(mkdir(tlsdir, 0755) == 0);

	test_generate(&a, &b, a_cert, a_key);
	test_dir_modes();
	test_reuse(&a, a_cert, a_key);
	test_address_change(&a, a_cert);
	test_damaged(&a);
	test_configured(&a, &b);
	cleanup();
	return test_done();
}
