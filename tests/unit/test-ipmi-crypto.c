/*
 * Unit tests for worker/ipmi/crypto.c.
 *
 * 1. The known-answer vectors of docs/IPMI.md, computed through the
 *    header's functions from the byte strings a real session carries.
 * 2. AES-CBC with the IPMI pad: round trips and every malformed input.
 * 3. Lengths and unknown algorithm numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ipmi/crypto.h"
#include "tap.h"

/* Parse hex (spaces ignored) into out; returns the byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t outsize)
{
	size_t n = 0;
	unsigned int b;

	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (n == outsize || sscanf(s, "%2x", &b) != 1) {
			fprintf(stderr, "test setup: bad hex %s\n", s);
			exit(1);
		}
		out[n++] = (uint8_t)b;
		s += 2;
	}
	return n;
}

/* True if the first len bytes of got are the hex string want. */
static int eq_hex(const uint8_t *got, int len, const char *want)
{
	uint8_t w[256];
	size_t n = unhex(want, w, sizeof(w));

	if (len < 0 || (size_t)len != n)
		return 0;
	return memcmp(got, w, n) == 0;
}

static void put(uint8_t *buf, size_t *off, const void *p, size_t len)
{
	memcpy(buf + *off, p, len);
	*off += len;
}

static void put_le32(uint8_t *buf, size_t *off, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	put(buf, off, b, 4);
}

/* The session both vectors share: docs/IPMI.md "Known-answer vectors". */
#define PASSWORD "password"
#define UNAME	 "admin"
#define ROLE	 0x14

struct kat {
	int auth, integ;
	uint32_t sidc;
	const char *rm, *rc;
	const char *rakp2, *rakp3, *sik, *k1, *k2, *icv;
};

static const struct kat suite3 = {
	.auth = IPMI_AUTH_HMAC_SHA1,
	.integ = IPMI_INTEG_HMAC_SHA1_96,
	.sidc = 0x00000802,
	.rm = "4a1f52945771dfad1fa1ad0ea1e654a5",
	.rc = "41855b938d7fca0763cc7f6f538440b0",
	.rakp2 = "d26aeb7dc275f9ee37810edbb6f111ddb1128852",
	.rakp3 = "98155b2b981e403d834a5e5ba159bc95b510e228",
	.sik = "571d1a181ebe824c251bc1e9bbc06db90c569739",
	.k1 = "7851a98363dc2d7e1c291300d75317e26e380706",
	.k2 = "876320bdf72796e39c9542e7c63143a234686cfc",
	.icv = "f890a40d0a03df17a12907cd",
};

static const struct kat suite17 = {
	.auth = IPMI_AUTH_HMAC_SHA256,
	.integ = IPMI_INTEG_HMAC_SHA256_128,
	.sidc = 0xcd283f37,
	.rm = "5f3ea3d611a9c7c4d3346daa9ea73079",
	.rc = "9ce7a1d9f977c097e8de9c2755a98a9e",
	.rakp2 = "019b3081161e8c617efb28d5246c346ea22a43d49783f10f0cbd9033030ae7dc",
	.rakp3 = NULL, /* not in the doc */
	.sik = "467a39078f8df2947f035ec6f3e7afa5e10a42bf762e9edcc08df948e7ce1f01",
	.k1 = "c5ece06ae319ef6ca38fc6765814dce9df78c588c79fa1c07daf4c56ac980a82",
	.k2 = "8865f09850f2fa8f34a3ccaef1e3438bcb757bf2b419d504358c25916a285931",
	.icv = "fd0bb9bd129bd406bf2888e778bc637f",
};

static const uint8_t sidm[4] = {0xa4, 0xa3, 0xa2, 0xa0}; /* as on the wire */

/* Keys of a finished RAKP exchange, for the in-session vectors. */
struct keys {
	uint8_t sik[IPMI_HMAC_MAX], k1[IPMI_HMAC_MAX], k2[IPMI_HMAC_MAX];
};

