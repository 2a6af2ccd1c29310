/* Shared by the files of worker/ipmi/: the server state, sessions, and the
 * command-handler interface.  Wire layers: rmcp.c (RMCP, ASF, dispatch by
 * auth type) -> lan15.c (v1.5 sessions) / lanplus.c (RMCP+ packets,
 * Open Session, RAKP) -> msg.c (IPMI messages, command table, retransmit
 * cache) -> app.c, chassis.c, transport.c, storage.c (the commands). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto.h"
#include "ipmi.h"

#define IPMI_PKT_MAX 1024   /* largest datagram we accept or build */
#define IPMI_DATA_MAX 256   /* request or response data bytes */
#define IPMI_BMC_ADDR 0x20
#define IPMI_CHANNEL_LAN 1  /* our one LAN channel */
#define IPMI_CACHE 4        /* responses kept per session for retransmits */

/* netfns (even: request) */
enum {
	NETFN_CHASSIS = 0x00,
	NETFN_BRIDGE = 0x02,
	NETFN_SENSOR = 0x04,
	NETFN_APP = 0x06,
	NETFN_FIRMWARE = 0x08,
	NETFN_STORAGE = 0x0a,
	NETFN_TRANSPORT = 0x0c,
	NETFN_GROUP = 0x2c,
	NETFN_OEM = 0x2e,
};

/* completion codes */
enum {
	CC_OK = 0x00,
	CC_NODE_BUSY = 0xc0,
	CC_INVALID_CMD = 0xc1,
	CC_INVALID_FOR_LUN = 0xc2,
	CC_TIMEOUT = 0xc3,
	CC_OUT_OF_SPACE = 0xc4,
	CC_INVALID_RESERVATION = 0xc5,
	CC_DATA_TRUNCATED = 0xc6,
	CC_REQ_LEN_INVALID = 0xc7,
	CC_REQ_LEN_EXCEEDED = 0xc8,
	CC_PARAM_OUT_OF_RANGE = 0xc9,
	CC_CANT_RETURN_BYTES = 0xca,
	CC_NOT_PRESENT = 0xcb,
	CC_INVALID_DATA_FIELD = 0xcc,
	CC_ILLEGAL_FOR_SENSOR = 0xcd,
	CC_CANT_RESPOND = 0xce,
	CC_DUPLICATE_REQUEST = 0xcf,
	CC_SDR_UPDATE_MODE = 0xd0,
	CC_FW_UPDATE_MODE = 0xd1,
	CC_INIT_IN_PROGRESS = 0xd2,
	CC_DEST_UNAVAILABLE = 0xd3,
	CC_INSUFFICIENT_PRIV = 0xd4,
	CC_NOT_SUPPORTED_NOW = 0xd5,
	CC_PARAM_ILLEGAL = 0xd6,
	CC_UNSPECIFIED = 0xff,
	/* command-specific, for Set Session Privilege Level and friends */
	CC_PRIV_NOT_AVAILABLE = 0x80,
	CC_PRIV_EXCEEDS_LIMIT = 0x81,
	CC_PARAM_NOT_SUPPORTED = 0x80, /* boot options, LAN config */
};

enum session_kind { SESSION_V15 = 1, SESSION_V20 = 2 };

enum session_state {
	SS_FREE = 0,
	SS_V15_CHALLENGED, /* Get Session Challenge answered */
	SS_V20_OPENED,     /* Open Session answered, waiting for RAKP1 */
	SS_V20_RAKP2,      /* RAKP2 sent, waiting for RAKP3 */
	SS_ACTIVE,
};

/* Sliding window of accepted inbound sequence numbers (replay defence). */
struct seq_window {
	bool started;
	uint32_t high;    /* highest accepted */
	uint32_t bitmap;  /* bit i: high - i was seen (i < 32) */
};

struct cached_resp {
	bool used;
	bool pending;      /* the action is still running: drop the retransmit */
	uint32_t seq;      /* session sequence number of the request */
	uint8_t netfn, cmd, rq_seq;
	uint64_t data_hash; /* cheap identity of the request data */
	uint8_t pkt[IPMI_PKT_MAX];
	size_t len;
	uint64_t at_ms;
};

