/* ipmi-load: an RMCP+ load generator for benchmarks (tests/bench/run.sh).
 *
 * Phase 1 (set-up rate): `-C` slots each run Open Session, RAKP 1/3 and
 * Close Session in a loop for `-S` seconds; prints completed set-ups/s.
 * Phase 2 (throughput): opens `-n` sessions, each on its own UDP socket,
 * and keeps `-w` Get Chassis Status requests in flight per session for
 * `-d` seconds; prints requests/s and p50/p99/p999 latency.
 *
 * Every answer is checked as a real client would: integrity AuthCode,
 * AES-CBC decryption, checksums, rqSeq and command.  Crypto comes from the
 * worker's own helpers (worker/ipmi/crypto.c, GnuTLS).  Output: one JSON
 * object on stdout.  Only loopback targets are accepted. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "worker/ipmi/crypto.h"

enum { PT_IPMI = 0x00, PT_OPEN_REQ = 0x10, PT_OPEN_RESP = 0x11, PT_RAKP1 = 0x12,
       PT_RAKP2 = 0x13, PT_RAKP3 = 0x14, PT_RAKP4 = 0x15 };
enum { ST_IDLE, ST_OPEN, ST_RAKP1, ST_RAKP3, ST_ACTIVE, ST_CLOSE };
#define ROLE 0x14 /* administrator, name-only lookup */
#define MAX_DEPTH 16

struct opts {
	const char *host;
	int port;
	const char *user, *pass;
	int suite;
	int sessions, depth;
	double duration;
	int setup_slots;
	double setup_seconds;
	int timeout_ms;
};

struct inflight {
	bool used;
	uint8_t rqseq;
	uint64_t t0;
};

struct sess {
	int fd;
	int state;
	int auth, integ, conf;
	uint32_t csid, bsid;
	uint8_t rm[16], rc[16], guid[16];
	uint8_t sik[IPMI_HMAC_MAX], k1[IPMI_HMAC_MAX], k2[IPMI_HMAC_MAX];
	struct ipmi_keys *keys; /* K1/K2 set up once, as the worker does */
	uint32_t seq;
	uint8_t rqseq;
	uint64_t step_t0; /* set-up step sent at */
	struct inflight fl[MAX_DEPTH];
	int nfl;
	uint8_t last_pkt[512];
	size_t last_len;
};

static struct opts O = {
	.host = NULL, .port = 623, .user = "admin", .pass = NULL, .suite = 17,
	.sessions = 16, .depth = 1, .duration = 5.0, .setup_slots = 4, .setup_seconds = 2.0,
	.timeout_ms = 500,
};
static struct sockaddr_in target;
static uint32_t next_csid = 0x10000001;

/* latencies in ns, grown as needed */
static uint64_t *lat;
static size_t nlat, caplat;
static uint64_t n_timeouts, n_bad, n_setup_fail;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *m)
{
	fprintf(stderr, "ipmi-load: %s\n", m);
	exit(2);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t cksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return (uint8_t)-s;
}

static void suite_algs(int suite, int *a, int *i, int *c)
{
	switch (suite) {
	case 3: *a = IPMI_AUTH_HMAC_SHA1; *i = IPMI_INTEG_HMAC_SHA1_96; *c = IPMI_CONF_AES_CBC_128; break;
	case 17: *a = IPMI_AUTH_HMAC_SHA256; *i = IPMI_INTEG_HMAC_SHA256_128; *c = IPMI_CONF_AES_CBC_128; break;
	default: die("suite must be 3 or 17");
	}
}

/* Pre-session RMCP+ packet. */
static size_t presession(uint8_t *out, int ptype, const uint8_t *payload, size_t len)
{
	static const uint8_t rmcp[4] = { 0x06, 0x00, 0xff, 0x07 };
	memcpy(out, rmcp, 4);
	out[4] = 0x06;
	out[5] = ptype;
	memset(out + 6, 0, 8);
	out[14] = len; out[15] = len >> 8;
	memcpy(out + 16, payload, len);
	return 16 + len;
}