static void check_kat(const struct kat *v, struct keys *ret)
{
	uint8_t rm[16], rc[16], guid[16], buf[128], mac[IPMI_HMAC_MAX];
	const uint8_t role_ulen[2] = {ROLE, sizeof(UNAME) - 1};
	size_t off;
	int hlen = ipmi_auth_len(v->auth);

	unhex(v->rm, rm, sizeof(rm));
	unhex(v->rc, rc, sizeof(rc));
	unhex("a123456789abcdefa123456789abcdef", guid, sizeof(guid));

	/* RAKP2: HMAC(Kuid, SIDm|SIDc|Rm|Rc|GUID|ROLE|ULEN|UNAME) */
	off = 0;
	put(buf, &off, sidm, 4);
	put_le32(buf, &off, v->sidc);
	put(buf, &off, rm, 16);
	put(buf, &off, rc, 16);
	put(buf, &off, guid, 16);
	put(buf, &off, role_ulen, 2);
	put(buf, &off, UNAME, sizeof(UNAME) - 1);
	CHECK(eq_hex(mac, ipmi_auth_hmac(v->auth, PASSWORD, strlen(PASSWORD), buf, off, mac),
		     v->rakp2));

	/* RAKP3: HMAC(Kuid, Rc|SIDm|ROLE|ULEN|UNAME) */
	if (v->rakp3) {
		off = 0;
		put(buf, &off, rc, 16);
		put(buf, &off, sidm, 4);
		put(buf, &off, role_ulen, 2);
		put(buf, &off, UNAME, sizeof(UNAME) - 1);
		CHECK(eq_hex(mac,
			     ipmi_auth_hmac(v->auth, PASSWORD, strlen(PASSWORD), buf, off, mac),
			     v->rakp3));
	}

	CHECK(eq_hex(ret->sik,
		     ipmi_sik(v->auth, PASSWORD, strlen(PASSWORD), rm, rc, ROLE, UNAME,
			      sizeof(UNAME) - 1, ret->sik),
		     v->sik));
	CHECK(eq_hex(ret->k1, ipmi_kn(v->auth, ret->sik, 1, ret->k1), v->k1));
	CHECK(eq_hex(ret->k2, ipmi_kn(v->auth, ret->sik, 2, ret->k2), v->k2));

	/* Kuid zero-padded to 20 bytes gives the same SIK (HMAC pads keys). */
	{
		uint8_t pw20[20] = PASSWORD, sik[IPMI_HMAC_MAX];

		CHECK(eq_hex(sik,
			     ipmi_sik(v->auth, pw20, sizeof(pw20), rm, rc, ROLE, UNAME,
				      sizeof(UNAME) - 1, sik),
			     v->sik));
	}

	/* RAKP4: HMAC(SIK, Rm|SIDc|GUID), truncated to the integrity length;
	 * that truncation is exactly what ipmi_integ() does with the SIK. */
	off = 0;
	put(buf, &off, rm, 16);
	put_le32(buf, &off, v->sidc);
	put(buf, &off, guid, 16);
	CHECK(eq_hex(mac, ipmi_integ(v->integ, ret->sik, (size_t)hlen, buf, off, mac), v->icv));
}

/* Suite 3, first in-session packet (Set Session Privilege Level). */
static void check_first_packet(const struct keys *k)
{
	uint8_t pkt[64], mac[IPMI_HMAC_MAX], plain[16];
	size_t len;
	int n;

	len = unhex("06c0 02080000 07000000 2000"
		    " 36cb03db324e3f58e4d546c3908a5d71"
		    " ed3b573142f8ea4a630f778cdee29956"
		    " ffff 02 07",
		    pkt, sizeof(pkt));
	CHECK(len % 4 == 0);
	CHECK(eq_hex(mac, ipmi_integ(IPMI_INTEG_HMAC_SHA1_96, k->k1, 20, pkt, len, mac),
		     "08a1e1683b90d79a5e7d83be"));

	/* Payload: 12 bytes of header, then 0x0020 bytes of IV||ciphertext. */
	n = ipmi_aes_decrypt(k->k2, pkt + 12, 32, plain, sizeof(plain));
	CHECK(eq_hex(plain, n, "2018c881083b0438"));
	/* The plaintext fits exactly: the pad need not. */
	CHECK(ipmi_aes_decrypt(k->k2, pkt + 12, 32, plain, 8) == 8);
	CHECK(ipmi_aes_decrypt(k->k2, pkt + 12, 32, plain, 7) == -ENOBUFS);

	/* And back: the same IV must give the same bytes as ipmitool sent. */
	{
		uint8_t ct[48];

		n = ipmi_aes_encrypt_iv(k->k2, pkt + 12, plain, 8, ct, sizeof(ct));
		CHECK(n == 32 && memcmp(ct, pkt + 12, 32) == 0);
	}
}

