/*
 * IPMI cryptography on GnuTLS.  See crypto.h for the contract and
 * docs/IPMI.md for the wire formats and the known-answer vectors.
 *
 * Every function here sees bytes straight off the network, so every
 * length is checked before it is used, and secrets on the stack are wiped
 * before return.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "worker/ipmi/crypto.h"

#define AES_BLOCK 16
#define UNAME_MAX 16
/* K1 and K2 are keyed with a constant this long for every hash (13.32). */
#define KN_CONST_LEN 20

/* One RMCP+ algorithm number and what it means for GnuTLS. */
struct mac_row {
	int alg;
	gnutls_mac_algorithm_t mac;
	int len; /* bytes kept of the MAC */
};

static const struct mac_row auth_algs[] = {
	{IPMI_AUTH_HMAC_SHA1, GNUTLS_MAC_SHA1, 20},
	{IPMI_AUTH_HMAC_MD5, GNUTLS_MAC_MD5, 16},
	{IPMI_AUTH_HMAC_SHA256, GNUTLS_MAC_SHA256, 32},
};

/* MD5-128 (3) is not here: it is keyed with the password, not K1, so it
 * does not fit ipmi_integ(), and no client we serve asks for it. */
static const struct mac_row integ_algs[] = {
	{IPMI_INTEG_HMAC_SHA1_96, GNUTLS_MAC_SHA1, 12},
	{IPMI_INTEG_HMAC_MD5_128, GNUTLS_MAC_MD5, 16},
	{IPMI_INTEG_HMAC_SHA256_128, GNUTLS_MAC_SHA256, 16},
};

static const struct mac_row *find_mac(const struct mac_row *rows, size_t n, int alg)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].alg == alg)
			return &rows[i];
	return NULL;
}

static const struct mac_row *find_auth(int alg)
{
	return find_mac(auth_algs, sizeof(auth_algs) / sizeof(auth_algs[0]), alg);
}

static const struct mac_row *find_integ(int alg)
{
	return find_mac(integ_algs, sizeof(integ_algs) / sizeof(integ_algs[0]), alg);
}

/* Wipe that the compiler may not drop as a dead store. */
static void wipe(void *p, size_t len)
{
	volatile uint8_t *v = p;

	while (len--)
		*v++ = 0;
}

int ipmi_auth_len(int auth_alg)
{
	const struct mac_row *r;

	if (auth_alg == IPMI_AUTH_NONE)
		return 0;
	r = find_auth(auth_alg);
	return r ? r->len : -EINVAL;
}

int ipmi_auth_hmac(int auth_alg, const void *key, size_t keylen, const void *data, size_t len,
		   uint8_t out[IPMI_HMAC_MAX])
{
	const struct mac_row *r = find_auth(auth_alg);

	if (!r || (!key && keylen) || (!data && len))
		return -EINVAL;
	if (gnutls_hmac_fast(r->mac, key, keylen, data, len, out) < 0)
		return -EIO;
	return r->len;
}

int ipmi_sik(int auth_alg, const void *key, size_t keylen, const uint8_t rm[16],
	     const uint8_t rc[16], uint8_t role, const char *uname, size_t ulen,
	     uint8_t sik[IPMI_HMAC_MAX])
{
	uint8_t buf[16 + 16 + 1 + 1 + UNAME_MAX];
	int ret;

	if (ulen > UNAME_MAX || (!uname && ulen))
		return -EINVAL;
	memcpy(buf, rm, 16);
	memcpy(buf + 16, rc, 16);
	buf[32] = role;
	buf[33] = (uint8_t)ulen;
	if (ulen)
		memcpy(buf + 34, uname, ulen);
	ret = ipmi_auth_hmac(auth_alg, key, keylen, buf, 34 + ulen, sik);
	/* Rm and Rc are public, but with the user name they are half of
	 * what an attacker needs to check a guessed password offline. */
	wipe(buf, sizeof(buf));
	return ret;
}

int ipmi_kn(int auth_alg, const uint8_t *sik, uint8_t n, uint8_t out[IPMI_HMAC_MAX])
{
	uint8_t c[KN_CONST_LEN];
	int len = ipmi_auth_len(auth_alg);

	if (len <= 0 || !sik)
		return -EINVAL;
	memset(c, n, sizeof(c));
	return ipmi_auth_hmac(auth_alg, sik, (size_t)len, c, sizeof(c), out);
}