static void sendpkt(struct sess *s, const uint8_t *p, size_t n)
{
	if (n <= sizeof s->last_pkt) {
		memcpy(s->last_pkt, p, n);
		s->last_len = n;
	}
	if (send(s->fd, p, n, 0) < 0 && errno != ECONNREFUSED && errno != EAGAIN)
		perror("send");
}

static void sess_socket(struct sess *s)
{
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		die("socket");
	int sz = 1 << 20;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (connect(s->fd, (struct sockaddr *)&target, sizeof target) < 0)
		die("connect");
}

static void send_open(struct sess *s)
{
	uint8_t p[32] = { 0 }, pkt[64];
	suite_algs(O.suite, &s->auth, &s->integ, &s->conf);
	s->csid = next_csid++;
	if (!s->csid)
		s->csid = next_csid++;
	put32(p + 4, s->csid);
	int algs[3] = { s->auth, s->integ, s->conf };
	for (int t = 0; t < 3; t++) {
		p[8 + 8 * t] = t;
		p[8 + 8 * t + 3] = 8;
		p[8 + 8 * t + 4] = algs[t];
	}
	sendpkt(s, pkt, presession(pkt, PT_OPEN_REQ, p, sizeof p));
	s->state = ST_OPEN;
	s->step_t0 = now_ns();
}

static void send_rakp1(struct sess *s)
{
	uint8_t p[64] = { 0 }, pkt[96];
	size_t ul = strlen(O.user);
	put32(p + 4, s->bsid);
	ipmi_random(s->rm, 16);
	memcpy(p + 8, s->rm, 16);
	p[24] = ROLE;
	p[27] = ul;
	memcpy(p + 28, O.user, ul);
	sendpkt(s, pkt, presession(pkt, PT_RAKP1, p, 28 + ul));
	s->state = ST_RAKP1;
	s->step_t0 = now_ns();
}

static int send_rakp3(struct sess *s)
{
	uint8_t d[64], p[64] = { 0 }, pkt[96], mac[IPMI_HMAC_MAX];
	size_t ul = strlen(O.user);
	memcpy(d, s->rc, 16);
	put32(d + 16, s->csid);
	d[20] = ROLE;
	d[21] = ul;
	memcpy(d + 22, O.user, ul);
	int ml = ipmi_auth_hmac(s->auth, O.pass, strlen(O.pass), d, 22 + ul, mac);
	if (ml < 0)
		return -1;
	put32(p + 4, s->bsid);
	memcpy(p + 8, mac, ml);
	sendpkt(s, pkt, presession(pkt, PT_RAKP3, p, 8 + ml));
	s->state = ST_RAKP3;
	s->step_t0 = now_ns();
	return 0;
}

/* In-session request: returns the packet length. */
static size_t wrap(struct sess *s, const uint8_t *msg, size_t mlen, uint8_t *pkt)
{
	static const uint8_t rmcp[4] = { 0x06, 0x00, 0xff, 0x07 };
	uint8_t body[128];
	int blen = ipmi_keys_encrypt(s->keys, msg, mlen, body, sizeof body);
	if (blen < 0)
		die("aes");
	s->seq = s->seq + 1 ? s->seq + 1 : 1;
	memcpy(pkt, rmcp, 4);
	pkt[4] = 0x06;
	pkt[5] = PT_IPMI | 0x80 | 0x40;
	put32(pkt + 6, s->bsid);
	put32(pkt + 10, s->seq);
	pkt[14] = blen; pkt[15] = blen >> 8;
	memcpy(pkt + 16, body, blen);
	size_t n = 16 + blen;
	size_t pad = (4 - (n - 4 + 2) % 4) % 4;
	memset(pkt + n, 0xff, pad);
	n += pad;
	pkt[n++] = pad;
	pkt[n++] = 0x07;
	uint8_t mac[IPMI_HMAC_MAX];
	int il = ipmi_keys_integ(s->keys, pkt + 4, n - 4, mac);
	memcpy(pkt + n, mac, il);
	return n + il;
}