/* A session's keys object gives the vector's bytes, packet after packet
 * (the HMAC state is reset after each MAC, the IV set per message). */
static void check_session_keys(const struct keys *k)
{
	uint8_t pkt[64], mac[IPMI_HMAC_MAX], plain[16], ct[48], back[16];
	struct ipmi_keys *ks = NULL;
	size_t len;
	int n;

	len = unhex("06c0 02080000 07000000 2000"
		    " 36cb03db324e3f58e4d546c3908a5d71"
		    " ed3b573142f8ea4a630f778cdee29956"
		    " ffff 02 07",
		    pkt, sizeof(pkt));
	CHECK(ipmi_keys_new(&ks, IPMI_INTEG_HMAC_SHA1_96, k->k1, 20, IPMI_CONF_AES_CBC_128,
			    k->k2) == 0);
	for (int round = 0; round < 3; round++) {
		CHECK(eq_hex(mac, ipmi_keys_integ(ks, pkt, len, mac), "08a1e1683b90d79a5e7d83be"));
		n = ipmi_keys_decrypt(ks, pkt + 12, 32, plain, sizeof(plain));
		CHECK(eq_hex(plain, n, "2018c881083b0438"));
	}
	/* a fresh IV each time, and what one side encrypts the other opens */
	n = ipmi_keys_encrypt(ks, plain, 8, ct, sizeof(ct));
	CHECK(n == 32 && memcmp(ct, pkt + 12, 16) != 0);
	CHECK(ipmi_aes_decrypt(k->k2, ct, 32, back, sizeof(back)) == 8 && !memcmp(back, plain, 8));
	CHECK(ipmi_keys_decrypt(ks, ct, 32, back, sizeof(back)) == 8 && !memcmp(back, plain, 8));
	/* the IV's last byte lands on the pad length: 0x07 ^ 0x10 is no pad */
	memcpy(ct, pkt + 12, 32);
	ct[15] ^= 0x10;
	CHECK(ipmi_keys_decrypt(ks, ct, 32, back, sizeof(back)) == -EBADMSG);
	CHECK(ipmi_keys_decrypt(ks, ct, 31, back, sizeof(back)) == -EBADMSG);
	ipmi_keys_free(ks);

	/* integrity only, then bad algorithms */
	CHECK(ipmi_keys_new(&ks, IPMI_INTEG_HMAC_SHA1_96, k->k1, 20, IPMI_CONF_NONE, NULL) == 0);
	CHECK(ipmi_keys_encrypt(ks, plain, 8, ct, sizeof(ct)) == -EINVAL);
	ipmi_keys_free(ks);
	ks = NULL;
	CHECK(ipmi_keys_new(&ks, 99, k->k1, 20, IPMI_CONF_NONE, NULL) == -EINVAL && !ks);
	CHECK(ipmi_keys_new(&ks, IPMI_INTEG_NONE, NULL, 0, 7, k->k2) == -EINVAL && !ks);
	CHECK(ipmi_keys_integ(NULL, pkt, len, mac) == -EINVAL);
	ipmi_keys_free(NULL);
}

static void check_md5(void)
{
	uint8_t pw16[16] = PASSWORD, msg[8], out[16];

	unhex("2018c881103b0430", msg, sizeof(msg));
	ipmi_md5_authcode(pw16, 0x2082, msg, sizeof(msg), 0xc93f703e, out);
	CHECK(eq_hex(out, 16, "bed347c509dab24e2ce128e451593e94"));
}