int ipmi_integ_len(int integ_alg)
{
	const struct mac_row *r;

	if (integ_alg == IPMI_INTEG_NONE)
		return 0;
	r = find_integ(integ_alg);
	return r ? r->len : -EINVAL;
}

int ipmi_integ(int integ_alg, const uint8_t *k1, size_t k1len, const void *data, size_t len,
	       uint8_t out[IPMI_HMAC_MAX])
{
	const struct mac_row *r = find_integ(integ_alg);
	uint8_t full[IPMI_HMAC_MAX];

	if (!r || (!k1 && k1len) || (!data && len))
		return -EINVAL;
	if (gnutls_hmac_fast(r->mac, k1, k1len, data, len, full) < 0)
		return -EIO;
	memcpy(out, full, (size_t)r->len);
	wipe(full, sizeof(full));
	return r->len;
}

/* The handle keeps the CBC chaining state between calls, so a message
 * can go through it in pieces; gnutls_cipher_set_iv() starts a new one. */
static int aes_open(gnutls_cipher_hd_t *h, const uint8_t key[16], const uint8_t iv[16])
{
	gnutls_datum_t k = {(unsigned char *)key, 16};
	gnutls_datum_t v = {(unsigned char *)iv, AES_BLOCK};

	if (gnutls_cipher_init(h, GNUTLS_CIPHER_AES_128_CBC, &k, &v) < 0)
		return -EIO;
	return 0;
}

/* Ciphertext length for len plain bytes: plain, pad 01..N, then N. */
static size_t aes_ct_len(size_t len)
{
	return (len + 1 + AES_BLOCK - 1) / AES_BLOCK * AES_BLOCK;
}

/* Encrypt with a keyed handle whose IV is set here. */
static int aes_encrypt_hd(gnutls_cipher_hd_t h, const uint8_t iv[16], const void *plain,
			  size_t len, uint8_t *out, size_t outsize)
{
	size_t ctlen, i, n;

	if (len > INT_MAX - 2 * AES_BLOCK || (!plain && len))
		return -EINVAL;
	ctlen = aes_ct_len(len);
	if (outsize < AES_BLOCK + ctlen)
		return -ENOBUFS;
	gnutls_cipher_set_iv(h, (void *)iv, AES_BLOCK);
	/* memmove: a caller may encrypt in place at out + 16. */
	memmove(out, iv, AES_BLOCK);
	if (len)
		memmove(out + AES_BLOCK, plain, len);
	n = ctlen - len - 1;
	for (i = 0; i < n; i++)
		out[AES_BLOCK + len + i] = (uint8_t)(i + 1);
	out[AES_BLOCK + ctlen - 1] = (uint8_t)n;
	if (gnutls_cipher_encrypt(h, out + AES_BLOCK, ctlen) < 0) {
		wipe(out, AES_BLOCK + ctlen);
		return -EIO;
	}
	return (int)(AES_BLOCK + ctlen);
}

int ipmi_aes_encrypt_iv(const uint8_t key[16], const uint8_t iv[16], const void *plain,
			size_t len, uint8_t *out, size_t outsize)
{
	gnutls_cipher_hd_t h;
	int ret = aes_open(&h, key, iv);

	if (ret < 0)
		return ret;
	ret = aes_encrypt_hd(h, iv, plain, len, out, outsize);
	gnutls_cipher_deinit(h);
	return ret;
}

/* CBC needs an IV the peer cannot predict, not a secret one.  GnuTLS's
 * generator re-keys itself on every call, which made one call per packet
 * the largest user-space cost of an encrypted answer: IVs are taken from a
 * pool filled 256 at a time instead.  Each byte is handed out once; the
 * pool lives in the process like the session keys do (one thread). */
#define IV_POOL (256 * AES_BLOCK)

static int fresh_iv(uint8_t iv[AES_BLOCK])
{
	static uint8_t pool[IV_POOL];
	static size_t used = IV_POOL;

	if (used == IV_POOL) {
		if (gnutls_rnd(GNUTLS_RND_NONCE, pool, sizeof(pool)) < 0)
			return -EIO;
		used = 0;
	}
	memcpy(iv, pool + used, AES_BLOCK);
	wipe(pool + used, AES_BLOCK);
	used += AES_BLOCK;
	return 0;
}