static uint8_t send_req(struct sess *s, uint8_t netfn, uint8_t cmd, const uint8_t *data,
			size_t dlen)
{
	uint8_t msg[64], pkt[256];
	s->rqseq = (s->rqseq + 1) & 0x3f;
	msg[0] = 0x20;
	msg[1] = netfn << 2;
	msg[2] = cksum(msg, 2);
	msg[3] = 0x81;
	msg[4] = s->rqseq << 2;
	msg[5] = cmd;
	memcpy(msg + 6, data, dlen);
	msg[6 + dlen] = cksum(msg + 3, 3 + dlen);
	sendpkt(s, pkt, wrap(s, msg, 7 + dlen, pkt));
	return s->rqseq;
}

/* Check and decrypt an in-session answer; fills cmd, rqseq, cc. */
static int unwrap(struct sess *s, uint8_t *pkt, size_t n, uint8_t *cmd, uint8_t *rq,
		  uint8_t *cc)
{
	if (n < 16 || pkt[4] != 0x06 || (pkt[5] & 0x3f) != PT_IPMI || get32(pkt + 6) != s->csid)
		return -1;
	size_t plen = pkt[14] | pkt[15] << 8;
	int il = ipmi_integ_len(s->integ);
	if (il <= 0 || n < 16 + plen + 2 + (size_t)il)
		return -1;
	uint8_t mac[IPMI_HMAC_MAX];
	ipmi_keys_integ(s->keys, pkt + 4, n - il - 4, mac);
	if (ipmi_memcmp_ct(mac, pkt + n - il, il))
		return -1;
	uint8_t m[256];
	int ml = ipmi_keys_decrypt(s->keys, pkt + 16, plen, m, sizeof m);
	if (ml < 8 || cksum(m, 2) != m[2] || cksum(m + 3, ml - 4) != m[ml - 1])
		return -1;
	*rq = m[4] >> 2;
	*cmd = m[5];
	*cc = m[6];
	return 0;
}

static void record(uint64_t ns)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 1 << 16;
		lat = realloc(lat, caplat * sizeof *lat);
		if (!lat)
			die("oom");
	}
	lat[nlat++] = ns;
}