static void check_round_trips(void)
{
	uint8_t key[16], plain[40], ct[40 + 32], back[40 + 16];
	size_t len;
	int n, ok = 1;

	CHECK(ipmi_random(key, sizeof(key)) == 0);
	CHECK(ipmi_random(plain, sizeof(plain)) == 0);
	for (len = 0; len <= sizeof(plain); len++) {
		n = ipmi_aes_encrypt(key, plain, len, ct, len + 32);
		/* IV + plain + at least N, in whole blocks. */
		if (n != (int)(16 + (len + 16) / 16 * 16))
			ok = 0;
		if (n > 0 && ipmi_aes_decrypt(key, ct, (size_t)n, back, sizeof(back)) != (int)len)
			ok = 0;
		if (memcmp(back, plain, len) != 0)
			ok = 0;
		/* Room for the plaintext is enough, the pad is not copied. */
		if (n > 0 && ipmi_aes_decrypt(key, ct, (size_t)n, back, len) != (int)len)
			ok = 0;
	}
	CHECK(ok);

	/* Fresh IV every time. */
	{
		uint8_t a[48], b[48];

		CHECK(ipmi_aes_encrypt(key, plain, 8, a, sizeof(a)) == 32);
		CHECK(ipmi_aes_encrypt(key, plain, 8, b, sizeof(b)) == 32);
		CHECK(memcmp(a, b, 16) != 0);
	}

	/* Output buffer too small for IV + ciphertext. */
	CHECK(ipmi_aes_encrypt(key, plain, 15, ct, 31) == -ENOBUFS);
	CHECK(ipmi_aes_encrypt(key, plain, 15, ct, 32) == 32);
	CHECK(ipmi_aes_encrypt(key, plain, 16, ct, 47) == -ENOBUFS);
}

/* IV || one ciphertext block that decrypts to block, pad and all: encrypt
 * it as 16 plain bytes (CBC makes its first block E(K, IV ^ block)) and
 * cut off the pad-only block that follows. */
static int raw_block(const uint8_t key[16], const uint8_t block[16], uint8_t ct[32])
{
	uint8_t iv[16], buf[48];

	if (ipmi_random(iv, sizeof(iv)) < 0)
		return -1;
	if (ipmi_aes_encrypt_iv(key, iv, block, 16, buf, sizeof(buf)) != 48)
		return -1;
	memcpy(ct, buf, 32);
	return 0;
}

static void check_bad_input(void)
{
	uint8_t key[16] = {1}, blk[16], ct[32], out[64];
	int i;

	/* The good case through raw_block first, so the failures below are
	 * about the pad and nothing else. */
	memcpy(blk, "abcdefghij\x01\x02\x03\x04\x05\x05", 16);
	CHECK(raw_block(key, blk, ct) == 0);
	CHECK(ipmi_aes_decrypt(key, ct, 32, out, sizeof(out)) == 10);
	CHECK(memcmp(out, "abcdefghij", 10) == 0);

	/* Each pad byte in turn wrong. */
	for (i = 10; i < 15; i++) {
		memcpy(blk, "abcdefghij\x01\x02\x03\x04\x05\x05", 16);
		blk[i] ^= 0x40;
		CHECK(raw_block(key, blk, ct) == 0);
		CHECK(ipmi_aes_decrypt(key, ct, 32, out, sizeof(out)) == -EBADMSG);
	}
	/* N = 16 and N = 255: the pad would not fit the last block. */
	memset(blk, 0, 16);
	blk[15] = 16;
	CHECK(raw_block(key, blk, ct) == 0);
	CHECK(ipmi_aes_decrypt(key, ct, 32, out, sizeof(out)) == -EBADMSG);
	blk[15] = 0xff;
	CHECK(raw_block(key, blk, ct) == 0);
	CHECK(ipmi_aes_decrypt(key, ct, 32, out, sizeof(out)) == -EBADMSG);
	/* N = 15: pad fills the whole block, plaintext empty. */
	for (i = 0; i < 15; i++)
		blk[i] = (uint8_t)(i + 1);
	blk[15] = 15;
	CHECK(raw_block(key, blk, ct) == 0);
	CHECK(ipmi_aes_decrypt(key, ct, 32, out, 0) == 0);

	/* Lengths: IV + a positive multiple of 16 only. */
	CHECK(ipmi_aes_decrypt(key, ct, 0, out, sizeof(out)) == -EBADMSG);
	CHECK(ipmi_aes_decrypt(key, ct, 16, out, sizeof(out)) == -EBADMSG);
	CHECK(ipmi_aes_decrypt(key, ct, 31, out, sizeof(out)) == -EBADMSG);
	CHECK(ipmi_aes_decrypt(key, ct, 33, out, sizeof(out)) == -EBADMSG);
	CHECK(ipmi_aes_decrypt(key, NULL, 32, out, sizeof(out)) == -EBADMSG);
}

