/* proto/: framing over a real SOCK_SEQPACKET socketpair, fd passing, and
 * strict payload decoding. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/proto.h"
#include "tap.h"

static struct proto_frame f;

static void test_roundtrip(int sv[2])
{
	struct msg_config c = {.ipmi_port = 623, .redfish_port = 443, .uid = 999, .gid = 998,
			       .prefix = 24, .n_users = 1, .ipmi_max_sessions = 32,
			       .ipmi_session_timeout_s = 60};
	struct msg_config d;

	strcpy(c.node, "boot-0");
	strcpy(c.users[0].name, "admin");
	memcpy(c.users[0].password, "pass\0word", 9); /* any byte, NUL too */
	c.users[0].pwlen = 9;
	c.users[0].role = 3;
	strcpy(c.address, "127.0.10.5");
	CHECK(proto_send_json(sv[0], MSG_CONFIG, msg_config_encode(&c), NULL, 0) == 0);
	CHECK(proto_recv(sv[1], &f) == 0);
	CHECK(f.type == MSG_CONFIG && f.nfds == 0);
	CHECK(msg_config_decode(f.payload, f.len, &d) == 0);
	CHECK(strcmp(d.node, "boot-0") == 0 && strcmp(d.address, "127.0.10.5") == 0);
	CHECK(d.ipmi_port == 623 && d.redfish_port == 443 && d.uid == 999 && d.gid == 998);
	CHECK(d.n_users == 1 && d.users[0].pwlen == 9 && memcmp(d.users[0].password, "pass\0word", 9) == 0);
	CHECK(proto_recv(sv[1], &f) == -EAGAIN);
}