/* Handle a set-up answer.  Returns 1 when the session became active. */
static int setup_answer(struct sess *s, uint8_t *r, size_t n)
{
	if (n < 16 || r[4] != 0x06)
		return -1;
	uint8_t *p = r + 16;
	size_t pl = r[14] | r[15] << 8;
	if (16 + pl > n)
		return -1;
	if (getenv("IPMI_LOAD_DEBUG"))
		fprintf(stderr, "state %d got type 0x%02x status 0x%02x len %zu\n", s->state, r[5],
			pl > 1 ? p[1] : 0xff, pl);
	if (s->state == ST_OPEN && r[5] == PT_OPEN_RESP) {
		if (pl < 12 || p[1] != 0 || get32(p + 4) != s->csid)
			return -1;
		s->bsid = get32(p + 8);
		send_rakp1(s);
		return 0;
	}
	if (s->state == ST_RAKP1 && r[5] == PT_RAKP2) {
		if (pl < 40 || p[1] != 0 || get32(p + 4) != s->csid)
			return -1;
		memcpy(s->rc, p + 8, 16);
		memcpy(s->guid, p + 24, 16);
		uint8_t d[128], mac[IPMI_HMAC_MAX];
		size_t ul = strlen(O.user);
		put32(d, s->csid);
		put32(d + 4, s->bsid);
		memcpy(d + 8, s->rm, 16);
		memcpy(d + 24, s->rc, 16);
		memcpy(d + 40, s->guid, 16);
		d[56] = ROLE;
		d[57] = ul;
		memcpy(d + 58, O.user, ul);
		int ml = ipmi_auth_hmac(s->auth, O.pass, strlen(O.pass), d, 58 + ul, mac);
		if (ml < 0 || pl < 40 + (size_t)ml || ipmi_memcmp_ct(mac, p + 40, ml))
			return -1;
		return send_rakp3(s) < 0 ? -1 : 0;
	}
	if (s->state == ST_RAKP3 && r[5] == PT_RAKP4) {
		if (pl < 8 || p[1] != 0)
			return -1;
		size_t ul = strlen(O.user);
		if (ipmi_sik(s->auth, O.pass, strlen(O.pass), s->rm, s->rc, ROLE, O.user, ul,
			     s->sik) < 0)
			return -1;
		ipmi_kn(s->auth, s->sik, 1, s->k1);
		ipmi_kn(s->auth, s->sik, 2, s->k2);
		ipmi_keys_free(s->keys);
		s->keys = NULL;
		if (ipmi_keys_new(&s->keys, s->integ, s->k1, ipmi_auth_len(s->auth), s->conf,
				  s->k2) < 0)
			return -1;
		uint8_t d[36], icv[IPMI_HMAC_MAX];
		memcpy(d, s->rm, 16);
		put32(d + 16, s->bsid);
		memcpy(d + 20, s->guid, 16);
		ipmi_auth_hmac(s->auth, s->sik, ipmi_auth_len(s->auth), d, 36, icv);
		int il = ipmi_integ_len(s->integ);
		if (pl < 8 + (size_t)il || ipmi_memcmp_ct(icv, p + 8, il))
			return -1;
		s->state = ST_ACTIVE;
		s->seq = 0;
		s->rqseq = 0;
		return 1;
	}
	return -1; /* stray or late answer: ignore */
}

static void send_close(struct sess *s)
{
	uint8_t d[4];
	put32(d, s->bsid);
	send_req(s, 0x06, 0x3c, d, 4);
	s->state = ST_CLOSE;
	s->step_t0 = now_ns();
}

/* A set-up slot starts over from a fresh socket (a new source port), as a
 * new ipmitool process would: pyghmi keys its sessions by client address. */
static void restart(struct sess *s, struct pollfd *pf)
{
	ipmi_keys_free(s->keys);
	s->keys = NULL;
	close(s->fd);
	sess_socket(s);
	pf->fd = s->fd;
	send_open(s);
}

/* Phase 1: session set-ups per second. */
static double phase_setup(uint64_t *done_out)
{
	int n = O.setup_slots;
	struct sess *ss = calloc(n, sizeof *ss);
	struct pollfd *pf = calloc(n, sizeof *pf);
	uint64_t done = 0, t0 = now_ns(), end = t0 + (uint64_t)(O.setup_seconds * 1e9);
	uint64_t tmo = (uint64_t)O.timeout_ms * 1000000ull;
	for (int i = 0; i < n; i++) {
		sess_socket(&ss[i]);
		pf[i].fd = ss[i].fd;
		pf[i].events = POLLIN;
		send_open(&ss[i]);
	}
	uint8_t buf[1024];
	int active_slots = n;
	while (active_slots > 0) {
		poll(pf, n, 5);
		uint64_t t = now_ns();
		active_slots = 0;
		for (int i = 0; i < n; i++) {
			struct sess *s = &ss[i];
			if (s->state == ST_IDLE)
				continue;
			active_slots++;
			for (;;) {
				ssize_t r = recv(s->fd, buf, sizeof buf, 0);
				if (r <= 0)
					break;
				if (s->state == ST_CLOSE) {
					uint8_t cmd, rq, cc;
					if (unwrap(s, buf, r, &cmd, &rq, &cc) == 0 && cmd == 0x3c) {
						if (now_ns() < end)
							restart(s, &pf[i]);
						else
							s->state = ST_IDLE;
					}
					continue;
				}
				int k = setup_answer(s, buf, r);
				if (k == 1) {
					done++;
					send_close(s);
				} else if (k < 0 && s->state != ST_ACTIVE) {
					/* a failed step: count it, start over */
					n_setup_fail++;
					if (now_ns() < end)
						restart(s, &pf[i]);
					else
						s->state = ST_IDLE;
				}
			}
			t = now_ns();
			if (s->state != ST_IDLE && t > s->step_t0 + tmo) {
				n_setup_fail++;
				if (t < end)
					restart(s, &pf[i]);
				else
					s->state = ST_IDLE;
			}
		}
	}
	double el = (now_ns() - t0) / 1e9;
	for (int i = 0; i < n; i++) {
		ipmi_keys_free(ss[i].keys);
		close(ss[i].fd);
	}
	free(ss);
	free(pf);
	*done_out = done;
	return done / el;
}

