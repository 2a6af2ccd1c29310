/* IPMI cryptography on GnuTLS: the RMCP+ authentication, integrity and
 * confidentiality algorithms, the v1.5 MD5 auth code, and random bytes.
 * No logging; state only in a session's struct ipmi_keys.  Lengths in bytes. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* RMCP+ algorithm numbers (IPMI v2.0 tables 13-17..13-19). */
enum { IPMI_AUTH_NONE = 0, IPMI_AUTH_HMAC_SHA1 = 1, IPMI_AUTH_HMAC_MD5 = 2,
       IPMI_AUTH_HMAC_SHA256 = 3 };
enum { IPMI_INTEG_NONE = 0, IPMI_INTEG_HMAC_SHA1_96 = 1, IPMI_INTEG_HMAC_MD5_128 = 2,
       IPMI_INTEG_MD5_128 = 3, IPMI_INTEG_HMAC_SHA256_128 = 4 };
enum { IPMI_CONF_NONE = 0, IPMI_CONF_AES_CBC_128 = 1 };

#define IPMI_HMAC_MAX 32

/* HMAC with the hash of an authentication algorithm (SHA1 -> 20 bytes,
 * SHA256 -> 32, MD5 -> 16).  Returns the MAC length, or -EINVAL for an
 * algorithm we do not do. */
int ipmi_auth_hmac(int auth_alg, const void *key, size_t keylen, const void *data, size_t len,
		   uint8_t out[IPMI_HMAC_MAX]);
/* Length of the MAC of an authentication algorithm (0 for none, -EINVAL unknown). */
int ipmi_auth_len(int auth_alg);

/* Session keys (spec 13.31-13.33).  sik = HMAC(kg or kuid, Rm|Rc|ROLE|ULEN|UNAME);
 * k1 = HMAC(sik, 0x01 x 20), k2 = HMAC(sik, 0x02 x 20): the constant is 20
 * bytes for every hash.  All outputs are ipmi_auth_len(auth_alg) bytes. */
int ipmi_sik(int auth_alg, const void *key, size_t keylen, const uint8_t rm[16],
	     const uint8_t rc[16], uint8_t role, const char *uname, size_t ulen,
	     uint8_t sik[IPMI_HMAC_MAX]);
int ipmi_kn(int auth_alg, const uint8_t *sik, uint8_t n, uint8_t out[IPMI_HMAC_MAX]);

/* Integrity AuthCode over data with k1: returns the truncated length
 * (12 for SHA1-96, 16 for SHA256-128/MD5-128), or -EINVAL. */
int ipmi_integ_len(int integ_alg);
int ipmi_integ(int integ_alg, const uint8_t *k1, size_t k1len, const void *data, size_t len,
	       uint8_t out[IPMI_HMAC_MAX]);

/* AES-CBC-128 confidentiality with the IPMI pad (01 02 .. N, then N).
 * encrypt: out = IV(16, fresh random) || AES(plain || pad || N); returns its
 * length or -errno.  out must hold len + 32 bytes.
 * decrypt: in = IV || ciphertext; checks the pad bytes; returns the plain
 * length or -EBADMSG. */
int ipmi_aes_encrypt(const uint8_t key[16], const void *plain, size_t len, uint8_t *out,
		     size_t outsize);
int ipmi_aes_decrypt(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out,
		     size_t outsize);
/* Same with a given IV (known-answer tests). */
int ipmi_aes_encrypt_iv(const uint8_t key[16], const uint8_t iv[16], const void *plain,
			size_t len, uint8_t *out, size_t outsize);

/* The same with the keys of one session set up once (ipmi_keys_new after
 * RAKP3): integrity with K1 and AES with K2, no per-packet key set-up.
 * integ_alg / conf_alg may be NONE, then k1 / k2 are not used.  0 or
 * -errno.  A keys object serves one thread at a time. */
struct ipmi_keys;
int ipmi_keys_new(struct ipmi_keys **out, int integ_alg, const uint8_t *k1, size_t k1len,
		  int conf_alg, const uint8_t k2[16]);
void ipmi_keys_free(struct ipmi_keys *k); /* NULL is fine */
int ipmi_keys_integ(struct ipmi_keys *k, const void *data, size_t len,
		    uint8_t out[IPMI_HMAC_MAX]);
int ipmi_keys_encrypt(struct ipmi_keys *k, const void *plain, size_t len, uint8_t *out,
		      size_t outsize);
int ipmi_keys_decrypt(struct ipmi_keys *k, const uint8_t *in, size_t len, uint8_t *out,
		      size_t outsize);

/* IPMI v1.5 MD5 auth code: MD5(pw16 || sid(LE) || msg || seq(LE) || pw16). */
void ipmi_md5_authcode(const uint8_t pw16[16], uint32_t sid, const void *msg, size_t len,
		       uint32_t seq, uint8_t out[16]);

/* Cryptographically random bytes (gnutls_rnd).  0 or -EIO. */
int ipmi_random(void *buf, size_t len);

/* Constant-time compare: 0 if equal. */
int ipmi_memcmp_ct(const void *a, const void *b, size_t len);