static void test_fd_passing(int sv[2])
{
	int p[2], fd;
	char c = 0;

	CHECK(pipe(p) == 0);
	CHECK(proto_send_json(sv[0], MSG_QMP_FD, msg_empty_encode(), &p[1], 1) == 0);
	CHECK(proto_recv(sv[1], &f) == 0);
	CHECK(f.type == MSG_QMP_FD && f.nfds == 1);
	fd = f.fds[0];
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(write(fd, "x", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'x');
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void test_bad_frames(int sv[2])
{
	struct proto_hdr h = {PROTO_MAGIC, PROTO_VERSION + 1, MSG_READY, 2};
	char raw[sizeof(h) + 2];

	memcpy(raw, &h, sizeof(h));
	memcpy(raw + sizeof(h), "{}", 2);
	CHECK(send(sv[0], raw, sizeof(raw), 0) == (ssize_t)sizeof(raw));
	CHECK(proto_recv(sv[1], &f) == -EBADMSG); /* wrong version */
	h.version = PROTO_VERSION;
	h.len = 5; /* lies about its length */
	memcpy(raw, &h, sizeof(h));
	CHECK(send(sv[0], raw, sizeof(raw), 0) == (ssize_t)sizeof(raw));
	CHECK(proto_recv(sv[1], &f) == -EBADMSG);
	CHECK(send(sv[0], "abc", 3, 0) == 3); /* shorter than a header */
	CHECK(proto_recv(sv[1], &f) == -EBADMSG);
	CHECK(proto_send(sv[0], MSG_READY, "x", PROTO_MAX_PAYLOAD + 1, NULL, 0) == -EMSGSIZE);
}

static void test_strict_decode(void)
{
	struct msg_config c;
	struct msg_power p;
	struct ctl_node n;
	struct ctl_node m = {.pid = 42, .state = NODE_SERVING, .power = POWER_STATE_ON};
	char *s;
#define TAIL ",\"users\":[{\"name\":\"admin\",\"password\":\"7077\",\"role\":4}]," \
	     "\"ipmi\":{\"suite0\":false,\"auth_none\":false,\"straight\":false," \
	     "\"max_sessions\":32,\"session_timeout\":60},\"tls_cert\":\"\",\"tls_key\":\"\"," \
	     "\"boot_devices\":[[\"net0\"],[],[]]}"
	const char *ok = "{\"node\":\"a\",\"address\":\"\",\"prefix\":24,\"ipmi_port\":1,"
			 "\"redfish_port\":2,\"uid\":1,\"gid\":1,\"verbose\":0" TAIL;
	const char *extra = "{\"node\":\"a\",\"address\":\"\",\"prefix\":24,\"ipmi_port\":1,"
			    "\"redfish_port\":2,\"uid\":1,\"gid\":1,\"verbose\":0,\"x\":1" TAIL;
	const char *port0 = "{\"node\":\"a\",\"address\":\"\",\"prefix\":24,\"ipmi_port\":0,"
			    "\"redfish_port\":2,\"uid\":1,\"gid\":1,\"verbose\":0" TAIL;
	const char *nul = "{\"node\":\"a\\u0000b\",\"address\":\"\",\"prefix\":24,"
			  "\"ipmi_port\":1,\"redfish_port\":2,\"uid\":1,\"gid\":1,\"verbose\":0" TAIL;
	const char *badpw = "{\"node\":\"a\",\"address\":\"\",\"prefix\":24,\"ipmi_port\":1,"
			    "\"redfish_port\":2,\"uid\":1,\"gid\":1,\"verbose\":0,"
			    "\"users\":[{\"name\":\"a\",\"password\":\"7g\",\"role\":4}],"
			    "\"ipmi\":{\"suite0\":false,\"auth_none\":false,\"straight\":false,"
			    "\"max_sessions\":32,\"session_timeout\":60},\"tls_cert\":\"\","
			    "\"tls_key\":\"\",\"boot_devices\":[[],[],[]]}";

	CHECK(msg_config_decode(ok, strlen(ok), &c) == 0);
	CHECK(c.n_users == 1 && c.users[0].pwlen == 2 && c.users[0].password[0] == 0x70 &&
	      c.users[0].role == 4 && strcmp(c.users[0].name, "admin") == 0);
	CHECK(msg_config_decode(badpw, strlen(badpw), &c) == -EBADMSG);
	CHECK(msg_config_decode(extra, strlen(extra), &c) == -EBADMSG);
	CHECK(msg_config_decode(port0, strlen(port0), &c) == -EBADMSG);
	CHECK(msg_config_decode(nul, strlen(nul), &c) == -EBADMSG);
	CHECK(msg_config_decode("[]", 2, &c) == -EBADMSG);
	CHECK(msg_config_decode("{", 1, &c) == -EBADMSG);
	CHECK(msg_power_decode("{\"id\":1,\"action\":\"explode\"}", 27, &p) == -EBADMSG);
	CHECK(msg_power_decode("{\"id\":-1,\"action\":\"on\"}", 23, &p) == -EBADMSG);
	CHECK(msg_power_decode("{\"id\":7,\"action\":\"cycle\"}", 25, &p) == 0);
	CHECK(p.id == 7 && p.action == POWER_CYCLE);
	CHECK(msg_empty_decode("{}", 2) == 0 && msg_empty_decode("{\"a\":1}", 7) < 0);
	strcpy(m.name, "n1");
	strcpy(m.address, "::1");
	strcpy(m.last_error, "x");
	s = ctl_node_encode(&m);
	CHECK(ctl_node_decode(s, strlen(s), &n) == 0);
	CHECK(n.pid == 42 && n.state == NODE_SERVING && n.power == POWER_STATE_ON);
	CHECK(strcmp(n.address, "::1") == 0);
	free(s);
}

static void test_names(void)
{
	enum power_action a;

	for (int i = 0; i < POWER_ACTION_COUNT; i++)
		CHECK(power_action_parse(power_action_name((enum power_action)i), &a) == 0 &&
		      (int)a == i);
	CHECK(power_action_parse("ON", &a) < 0);
}

int main(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 1;
	test_roundtrip(sv);
	test_fd_passing(sv);
	test_bad_frames(sv);
	test_strict_decode();
	test_names();
	close(sv[0]);
	close(sv[1]);
	return test_done();
}