int ipmi_aes_encrypt(const uint8_t key[16], const void *plain, size_t len, uint8_t *out,
		     size_t outsize)
{
	uint8_t iv[AES_BLOCK];

	if (fresh_iv(iv) < 0)
		return -EIO;
	return ipmi_aes_encrypt_iv(key, iv, plain, len, out, outsize);
}

/* Pad check on the last plaintext block: ...data 01 02 .. N N.  Returns
 * N, or -EBADMSG.  Timing does not matter: the integrity code has been
 * verified before we decrypt, so no padding oracle is reachable. */
static int aes_check_pad(const uint8_t last[AES_BLOCK])
{
	int n = last[AES_BLOCK - 1], i;

	if (n >= AES_BLOCK)
		return -EBADMSG;
	for (i = 0; i < n; i++)
		if (last[AES_BLOCK - 1 - n + i] != i + 1)
			return -EBADMSG;
	return n;
}

/* Decrypt all blocks but the last straight into out, the last into
 * last[]: the plaintext is never shorter than ctlen - 16, so out needs
 * only hold the plaintext, not the pad.  in starts with the IV. */
static int aes_decrypt_blocks(gnutls_cipher_hd_t h, const uint8_t *in, size_t ctlen,
			      uint8_t *out, uint8_t last[AES_BLOCK])
{
	size_t head = ctlen - AES_BLOCK;

	gnutls_cipher_set_iv(h, (void *)in, AES_BLOCK);
	in += AES_BLOCK;
	if (head && gnutls_cipher_decrypt2(h, in, head, out, head) < 0)
		return -EIO;
	if (gnutls_cipher_decrypt2(h, in + head, AES_BLOCK, last, AES_BLOCK) < 0)
		return -EIO;
	return 0;
}

static int aes_decrypt_hd(gnutls_cipher_hd_t h, const uint8_t *in, size_t len, uint8_t *out,
			  size_t outsize)
{
	uint8_t last[AES_BLOCK];
	size_t ctlen, head, plen;
	int n, ret;

	/* IV plus at least one block, whole blocks only. */
	if (!in || len < 2 * AES_BLOCK || len % AES_BLOCK || len > INT_MAX)
		return -EBADMSG;
	ctlen = len - AES_BLOCK;
	head = ctlen - AES_BLOCK;
	if (outsize < head)
		return -ENOBUFS;
	ret = aes_decrypt_blocks(h, in, ctlen, out, last);
	if (ret < 0)
		goto fail;
	n = aes_check_pad(last);
	if (n < 0) {
		ret = n;
		goto fail;
	}
	plen = ctlen - 1 - (size_t)n;
	if (plen > outsize) {
		ret = -ENOBUFS;
		goto fail;
	}
	memcpy(out + head, last, plen - head);
	wipe(last, sizeof(last));
	return (int)plen;
fail:
	/* Leave no unauthenticated plaintext behind for a careless caller. */
	wipe(out, head);
	wipe(last, sizeof(last));
	return ret;
}

int ipmi_aes_decrypt(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out,
		     size_t outsize)
{
	static const uint8_t zero_iv[AES_BLOCK];
	gnutls_cipher_hd_t h;
	int ret;

	if (!in || len < 2 * AES_BLOCK)
		return -EBADMSG;
	ret = aes_open(&h, key, zero_iv);
	if (ret < 0)
		return ret;
	ret = aes_decrypt_hd(h, in, len, out, outsize);
	gnutls_cipher_deinit(h);
	return ret;
}

/* ---- keys held for a session ---- */

/* An HMAC handle keeps the keyed inner and outer states, and a cipher
 * handle the AES key schedule: set up once per session instead of once
 * per packet (with an allocation each), which was most of what a request
 * cost in user space besides the kernel's share. */
struct ipmi_keys {
	gnutls_hmac_hd_t integ; /* keyed with K1; NULL: no integrity */
	int integ_len;		/* bytes of the MAC sent */
	gnutls_cipher_hd_t aes; /* keyed with K2; NULL: no confidentiality */
};