struct ipmi_session {
	enum session_state state;
	enum session_kind kind;
	uint32_t bmc_sid;     /* ours: the console sends to it */
	uint32_t console_sid; /* theirs: we send to it (v2.0) */
	const struct ipmi_user *user;
	uint8_t user_id;      /* 1-based index + 1 (id 1 is the null user) */
	uint8_t max_priv;     /* negotiated limit */
	uint8_t priv;         /* current operating privilege */
	uint64_t last_ms;
	bool closing; /* Close Session answered: free after sending */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	/* v1.5 */
	uint8_t authtype;
	uint8_t challenge[16];
	/* v2.0 */
	uint8_t auth_alg, integ_alg, conf_alg;
	uint8_t role;         /* RAKP1 role byte as sent (incl. name-only bit) */
	uint8_t rm[16], rc[16];
	uint8_t sik[IPMI_HMAC_MAX], k1[IPMI_HMAC_MAX], k2[IPMI_HMAC_MAX];
	struct ipmi_keys *keys; /* K1/K2 set up for use, from RAKP3 on (owned) */
	uint8_t open_tag;
	uint8_t open_resp[64]; /* last Open Session/RAKP2 answer, for retries */
	size_t open_resp_len;
	uint8_t rakp_resp[96];
	size_t rakp_resp_len;
	uint64_t rakp1_hash; /* identity of the RAKP1 answered (retries) */
	uint8_t rakp4_resp[64]; /* for a repeated RAKP3 */
	size_t rakp4_resp_len;
	uint64_t rakp3_hash;
	char uname[IPMI_NAME_MAX + 1];
	uint8_t ulen;
	/* sequence numbers */
	uint32_t out_seq;
	struct seq_window in_auth, in_unauth;
	struct cached_resp cache[IPMI_CACHE];
	unsigned cache_next;
};

struct ipmi {
	struct ipmi_config cfg;
	const struct ipmi_ops *ops;
	void *arg;
	struct ipmi_session *sessions; /* cfg.max_sessions slots */
	struct ipmi_stats stats;
	/* chassis facts the commands report */
	uint8_t last_power_event;  /* Get Chassis Status byte 3 */
	uint8_t restart_cause;     /* Get System Restart Cause */
	uint64_t identify_until_ms; /* now_ms() when it goes off (0: off); UINT64_MAX: forced on */
	uint16_t sel_reservation, sdr_reservation;
	uint8_t set_in_progress_lan;
};

/* Where a request came from and how to answer it.  Filled by the session
 * layer, used by msg.c to frame the response the same way. */
struct ipmi_ctx {
	struct ipmi *ipmi;
	struct ipmi_session *s;   /* NULL outside a session */
	enum session_kind kind;   /* packet format to answer in */
	bool authenticated;       /* v2.0: integrity verified / v1.5: auth code ok */
	uint32_t seq;             /* inbound session sequence number */
	const struct sockaddr *from;
	socklen_t fromlen;
};

/* A decoded request, as command handlers see it. */
struct ipmi_req {
	struct ipmi *ipmi;
	struct ipmi_session *s; /* NULL pre-session */
	struct ipmi_ctx *ctx;
	uint8_t netfn, cmd, lun, rq_seq, rq_addr;
	const uint8_t *data;
	size_t len;
	uint8_t priv; /* current session privilege, 0 outside a session */
};

struct ipmi_resp {
	uint8_t cc;
	uint8_t data[IPMI_DATA_MAX];
	size_t len;
	/* set by ipmi_async_begin(): the answer follows via ipmi_async_done() */
	struct ipmi_async *async;
};

typedef void (*ipmi_handler)(struct ipmi_req *rq, struct ipmi_resp *rs);

/* Flags of a command table row. */
enum {
	CMD_PRESESSION = 1 << 0, /* allowed outside a session (sid 0) */
};

struct ipmi_cmd {
	uint8_t netfn;
	uint8_t cmd;
	uint8_t min_priv;
	uint8_t flags;
	ipmi_handler handler;
	const char *name;
};

/* Command tables, one per file; msg.c searches them in order. */
extern const struct ipmi_cmd ipmi_app_cmds[];
extern const struct ipmi_cmd ipmi_chassis_cmds[];
extern const struct ipmi_cmd ipmi_transport_cmds[];
extern const struct ipmi_cmd ipmi_storage_cmds[];
extern const struct ipmi_cmd ipmi_session_cmds[]; /* session.c: session commands */

/* Response helpers for handlers (resp.c).  They never write past
 * IPMI_DATA_MAX: a write that would overflow sets CC_CANT_RETURN_BYTES and
 * empties the data; once rs->cc is not CC_OK they append nothing. */
