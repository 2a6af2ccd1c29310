/*
 * Fuzz the AES-CBC-128 payload decoder with what a peer can send: any
 * bytes as IV || ciphertext under a fixed key.  The key does not matter,
 * the decrypted pad is as random as the input either way.
 *
 * Then the same bytes as plaintext: encrypt -> decrypt must give them back.
 * Output buffers are heap blocks of the exact size, so ASan sees a write
 * one byte too far.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ipmi/crypto.h"

/* "vbmc fuzz key 16", the key the seed corpus is encrypted with. */
static const uint8_t key[16] = {0x76, 0x62, 0x6d, 0x63, 0x20, 0x66, 0x75, 0x7a,
				 0x7a, 0x20, 0x6b, 0x65, 0x79, 0x20, 0x31, 0x36};

/* Whatever comes back must be a length the input allows, or -EBADMSG. */
static void fuzz_decrypt(const uint8_t *data, size_t size)
{
	size_t cap = size > 17 ? size - 17 : 0; /* longest possible plaintext */
	uint8_t *out = malloc(cap ? cap : 1);
	int n;

	if (!out)
		abort();
	n = ipmi_aes_decrypt(key, data, size, out, cap);
	if (n == -EBADMSG) {
		free(out);
		return;
	}
	if (n < 0 || (size_t)n > cap || (size_t)n + 32 < size)
		abort();
	/* Exactly the plaintext's room is enough, one byte less is not. */
	if (ipmi_aes_decrypt(key, data, size, out, (size_t)n) != n)
		abort();
	if (n > 0 && ipmi_aes_decrypt(key, data, size, out, (size_t)n - 1) != -ENOBUFS)
		abort();
	free(out);
}

static void fuzz_round_trip(const uint8_t *data, size_t size)
{
	size_t ctsize = 16 + (size / 16 + 1) * 16;
	uint8_t iv[16] = {0};
	uint8_t *ct = malloc(ctsize), *back = malloc(size ? size : 1);
	int n;

	if (!ct || !back)
		abort();
	memcpy(iv, data, size < 16 ? size : 16);
	n = ipmi_aes_encrypt_iv(key, iv, data, size, ct, ctsize);
	if (n != (int)ctsize || memcmp(ct, iv, 16) != 0)
		abort();
	if (ipmi_aes_decrypt(key, ct, ctsize, back, size) != (int)size)
		abort();
	if (size && memcmp(back, data, size) != 0)
		abort();
	free(ct);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Payloads have a 16-bit length field; more tests nothing new. */
	if (size > 65535)
		return 0;
	fuzz_decrypt(data, size);
	fuzz_round_trip(data, size);
	return 0;
}