/* Open one session synchronously (with retries). */
static int open_sync(struct sess *s)
{
	uint8_t buf[1024];
	for (int attempt = 0; attempt < 5; attempt++) {
		send_open(s);
		for (;;) {
			struct pollfd pf = { .fd = s->fd, .events = POLLIN };
			if (poll(&pf, 1, O.timeout_ms * 2) <= 0)
				break;
			ssize_t r = recv(s->fd, buf, sizeof buf, 0);
			if (r <= 0)
				continue;
			int k = setup_answer(s, buf, r);
			if (k == 1)
				return 0;
			if (k < 0)
				break;
		}
	}
	return -1;
}

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ipmi-load -H 127.x.y.z [-p port] [-u user] -P password [-s 3|17]\n"
		"       [-n sessions (0: set-ups only)] [-w in-flight per session] [-d seconds]\n"
		"       [-C set-up slots] [-S set-up seconds (0: skip)] [-t timeout ms]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "H:p:u:P:s:n:w:d:C:S:t:")) != -1) {
		switch (c) {
		case 'H': O.host = optarg; break;
		case 'p': O.port = atoi(optarg); break;
		case 'u': O.user = optarg; break;
		case 'P': O.pass = optarg; break;
		case 's': O.suite = atoi(optarg); break;
		case 'n': O.sessions = atoi(optarg); break;
		case 'w': O.depth = atoi(optarg); break;
		case 'd': O.duration = atof(optarg); break;
		case 'C': O.setup_slots = atoi(optarg); break;
		case 'S': O.setup_seconds = atof(optarg); break;
		case 't': O.timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (!O.host || !O.pass || O.sessions < 0 || O.sessions > 4096 || O.depth < 1 ||
	    O.depth > MAX_DEPTH || O.duration <= 0 || O.duration > 600 || O.setup_slots < 1 ||
	    O.setup_slots > 256 || O.setup_seconds < 0 || O.setup_seconds > 600 ||
	    strlen(O.user) > 16)
		usage();
	target.sin_family = AF_INET;
	target.sin_port = htons(O.port);
	if (inet_pton(AF_INET, O.host, &target.sin_addr) != 1)
		die("-H must be an IPv4 literal");
	if ((ntohl(target.sin_addr.s_addr) >> 24) != 127)
		die("refusing a target outside 127.0.0.0/8");
	uint32_t seed;
	ipmi_random(&seed, sizeof seed);
	next_csid = (seed | 1) & 0x7fffffff;

	double setup_rate = 0;
	uint64_t setups = 0;
	if (O.setup_seconds > 0)
		setup_rate = phase_setup(&setups);

	/* Phase 2: throughput. */
	int n = O.sessions;
	struct sess *ss = calloc(n, sizeof *ss);
	struct pollfd *pf = calloc(n, sizeof *pf);
	int opened = 0;
	for (int i = 0; i < n; i++) {
		sess_socket(&ss[i]);
		if (open_sync(&ss[i]) < 0) {
			fprintf(stderr, "ipmi-load: session %d would not open\n", i);
			break;
		}
		pf[i].fd = ss[i].fd;
		pf[i].events = POLLIN;
		opened++;
	}
	if (opened == 0 && O.sessions > 0) /* -n 0: set-ups only */
		die("no session opened");
	n = opened;
	uint64_t tmo = (uint64_t)O.timeout_ms * 1000000ull;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(O.duration * 1e9), sent = 0;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < O.depth; k++) {
			ss[i].fl[k].rqseq = send_req(&ss[i], 0x00, 0x01, NULL, 0);
			ss[i].fl[k].t0 = now_ns();
			ss[i].fl[k].used = true;
			sent++;
		}
	uint8_t buf[1024];
	uint64_t t;
	while ((t = now_ns()) < end) {
		poll(pf, n, 2);
		for (int i = 0; i < n; i++) {
			struct sess *s = &ss[i];
			for (;;) {
				ssize_t r = recv(s->fd, buf, sizeof buf, 0);
				if (r <= 0)
					break;
				uint8_t cmd, rq, cc;
				if (unwrap(s, buf, r, &cmd, &rq, &cc) < 0 || cmd != 0x01) {
					n_bad++;
					continue;
				}
				for (int k = 0; k < O.depth; k++) {
					struct inflight *f = &s->fl[k];
					if (!f->used || f->rqseq != rq)
						continue;
					uint64_t tn = now_ns();
					if (cc == 0)
						record(tn - f->t0);
					else
						n_bad++;
					f->used = false;
					if (tn < end) {
						f->rqseq = send_req(s, 0x00, 0x01, NULL, 0);
						f->t0 = now_ns();
						f->used = true;
						sent++;
					}
					break;
				}
			}
			uint64_t tn = now_ns();
			for (int k = 0; k < O.depth; k++) {
				struct inflight *f = &s->fl[k];
				if (f->used && tn > f->t0 + tmo) {
					n_timeouts++;
					f->rqseq = send_req(s, 0x00, 0x01, NULL, 0);
					f->t0 = now_ns();
					sent++;
				}
			}
		}
	}
	double el = (now_ns() - t0) / 1e9;
	/* close the sessions (best effort, no wait beyond 200 ms) */
	for (int i = 0; i < n; i++)
		send_close(&ss[i]);
	usleep(200000);
	for (int i = 0; i < n; i++) {
		ipmi_keys_free(ss[i].keys);
		close(ss[i].fd);
	}

	qsort(lat, nlat, sizeof *lat, cmp64);
#define PCT(q) (nlat ? lat[(size_t)((nlat - 1) * (q))] / 1000.0 : 0.0)
	double mean = 0;
	for (size_t i = 0; i < nlat; i++)
		mean += lat[i];
	mean = nlat ? mean / nlat / 1000.0 : 0;
	printf("{\"host\":\"%s\",\"port\":%d,\"suite\":%d,\"sessions\":%d,\"depth\":%d,"
	       "\"duration\":%.3f,\"answered\":%zu,\"sent\":%llu,\"rps\":%.1f,"
	       "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"mean_us\":%.1f,"
	       "\"timeouts\":%llu,\"bad\":%llu,\"setups\":%llu,\"setup_per_s\":%.1f,"
	       "\"setup_slots\":%d,\"setup_fail\":%llu}\n",
	       O.host, O.port, O.suite, n, O.depth, el, nlat, (unsigned long long)sent,
	       nlat / el, PCT(0.5), PCT(0.99), PCT(0.999), mean,
	       (unsigned long long)n_timeouts, (unsigned long long)n_bad,
	       (unsigned long long)setups, setup_rate, O.setup_slots,
	       (unsigned long long)n_setup_fail);
	return 0;
}