void resp_u8(struct ipmi_resp *rs, uint8_t v);
void resp_u16(struct ipmi_resp *rs, uint16_t v); /* little-endian */
void resp_u32(struct ipmi_resp *rs, uint32_t v); /* little-endian */
void resp_bytes(struct ipmi_resp *rs, const void *p, size_t n);
/* Request length check: false (and CC_REQ_LEN_INVALID set) unless
 * min <= rq->len <= max. */
bool req_len_ok(const struct ipmi_req *rq, struct ipmi_resp *rs, size_t min, size_t max);

/* Asynchronous answers (Chassis Control waits for QMP). */
struct ipmi_async;
struct ipmi_async *ipmi_async_begin(struct ipmi_req *rq, struct ipmi_resp *rs);
void ipmi_async_done(struct ipmi_async *a, uint8_t cc);

/* msg.c: parse one IPMI message (after the session layer), run it, and
 * send the answer through the same session/format.  Returns -EBADMSG on a
 * malformed message (checksums, length), which is dropped. */
int ipmi_msg_input(struct ipmi_ctx *ctx, const uint8_t *msg, size_t len);
/* A request whose session sequence number was seen already: answer it
 * from the cache if we have that answer, else drop it (a replay). */
void ipmi_msg_retransmit(struct ipmi_ctx *ctx, uint32_t seq);
uint64_t ipmi_hash8(const void *p, size_t n);
/* Build the response message bytes (rqAddr ... chk2). */
size_t ipmi_msg_build_resp(const struct ipmi_req *rq, const struct ipmi_resp *rs, uint8_t *out,
			   size_t outsize);

/* Session layers: wrap a response message in the session format of ctx
 * and send it.  Return the datagram length sent (for the cache). */
size_t lan15_send(struct ipmi_ctx *ctx, const uint8_t *msg, size_t len, uint8_t *pkt,
		  size_t pktsize);
size_t lanplus_send(struct ipmi_ctx *ctx, uint8_t ptype, const uint8_t *payload, size_t len,
		    uint8_t *pkt, size_t pktsize);
void ipmi_send_raw(struct ipmi *ipmi, const uint8_t *pkt, size_t len, const struct sockaddr *to,
		   socklen_t tolen);
int lan15_input(struct ipmi *ipmi, const uint8_t *p, size_t len, const struct sockaddr *from,
		socklen_t fromlen);
int lanplus_input(struct ipmi *ipmi, const uint8_t *p, size_t len, const struct sockaddr *from,
		  socklen_t fromlen);

/* Sessions (session.c). */
struct ipmi_session *session_alloc(struct ipmi *ipmi, enum session_kind kind);
struct ipmi_session *session_find(struct ipmi *ipmi, uint32_t bmc_sid);
void session_free(struct ipmi *ipmi, struct ipmi_session *s);
const struct ipmi_user *user_find(const struct ipmi *ipmi, const char *name, size_t len,
				  uint8_t *ret_id);
/* 0 accepted; -EEXIST replay (already seen); -ERANGE outside the window. */
int seq_check(struct seq_window *w, uint32_t seq, unsigned below, unsigned above);
void seq_accept(struct seq_window *w, uint32_t seq);
size_t ipmi_session_count(const struct ipmi *ipmi, size_t *ret_active);

/* Cipher suites we offer (lanplus.c). */
struct cipher_suite {
	uint8_t id, auth, integ, conf;
};
const struct cipher_suite *cipher_suite_find(const struct ipmi *ipmi, uint8_t auth,
					     uint8_t integ, uint8_t conf);
/* Fill Get Channel Cipher Suites record data: returns the byte count. */
size_t cipher_suite_records(const struct ipmi *ipmi, uint8_t *out, size_t size);
/* The ids of the suites we offer, in the order of those records (LAN
 * configuration parameters 22-24): returns the count written, <= size. */
size_t cipher_suite_ids(const struct ipmi *ipmi, uint8_t *out, size_t size);

/* Channel numbers in requests: our LAN channel, or 0Eh "the channel this
 * request came in on" (6.3), which is the same one.  Bits 7:4 are
 * reserved in every command that carries a channel byte. */
static inline bool ipmi_our_channel(uint8_t ch)
{
	ch &= 0x0f;
	return ch == IPMI_CHANNEL_LAN || ch == 0x0e;
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