static void check_lengths(void)
{
	uint8_t k[IPMI_HMAC_MAX] = {0}, out[IPMI_HMAC_MAX];

	CHECK(ipmi_auth_len(IPMI_AUTH_NONE) == 0);
	CHECK(ipmi_auth_len(IPMI_AUTH_HMAC_SHA1) == 20);
	CHECK(ipmi_auth_len(IPMI_AUTH_HMAC_MD5) == 16);
	CHECK(ipmi_auth_len(IPMI_AUTH_HMAC_SHA256) == 32);
	CHECK(ipmi_auth_len(4) == -EINVAL);
	CHECK(ipmi_auth_len(-1) == -EINVAL);

	CHECK(ipmi_integ_len(IPMI_INTEG_NONE) == 0);
	CHECK(ipmi_integ_len(IPMI_INTEG_HMAC_SHA1_96) == 12);
	CHECK(ipmi_integ_len(IPMI_INTEG_HMAC_MD5_128) == 16);
	CHECK(ipmi_integ_len(IPMI_INTEG_HMAC_SHA256_128) == 16);
	CHECK(ipmi_integ_len(IPMI_INTEG_MD5_128) == -EINVAL);
	CHECK(ipmi_integ_len(5) == -EINVAL);

	CHECK(ipmi_integ(IPMI_INTEG_HMAC_SHA1_96, k, 20, "x", 1, out) == 12);
	CHECK(ipmi_integ(IPMI_INTEG_HMAC_MD5_128, k, 16, "x", 1, out) == 16);
	CHECK(ipmi_integ(IPMI_INTEG_HMAC_SHA256_128, k, 32, "x", 1, out) == 16);
	CHECK(ipmi_integ(IPMI_INTEG_NONE, k, 20, "x", 1, out) == -EINVAL);
	CHECK(ipmi_integ(IPMI_INTEG_MD5_128, k, 20, "x", 1, out) == -EINVAL);
	CHECK(ipmi_integ(99, k, 20, "x", 1, out) == -EINVAL);

	CHECK(ipmi_auth_hmac(IPMI_AUTH_HMAC_MD5, k, 16, "x", 1, out) == 16);
	CHECK(ipmi_auth_hmac(IPMI_AUTH_NONE, k, 20, "x", 1, out) == -EINVAL);
	CHECK(ipmi_auth_hmac(7, k, 20, "x", 1, out) == -EINVAL);
	/* An empty password is a valid HMAC key. */
	CHECK(ipmi_auth_hmac(IPMI_AUTH_HMAC_SHA1, NULL, 0, "x", 1, out) == 20);

	CHECK(ipmi_kn(IPMI_AUTH_NONE, k, 1, out) == -EINVAL);
	CHECK(ipmi_kn(8, k, 1, out) == -EINVAL);
	CHECK(ipmi_sik(9, k, 20, k, k, ROLE, UNAME, 5, out) == -EINVAL);
	/* User names are at most 16 bytes. */
	CHECK(ipmi_sik(IPMI_AUTH_HMAC_SHA1, k, 20, k, k, ROLE, "0123456789abcdef", 16, out) ==
	      20);
	CHECK(ipmi_sik(IPMI_AUTH_HMAC_SHA1, k, 20, k, k, ROLE, "0123456789abcdefg", 17, out) ==
	      -EINVAL);
	CHECK(ipmi_sik(IPMI_AUTH_HMAC_SHA1, k, 20, k, k, ROLE, NULL, 0, out) == 20);
}

static void check_memcmp_ct(void)
{
	CHECK(ipmi_memcmp_ct("abcd", "abcd", 4) == 0);
	CHECK(ipmi_memcmp_ct("abcd", "abce", 4) != 0);
	CHECK(ipmi_memcmp_ct("xbcd", "abcd", 4) != 0);
	CHECK(ipmi_memcmp_ct("a", "b", 0) == 0);
}

int main(void)
{
	struct keys k3, k17;

	check_kat(&suite3, &k3);
	check_kat(&suite17, &k17);
	check_first_packet(&k3);
	check_session_keys(&k3);
	check_md5();
	check_round_trips();
	check_bad_input();
	check_lengths();
	check_memcmp_ct();
	return test_done();
}
