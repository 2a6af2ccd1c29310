/* proto/: framing over a real SOCK_SEQPACKET socketpair, fd passing, and
 * strict payload decoding. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

/* ---- the boot state (MSG_BOOT_STATE / MSG_BOOT_RESTORE / state file) ---- */

static struct msg_boot full_boot(void)
{
	struct msg_boot m;

	memset(&m, 0, sizeof(m));
	m.target = BOOT_PXE;
	m.persistent = 1;
	m.efi = 1;
	memcpy(m.ipmi.flags, "\xe0\x04\x00\x00\x00", 5);
	m.ipmi.partition_selector = 0xff;
	m.ipmi.partition_scan = 3;
	m.ipmi.timer_control = 0x1f;
	m.ipmi.ack_data = 0xa5;
	memcpy(m.ipmi.initiator, "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9);
	for (int i = 0; i < MSG_BOOT_SAVED_DEVS; i++) {
		snprintf(m.devs[i].path, sizeof(m.devs[i].path), "/machine/peripheral/dev%d", i);
		m.devs[i].orig = i == 0 ? -1 : i == 1 ? MSG_BOOTINDEX_MAX : i;
		m.devs[i].current = i == 0 ? MSG_BOOTINDEX_MAX : 100 + i;
	}
	memset(m.devs[2].path, 'a', MSG_BOOT_PATH_MAX); /* the longest path */
	m.devs[2].path[0] = '/';
	m.devs[2].path[MSG_BOOT_PATH_MAX] = '\0';
	m.n_devs = MSG_BOOT_SAVED_DEVS;
	return m;
}

static void test_boot_roundtrip(int sv[2])
{
	struct msg_boot m = full_boot(), d, zero;
	char *s;

	CHECK(proto_send_json(sv[0], MSG_BOOT_STATE, msg_boot_encode(&m), NULL, 0) == 0);
	CHECK(proto_recv(sv[1], &f) == 0 && f.type == MSG_BOOT_STATE);
	CHECK(f.len < PROTO_MAX_PAYLOAD);
	CHECK(msg_boot_decode(f.payload, f.len, &d) == 0);
	CHECK(memcmp(&m, &d, sizeof(m)) == 0);
	/* once, legacy; and the empty state a worker without history gets */
	m.persistent = 0;
	m.efi = 0;
	m.n_devs = 3;
	memset(&m.devs[3], 0, sizeof(m.devs) - 3 * sizeof(m.devs[0]));
	s = msg_boot_encode(&m);
	CHECK(s && strstr(s, "\"enabled\":\"once\"") && strstr(s, "\"mode\":\"legacy\""));
	CHECK(msg_boot_decode(s, strlen(s), &d) == 0 && memcmp(&m, &d, sizeof(m)) == 0);
	free(s);
	memset(&zero, 0, sizeof(zero));
	s = msg_boot_encode(&zero);
	CHECK(s && strcmp(s, "{\"target\":\"none\",\"enabled\":\"disabled\",\"mode\":\"legacy\","
			     "\"ipmi\":{\"flags\":\"0000000000\",\"partition\":0,\"scan\":0,"
			     "\"timer\":0,\"ack\":0,\"initiator\":\"000000000000000000\"},"
			     "\"devices\":[]}") == 0);
	CHECK(msg_boot_decode(s, strlen(s), &d) == 0 && memcmp(&zero, &d, sizeof(d)) == 0);
	free(s);
	/* "disabled" carries no once/continuous */
	zero.persistent = 1;
	s = msg_boot_encode(&zero);
	CHECK(msg_boot_decode(s, strlen(s), &d) == 0 && d.persistent == 0);
	free(s);
}

#define B_IPMI "{\"flags\":\"e004000000\",\"partition\":0,\"scan\":0,\"timer\":0,\"ack\":0," \
	       "\"initiator\":\"000000000000000000\"}"
#define B_DEV "{\"path\":\"/machine/peripheral/net0\",\"bootindex\":2,\"current\":1}"

/* One boot state with the given pieces; the others valid. */
static int boot_decode(const char *target, const char *enabled, const char *mode,
		       const char *ipmi, const char *devices, const char *extra)
{
	char json[8192];
	struct msg_boot m;

	snprintf(json, sizeof(json),
		 "{\"target\":%s,\"enabled\":%s,\"mode\":%s,\"ipmi\":%s,\"devices\":%s%s}",
		 target, enabled, mode, ipmi, devices, extra);
	return msg_boot_decode(json, strlen(json), &m);
}

static int boot_ipmi(const char *ipmi)
{
	return boot_decode("\"pxe\"", "\"once\"", "\"uefi\"", ipmi, "[]", "");
}

static int boot_devs(const char *devs)
{
	return boot_decode("\"pxe\"", "\"once\"", "\"uefi\"", B_IPMI, devs, "");
}

static int boot_dev(const char *path, const char *orig, const char *cur)
{
	char devs[1024];

	snprintf(devs, sizeof(devs), "[{\"path\":%s,\"bootindex\":%s,\"current\":%s}]", path,
		 orig, cur);
	return boot_devs(devs);
}

static void test_boot_override_hostile(void)
{
	CHECK(boot_decode("\"pxe\"", "\"continuous\"", "\"uefi\"", B_IPMI, "[" B_DEV "]", "") ==
	      0);
	CHECK(boot_decode("\"none\"", "\"disabled\"", "\"legacy\"", B_IPMI, "[]", "") == 0);
	CHECK(boot_decode("\"pxe\"", "\"once\"", "\"uefi\"", B_IPMI, "[]", ",\"x\":1") < 0);
	CHECK(msg_boot_decode("{\"target\":\"pxe\"}", 15, &(struct msg_boot){0}) < 0);
	CHECK(msg_boot_decode("[]", 2, &(struct msg_boot){0}) < 0);
	/* the override must agree with itself */
	CHECK(boot_decode("\"none\"", "\"once\"", "\"uefi\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("\"disk\"", "\"disabled\"", "\"uefi\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("\"floppy\"", "\"once\"", "\"uefi\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("\"PXE\"", "\"once\"", "\"uefi\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("\"pxe\\u0000\"", "\"once\"", "\"uefi\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("\"pxe\"", "\"always\"", "\"uefi\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("\"pxe\"", "\"once\"", "\"bios\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("1", "\"once\"", "\"uefi\"", B_IPMI, "[]", "") < 0);
	CHECK(boot_decode("\"pxe\"", "true", "\"uefi\"", B_IPMI, "[]", "") < 0);
}

static void test_boot_ipmi_hostile(void)
{
	CHECK(boot_ipmi(B_IPMI) == 0);
	CHECK(boot_ipmi("{\"flags\":\"e0040000\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"000000000000000000\"}") < 0); /* 4 bytes */
	CHECK(boot_ipmi("{\"flags\":\"e00400000000\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"000000000000000000\"}") < 0); /* 6 bytes */
	CHECK(boot_ipmi("{\"flags\":\"E004000000\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"000000000000000000\"}") < 0);
	CHECK(boot_ipmi("{\"flags\":\"e00400000g\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"000000000000000000\"}") < 0);
	CHECK(boot_ipmi("{\"flags\":\"e004000000\",\"partition\":0,\"scan\":4,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"000000000000000000\"}") < 0);
	CHECK(boot_ipmi("{\"flags\":\"e004000000\",\"partition\":0,\"scan\":0,\"timer\":32,"
			"\"ack\":0,\"initiator\":\"000000000000000000\"}") < 0);
	CHECK(boot_ipmi("{\"flags\":\"e004000000\",\"partition\":256,\"scan\":0,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"000000000000000000\"}") < 0);
	CHECK(boot_ipmi("{\"flags\":\"e004000000\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":-1,\"initiator\":\"000000000000000000\"}") < 0);
	CHECK(boot_ipmi("{\"flags\":\"e004000000\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"00000000000000000\"}") < 0); /* odd */
	CHECK(boot_ipmi("{\"flags\":\"e004000000\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":0}") < 0);
	CHECK(boot_ipmi("{\"flags\":\"e004000000\",\"partition\":0,\"scan\":0,\"timer\":0,"
			"\"ack\":0,\"initiator\":\"000000000000000000\",\"lock\":1}") < 0);
	CHECK(boot_ipmi("\"e004000000\"") < 0);
}

static void test_boot_devices_hostile(void)
{
	char path[MSG_BOOT_PATH_MAX + 8], devs[20 * 80];
	size_t o = 0;

	CHECK(boot_dev("\"/machine/peripheral-anon/device[3]\"", "-1", "0") == 0);
	CHECK(boot_dev("\"\"", "1", "1") < 0);
	CHECK(boot_dev("\"machine/peripheral/net0\"", "1", "1") < 0);
	CHECK(boot_dev("\"/machine/peripheral/net 0\"", "1", "1") < 0);
	CHECK(boot_dev("\"/machine/peripheral/net\\u0001\"", "1", "1") < 0);
	CHECK(boot_dev("\"/machine/peripheral/n\\u0000\"", "1", "1") < 0);
	CHECK(boot_dev("\"/machine/peripheral/n\\u00e9\"", "1", "1") < 0);
	CHECK(boot_dev("\"/a\"", "-2", "1") < 0);
	CHECK(boot_dev("\"/a\"", "1", "-2") < 0);
	CHECK(boot_dev("\"/a\"", "65536", "1") < 0);
	CHECK(boot_dev("\"/a\"", "1", "4294967297") < 0);
	CHECK(boot_dev("\"/a\"", "1.5", "1") < 0);
	CHECK(boot_dev("\"/a\"", "\"1\"", "1") < 0);
	CHECK(boot_dev("\"/a\"", "null", "1") < 0);
	CHECK(boot_dev("1", "1", "1") < 0);
	/* a path of MSG_BOOT_PATH_MAX characters fits, one more does not */
	memset(path, 'p', sizeof(path));
	path[0] = '"';
	path[1] = '/';
	path[MSG_BOOT_PATH_MAX + 1] = '"';
	path[MSG_BOOT_PATH_MAX + 2] = '\0';
	CHECK(boot_dev(path, "1", "1") == 0);
	path[MSG_BOOT_PATH_MAX + 1] = 'p';
	path[MSG_BOOT_PATH_MAX + 2] = '"';
	path[MSG_BOOT_PATH_MAX + 3] = '\0';
	CHECK(boot_dev(path, "1", "1") < 0);
	CHECK(boot_devs("[" B_DEV "," B_DEV "]") < 0); /* one entry per path */
	CHECK(boot_devs("{}") < 0);
	CHECK(boot_devs("[[]]") < 0);
	CHECK(boot_devs("[{\"path\":\"/a\",\"bootindex\":1}]") < 0);
	CHECK(boot_devs("[{\"path\":\"/a\",\"bootindex\":1,\"current\":1,\"x\":0}]") < 0);
	/* MSG_BOOT_SAVED_DEVS entries fit, one more does not */
	devs[o++] = '[';
	for (int i = 0; i <= MSG_BOOT_SAVED_DEVS; i++) {
		if (i == MSG_BOOT_SAVED_DEVS) {
			devs[o - 1] = ']';
			devs[o] = '\0';
			CHECK(boot_devs(devs) == 0);
		}
		o += (size_t)snprintf(devs + o, sizeof(devs) - o,
				      "{\"path\":\"/d%d\",\"bootindex\":%d,\"current\":%d},", i,
				      i, i);
	}
	devs[o - 1] = ']';
	CHECK(boot_devs(devs) < 0);
}

static void test_boot_paths(void)
{
	CHECK(msg_boot_path_ok("/machine/peripheral/net0"));
	CHECK(!msg_boot_path_ok(""));
	CHECK(!msg_boot_path_ok("net0"));
	CHECK(!msg_boot_path_ok("/a b"));
	CHECK(!msg_boot_path_ok("/a\x7f"));
}

static void test_names(void)
{
	enum power_action a;
	enum boot_target t;

	for (int i = 0; i < POWER_ACTION_COUNT; i++)
		CHECK(power_action_parse(power_action_name((enum power_action)i), &a) == 0 &&
		      (int)a == i);
	CHECK(power_action_parse("ON", &a) < 0);
	for (int i = 0; i < BOOT_TARGET_COUNT; i++)
		CHECK(boot_target_parse(boot_target_name((enum boot_target)i), &t) == 0 &&
		      (int)t == i);
	CHECK(boot_target_parse("?", &t) < 0);
	CHECK(strcmp(boot_target_name(BOOT_TARGET_COUNT), "?") == 0);
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
	test_boot_roundtrip(sv);
	test_boot_override_hostile();
	test_boot_ipmi_hostile();
	test_boot_devices_hostile();
	test_boot_paths();
	test_names();
	close(sv[0]);
	close(sv[1]);
	return test_done();
}
