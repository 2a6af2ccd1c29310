/* Fuzz the whole IPMI datagram -> response path with a fake clock, a fake
 * power core and deterministic "random" bytes.  The input is split into
 * datagrams (2-byte prefixes: see below) so that multi-step
 * exchanges — Open Session, RAKP, in-session commands — can be reached;
 * the seed corpus holds real client exchanges. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "worker/ipmi/ipmi.h"

static uint64_t clock_ms = 1000;
static uint32_t rng = 1;
static enum power_state pstate = POWER_STATE_ON;
static struct boot_state boot;
static size_t sent, answers, power_actions;

static void f_send(void *arg, const uint8_t *buf, size_t len, const struct sockaddr *to,
		   socklen_t tolen)
{
	(void)arg;
	(void)buf;
	(void)to;
	(void)tolen;
	sent += len;
	answers++;
}

static uint64_t f_now(void *arg)
{
	(void)arg;
	return clock_ms;
}

static int f_random(void *arg, void *buf, size_t len)
{
	uint8_t *p = buf;

	(void)arg;
	for (size_t i = 0; i < len; i++) {
		rng = rng * 1103515245u + 12345u;
		p[i] = (uint8_t)(rng >> 16);
	}
	return 0;
}

static enum power_state f_state(void *arg)
{
	(void)arg;
	return pstate;
}

static void f_power(void *arg, enum power_action a,
		    void (*cb)(void *cbarg, enum power_result r, const char *detail), void *cbarg)
{
	(void)arg;
	power_actions++;
	pstate = a == POWER_OFF ? POWER_STATE_OFF : POWER_STATE_ON;
	cb(cbarg, POWER_OK, "");
}

static struct boot_state *f_boot(void *arg)
{
	(void)arg;
	return &boot;
}

static void f_boot_changed(void *arg)
{
	(void)arg;
}

static void f_identify(void *arg, unsigned s)
{
	(void)arg;
	(void)s;
}

static const struct ipmi_ops ops = {f_send, f_now, f_random, f_state, f_power, f_boot,
				    f_boot_changed, f_identify};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipmi_config c = {.port = 623, .max_sessions = 4, .session_timeout_ms = 5000};
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(40000),
				   .sin_addr.s_addr = htonl(0x7f000001)};
	struct ipmi *ipmi;

	strcpy(c.node, "fuzz");
	strcpy(c.users[0].name, "admin");
	memcpy(c.users[0].password, "password", 8);
	c.users[0].pwlen = 8;
	c.users[0].max_priv = 4;
	strcpy(c.users[1].name, "ro");
	memcpy(c.users[1].password, "readonly", 8);
	c.users[1].pwlen = 8;
	c.users[1].max_priv = 2;
	c.n_users = 2;
	/* every input starts from the same state: reproducible crashes */
	rng = 1;
	clock_ms = 1000;
	pstate = POWER_STATE_ON;
	memset(&boot, 0, sizeof(boot));
	ipmi = ipmi_new(&c, &ops, NULL);
	while (size >= 2) {
		/* 10 bits of length; the top 6 bits of the prefix are extra
		 * seconds to let pass after this datagram, so that idle
		 * expiry is reached too (seeds use 0: 0.7 s per datagram) */
		size_t n = (size_t)(data[0] & 3) << 8 | data[1];
		uint64_t step = 700 + 1000u * (data[0] >> 2);
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		ipmi_input(ipmi, data, n, (struct sockaddr *)&from, sizeof(from));
		data += n;
		size -= n;
		clock_ms += step;
		ipmi_tick(ipmi);
	}
	ipmi_free(ipmi);
	/* FUZZ_IPMI_TRACE=1: tests/fuzz/run.sh checks with it that the
	 * in-session seeds still log in and act; they replay the engine's
	 * RNG draws, so a change in their order silently breaks them */
	if (getenv("FUZZ_IPMI_TRACE"))
		fprintf(stderr, "fuzz-ipmi: answers %zu power-actions %zu\n", answers,
			power_actions);
	answers = power_actions = 0;
	return 0;
}