int ipmi_keys_new(struct ipmi_keys **out, int integ_alg, const uint8_t *k1, size_t k1len,
		  int conf_alg, const uint8_t k2[16])
{
	static const uint8_t zero_iv[AES_BLOCK];
	const struct mac_row *r = find_integ(integ_alg);
	struct ipmi_keys *k = calloc(1, sizeof(*k));
	int ret = 0;

	if (!k)
		return -ENOMEM;
	if (integ_alg != IPMI_INTEG_NONE) {
		k->integ_len = r ? r->len : 0;
		if (!r || !k1 || gnutls_hmac_init(&k->integ, r->mac, k1, k1len) < 0)
			ret = -EINVAL;
	}
	if (!ret && conf_alg != IPMI_CONF_NONE)
		ret = conf_alg == IPMI_CONF_AES_CBC_128 && k2 ? aes_open(&k->aes, k2, zero_iv)
							       : -EINVAL;
	if (ret < 0) {
		ipmi_keys_free(k);
		return ret;
	}
	*out = k;
	return 0;
}

void ipmi_keys_free(struct ipmi_keys *k)
{
	uint8_t scrap[IPMI_HMAC_MAX];

	if (!k)
		return;
	if (k->integ)
		gnutls_hmac_deinit(k->integ, scrap);
	if (k->aes)
		gnutls_cipher_deinit(k->aes);
	free(k);
}

int ipmi_keys_integ(struct ipmi_keys *k, const void *data, size_t len,
		    uint8_t out[IPMI_HMAC_MAX])
{
	uint8_t full[IPMI_HMAC_MAX];

	if (!k || !k->integ || (!data && len))
		return -EINVAL;
	if (gnutls_hmac(k->integ, data, len) < 0) {
		gnutls_hmac_output(k->integ, full); /* back to a clean state */
		return -EIO;
	}
	gnutls_hmac_output(k->integ, full); /* and ready for the next packet */
	memcpy(out, full, (size_t)k->integ_len);
	wipe(full, sizeof(full));
	return k->integ_len;
}

int ipmi_keys_encrypt(struct ipmi_keys *k, const void *plain, size_t len, uint8_t *out,
		      size_t outsize)
{
	uint8_t iv[AES_BLOCK];

	if (!k || !k->aes)
		return -EINVAL;
	if (fresh_iv(iv) < 0)
		return -EIO;
	return aes_encrypt_hd(k->aes, iv, plain, len, out, outsize);
}

int ipmi_keys_decrypt(struct ipmi_keys *k, const uint8_t *in, size_t len, uint8_t *out,
		      size_t outsize)
{
	if (!k || !k->aes)
		return -EINVAL;
	return aes_decrypt_hd(k->aes, in, len, out, outsize);
}

static void le32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static int md5_authcode(const uint8_t pw16[16], uint32_t sid, const void *msg, size_t len,
			uint32_t seq, uint8_t out[16])
{
	gnutls_hash_hd_t h;
	uint8_t b_sid[4], b_seq[4];
	int ret = 0;

	if (gnutls_hash_init(&h, GNUTLS_DIG_MD5) < 0)
		return -EIO;
	le32(b_sid, sid);
	le32(b_seq, seq);
	ret |= gnutls_hash(h, pw16, 16);
	ret |= gnutls_hash(h, b_sid, sizeof(b_sid));
	if (len)
		ret |= gnutls_hash(h, msg, len);
	ret |= gnutls_hash(h, b_seq, sizeof(b_seq));
	ret |= gnutls_hash(h, pw16, 16);
	gnutls_hash_deinit(h, out);
	return ret < 0 ? -EIO : 0;
}

void ipmi_md5_authcode(const uint8_t pw16[16], uint32_t sid, const void *msg, size_t len,
		       uint32_t seq, uint8_t out[16])
{
	/* No way to report failure here; an unpredictable code at least
	 * never matches what a peer sent. */
	if ((!msg && len) || md5_authcode(pw16, sid, msg, len, seq, out) < 0)
		(void)gnutls_rnd(GNUTLS_RND_NONCE, out, 16);
}

int ipmi_random(void *buf, size_t len)
{
	/* Session ids and Rc: RANDOM, the level GnuTLS uses for keys. */
	if (gnutls_rnd(GNUTLS_RND_RANDOM, buf, len) < 0)
		return -EIO;
	return 0;
}

int ipmi_memcmp_ct(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}
