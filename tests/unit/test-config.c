/* Unit tests for common/config.c.  Password files live in a private
 * directory under /tmp, removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "tap.h"

static char tmpdir[] = "/tmp/vbmc-test-config-XXXXXX";
static char cfgname[PATH_MAX]; /* tmpdir/vbmc.yml: relative paths resolve to tmpdir */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void put_file(const char *name, const char *data, size_t len, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		die(path);
	close(fd);
}

static void put_password(const char *name, const char *data, mode_t mode)
{
	put_file(name, data, strlen(data), mode);
}

/* Parses text as tmpdir/vbmc.yml; returns the result, errors in *errs. */
static int parse(const char *text, struct config **c, char **errs)
{
	return config_parse(cfgname, text, strlen(text), c, errs);
}

/* Expects text to fail with one line "CFG:LINE:COL: KEY: MSG...". */
static int has_error_at(const char *errs, int line, int col, const char *key, const char *msg)
{
	char want[PATH_MAX + 512];

	if (!errs)
		return 0;
	snprintf(want, sizeof(want), "%s:%d:%d: %s: %s", cfgname, line, col, key, msg);
	for (const char *p = errs; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, want, strlen(want)) == 0)
			return 1;
	fprintf(stderr, "wanted: %s\ngot:\n%s", want, errs);
	return 0;
}

static int has_error(const char *errs, const char *needle)
{
	if (errs && strstr(errs, needle))
		return 1;
	fprintf(stderr, "wanted '%s' in:\n%s", needle, errs ? errs : "(none)\n");
	return 0;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* Parses text that must fail; returns the error text (caller frees). */
static char *parse_fail(const char *text)
{
	struct config *c = (struct config *)1;
	char *errs = NULL;
	int r = parse(text, &c, &errs);

	if (r == 0) {
		fprintf(stderr, "unexpectedly accepted:\n%s", text);
		config_free(c);
		c = NULL;
	}
	CHECK(r == -EINVAL);
	CHECK(c == NULL);
	CHECK(errs != NULL);
	return errs;
}

#define NODE0	"nodes:\n  - {name: boot-0, qmp: /r/b0.qmp, announce: /r/b0.guest}\n"
#define MINIMAL "networks: [10.0.0.0/24]\n" NODE0

/* ---- defaults and good input ------------------------------------------- */

static void test_defaults(void)
{
	struct config *c = NULL;
	char *errs = (char *)1;

	CHECK(parse(MINIMAL, &c, &errs) == 0);
	CHECK(errs == NULL);
	if (!c)
		return;
	CHECK(strcmp(c->path, cfgname) == 0);
	CHECK(c->n_networks == 1 && c->networks[0].prefix == 24);
	CHECK(c->interface == NULL);
	CHECK(c->ipmi_port == 623);
	CHECK(c->redfish_port == 443);
	CHECK(strcmp(c->state_dir, "/var/lib/vbmc") == 0);
	CHECK(strcmp(c->run_dir, "/run/vbmc") == 0);
	CHECK(strcmp(c->user, "vbmc") == 0);
	CHECK(c->n_users == 0 && c->users == NULL);
	CHECK(c->tls_cert == NULL && c->tls_key == NULL);
	CHECK(c->n_nodes == 1);
	CHECK(strcmp(c->nodes[0].name, "boot-0") == 0);
	CHECK(strcmp(c->nodes[0].qmp, "/r/b0.qmp") == 0);
	CHECK(strcmp(c->nodes[0].announce, "/r/b0.guest") == 0);
	config_free(c);

	/* One port given: the other keeps its default; nulls mean "not set". */
	CHECK(parse(MINIMAL "ports: {redfish: 8443}\ninterface: ~\ntls: null\nusers:\n", &c,
		    &errs) == 0);
	if (c) {
		CHECK(c->ipmi_port == 623 && c->redfish_port == 8443);
		CHECK(c->interface == NULL && c->tls_cert == NULL && c->n_users == 0);
	}
	config_free(c);
}

static const char full_text[] =
    "# every key\n"
    "networks:\n"
    "  - 10.0.0.0/24\n"
    "  - 2001:db8::/64\n"
    "interface: bmc\n"
    "ports: {ipmi: 1623, redfish: 8443}\n"
    "state-dir: /var/lib//vbmc/./x/..\n"
    "run-dir: /run/vbmc-test/\n"
    "user: vbmc-worker\n"
    "users:\n"
    "  - {name: admin, password-file: admin.pass, role: administrator}\n"
    "  - name: op\n"
    "    password-file: sub/../op.pass\n"
    "    role: operator\n"
    "  - {name: ro, password-file: \"%s/ro.pass\", role: readonly}\n"
    "tls: {cert: tls/cert.pem, key: /etc/vbmc/tls.key}\n"
    "nodes:\n"
    "  - name: boot-0\n"
    "    qmp: /run/placemat/boot-0.qmp\n"
    "    announce: /run/placemat/boot-0.guest\n"
    "  - name: rack0.cs_1\n"
    "    qmp: sockets/cs1.qmp\n"
    "    announce: ./sockets//cs1.guest\n";

static struct config *parse_full(void)
{
	char text[4096];
	struct config *c = NULL;
	char *errs = NULL;

	put_password("admin.pass", "s3cret\n", 0600);
	put_password("op.pass", "operator-pw\r\n", 0400);
	put_password("ro.pass", "12345678901234567890", 0600);
	snprintf(text, sizeof(text), full_text, tmpdir);
	CHECK(parse(text, &c, &errs) == 0);
	if (errs)
		fprintf(stderr, "%s", errs);
	free(errs);
	return c;
}

static int str_is(const char *got, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int str_is(const char *got, const char *fmt, ...)
{
	char want[PATH_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (got && strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "got '%s', wanted '%s'\n", got ? got : "(null)", want);
	return 0;
}

static void test_full(void)
{
	struct config *c = parse_full();
	char buf[NET_ADDRSTRLEN + 4];

	if (!c)
		return;
	CHECK(c->n_networks == 2);
	CHECK(strcmp(net_cidr_str(&c->networks[1], buf), "2001:db8::/64") == 0);
	CHECK(str_is(c->interface, "bmc"));
	CHECK(c->ipmi_port == 1623 && c->redfish_port == 8443);
	CHECK(str_is(c->state_dir, "/var/lib/vbmc"));
	CHECK(str_is(c->run_dir, "/run/vbmc-test"));
	CHECK(str_is(c->user, "vbmc-worker"));
	CHECK(c->n_users == 3);
	if (c->n_users == 3) {
		CHECK(str_is(c->users[0].name, "admin"));
		CHECK(str_is(c->users[0].password_file, "%s/admin.pass", tmpdir));
		CHECK(str_is(c->users[0].password, "s3cret"));
		CHECK(c->users[0].role == ROLE_ADMINISTRATOR);
		CHECK(str_is(c->users[1].password_file, "%s/op.pass", tmpdir));
		CHECK(str_is(c->users[1].password, "operator-pw"));
		CHECK(c->users[1].role == ROLE_OPERATOR);
		CHECK(str_is(c->users[2].password, "12345678901234567890"));
		CHECK(c->users[2].role == ROLE_READONLY);
	}
	CHECK(str_is(c->tls_cert, "%s/tls/cert.pem", tmpdir));
	CHECK(str_is(c->tls_key, "/etc/vbmc/tls.key"));
	CHECK(c->n_nodes == 2);
	if (c->n_nodes == 2) {
		CHECK(str_is(c->nodes[1].name, "rack0.cs_1"));
		CHECK(str_is(c->nodes[1].qmp, "%s/sockets/cs1.qmp", tmpdir));
		CHECK(str_is(c->nodes[1].announce, "%s/sockets/cs1.guest", tmpdir));
	}
	CHECK(config_find_node(c, "rack0.cs_1") == &c->nodes[1]);
	CHECK(config_find_node(c, "boot-0") == &c->nodes[0]);
	CHECK(config_find_node(c, "boot") == NULL);
	CHECK(config_find_node(NULL, "boot-0") == NULL);
	config_free(c);
}

static void test_role_name(void)
{
	CHECK(strcmp(role_name(ROLE_ADMINISTRATOR), "administrator") == 0);
	CHECK(strcmp(role_name(ROLE_OPERATOR), "operator") == 0);
	CHECK(strcmp(role_name(ROLE_READONLY), "readonly") == 0);
	CHECK(role_name((enum role)0) != NULL);
	config_free(NULL);
}

/* ---- round trip -------------------------------------------------------- */

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_config(const struct config *a, const struct config *b)
{
	int ok = a->n_networks == b->n_networks && same_str(a->interface, b->interface) &&
		 a->ipmi_port == b->ipmi_port && a->redfish_port == b->redfish_port &&
		 same_str(a->state_dir, b->state_dir) && same_str(a->run_dir, b->run_dir) &&
		 same_str(a->user, b->user) && a->n_users == b->n_users &&
		 same_str(a->tls_cert, b->tls_cert) && same_str(a->tls_key, b->tls_key) &&
		 a->n_nodes == b->n_nodes;

	for (size_t i = 0; ok && i < a->n_networks; i++)
		ok = net_addr_equal(&a->networks[i].addr, &b->networks[i].addr) &&
		     a->networks[i].prefix == b->networks[i].prefix;
	for (size_t i = 0; ok && i < a->n_users; i++)
		ok = same_str(a->users[i].name, b->users[i].name) &&
		     same_str(a->users[i].password_file, b->users[i].password_file) &&
		     same_str(a->users[i].password, b->users[i].password) &&
		     a->users[i].role == b->users[i].role;
	for (size_t i = 0; ok && i < a->n_nodes; i++)
		ok = same_str(a->nodes[i].name, b->nodes[i].name) &&
		     same_str(a->nodes[i].qmp, b->nodes[i].qmp) &&
		     same_str(a->nodes[i].announce, b->nodes[i].announce);
	return ok;
}

static char *print_config(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		die("open_memstream");
	config_print(c, f);
	fclose(f);
	return text;
}

static void round_trip(const struct config *c)
{
	char *text = print_config(c), *again, *errs = NULL;
	struct config *c2 = NULL;

	/* Parsed under another name: the printed paths are all absolute. */
	CHECK(config_parse("/nonexistent/elsewhere.yml", text, strlen(text), &c2, &errs) == 0);
	if (errs)
		fprintf(stderr, "%s\n---\n%s", text, errs);
	free(errs);
	if (c2) {
		CHECK(same_config(c, c2));
		again = print_config(c2);
		CHECK(strcmp(text, again) == 0);
		free(again);
	}
	config_free(c2);
	free(text);
}

static void test_round_trip(void)
{
	struct config *c = parse_full();
	char *errs = NULL, *text;

	if (c) {
		text = print_config(c);
		CHECK(strstr(text, "s3cret") == NULL);
		CHECK(strstr(text, "operator-pw") == NULL);
		CHECK(strstr(text, "password-file: ") != NULL);
		CHECK(strstr(text, "role: operator\n") != NULL);
		free(text);
		round_trip(c);
	}
	config_free(c);

	/* Defaults spelled out. */
	c = NULL;
	CHECK(parse(MINIMAL, &c, &errs) == 0);
	if (c) {
		text = print_config(c);
		CHECK(strstr(text, "  ipmi: 623\n  redfish: 443\n") != NULL);
		CHECK(strstr(text, "state-dir: \"/var/lib/vbmc\"\n") != NULL);
		CHECK(strstr(text, "run-dir: \"/run/vbmc\"\n") != NULL);
		CHECK(strstr(text, "user: \"vbmc\"\n") != NULL);
		CHECK(strstr(text, "interface: null\n") != NULL);
		CHECK(strstr(text, "tls: null\n") != NULL);
		CHECK(strstr(text, "users: []\n") != NULL);
		free(text);
		round_trip(c);
	}
	config_free(c);

	/* Strings that need quoting survive. */
	c = NULL;
	CHECK(parse("networks: ['::/0']\nnodes:\n"
		    "  - {name: n, qmp: '/r/a \"b\" \\c #d: e',\n"
		    "     announce: \"/r/\\x01\\t\\x85\\x80\\u2028\\ufeff\xc3\xa4\\U0001F600\"}\n",
		    &c, &errs) == 0);
	free(errs);
	if (c) {
		CHECK(str_is(c->nodes[0].qmp, "/r/a \"b\" \\c #d: e"));
		CHECK(str_is(c->nodes[0].announce, "/r/\x01\t\xc2\x85\xc2\x80\xe2\x80\xa8"
						   "\xef\xbb\xbf\xc3\xa4\xf0\x9f\x98\x80"));
		round_trip(c);
	}
	config_free(c);
}

/* ---- passwords --------------------------------------------------------- */

static char *user_config(const char *file)
{
	static char text[1024];

	snprintf(text, sizeof(text),
		 MINIMAL "users:\n  - {name: u, password-file: %s, role: readonly}\n", file);
	return text;
}

static void test_password_ok(const char *content, const char *want)
{
	struct config *c = NULL;
	char *errs = NULL;

	put_password("pw", content, 0600);
	CHECK(parse(user_config("pw"), &c, &errs) == 0);
	free(errs);
	if (c && c->n_users == 1)
		CHECK(str_is(c->users[0].password, "%s", want));
	config_free(c);
}

static void test_password_bad(const char *content, mode_t mode, const char *msg)
{
	char *errs;

	put_password("pw", content, mode);
	errs = parse_fail(user_config("pw"));
	/* users[0].password-file value: line 5 (after MINIMAL and "users:"), column 30. */
	CHECK(has_error_at(errs, 5, 30, "users[0].password-file", msg));
	CHECK(count_lines(errs) == 1);
	/* Whatever is wrong with it, the password is not shown. */
	CHECK(strlen(content) < 4 || strstr(errs, "secret") == NULL);
	CHECK(strstr(errs, "12345678901234567890") == NULL);
	free(errs);
}

static void test_passwords(void)
{
	char path[PATH_MAX + 8], *errs;

	test_password_ok("pw\n", "pw");
	test_password_ok("pw\r\n", "pw");
	test_password_ok("pw", "pw");
	test_password_ok("pw\n\n", "pw\n"); /* only one newline is stripped */
	test_password_ok("with space ", "with space ");
	test_password_ok("12345678901234567890\r\n", "12345678901234567890");

	test_password_bad("secret\n", 0644, "password file ");
	put_password("pw", "x", 0644);
	errs = parse_fail(user_config("pw"));
	CHECK(has_error(errs, "accessible by group or others (mode 0644)"));
	free(errs);
	test_password_bad("secret\n", 0640, "password file ");
	test_password_bad("secret\n", 0602, "password file ");
	test_password_bad("", 0600, "password in ");
	test_password_bad("\n", 0600, "password in ");
	test_password_bad("\r\n", 0600, "password in ");
	test_password_bad("123456789012345678901", 0600, "password in ");
	test_password_bad("123456789012345678901\n", 0600, "password in ");
	test_password_bad("12345678901234567890\n\n", 0600, "password in ");
	put_file("pw", "ab\0cd", 5, 0600);
	errs = parse_fail(user_config("pw"));
	CHECK(has_error(errs, "contains a NUL byte"));
	free(errs);
	put_password("pw", "", 0600);
	errs = parse_fail(user_config("pw"));
	CHECK(has_error(errs, "is empty"));
	free(errs);
	put_password("pw", "123456789012345678901", 0600);
	errs = parse_fail(user_config("pw"));
	CHECK(has_error(errs, "longer than 20 bytes"));
	free(errs);

	errs = parse_fail(user_config("missing.pass"));
	snprintf(path, sizeof(path), "%s/missing.pass: No such file", tmpdir);
	CHECK(has_error(errs, path));
	free(errs);
	errs = parse_fail(user_config("/dev/null"));
	CHECK(has_error(errs, "/dev/null is not a regular file"));
	free(errs);
	errs = parse_fail(user_config("."));
	CHECK(has_error(errs, "is not a regular file"));
	free(errs);
}

/* ---- error rules ------------------------------------------------------- */

/* Fails with exactly one error line containing key and msg at line:col. */
static void one_error(const char *text, int line, int col, const char *key, const char *msg)
{
	char *errs = parse_fail(text);

	CHECK(has_error_at(errs, line, col, key, msg));
	if (errs && count_lines(errs) != 1)
		fprintf(stderr, "for:\n%s\nmore than one error:\n%s", text, errs);
	CHECK(count_lines(errs) == 1);
	free(errs);
}

static void test_structure_errors(void)
{
	one_error(MINIMAL "colour: blue\n", 4, 1, "colour", "unknown key");
	one_error(MINIMAL "ports: {ipmi: 623, http: 80}\n", 4, 20, "ports.http", "unknown key");
	one_error("networks: [10.0.0.0/24]\n"
		  "nodes:\n  - {name: a, qmp: /a, announce: /b, extra: 1}\n",
		  3, 38, "nodes[0].extra", "unknown key");
	one_error(MINIMAL "user: a\nuser: b\n", 5, 1, "user", "duplicate key (first at 4:1)");
	one_error(MINIMAL "ports: {ipmi: 1, ipmi: 2}\n", 4, 18, "ports.ipmi", "duplicate key");
	one_error(MINIMAL "ports: 623\n", 4, 8, "ports", "expected a mapping, found a scalar");
	one_error(MINIMAL "ports: [623]\n", 4, 8, "ports", "expected a mapping, found a sequence");
	one_error(MINIMAL "user: {name: x}\n", 4, 7, "user", "expected a scalar, found a mapping");
	one_error("networks: 10.0.0.0/24\n" NODE0, 1, 11, "networks", "expected a sequence");
	one_error("networks: [10.0.0.0/24]\nnodes: {name: a}\n", 2, 8, "nodes",
		  "expected a sequence, found a mapping");
	one_error("networks: [10.0.0.0/24]\nnodes: [a]\n", 2, 9, "nodes[0]",
		  "expected a mapping, found a scalar");
	one_error(MINIMAL "[a]: 1\n", 4, 1, "(top)", "keys must be scalars");
	one_error(MINIMAL "user:\n", 4, 6, "user", "a value is required");
	one_error(MINIMAL "user: ''\n", 4, 7, "user", "must not be empty");
	one_error(MINIMAL "user: \"a\\0b\"\n", 4, 7, "user", "contains a NUL byte");
	one_error("- 1\n", 1, 1, "(top)", "expected a mapping, found a sequence");
	one_error("just text\n", 1, 1, "(top)", "expected a mapping, found a scalar");
}

static void test_required(void)
{
	char *errs;

	one_error(NODE0, 1, 1, "networks", "required key is missing");
	one_error("networks: [10.0.0.0/24]\n", 1, 1, "nodes", "required key is missing");
	one_error("networks: []\n" NODE0, 1, 11, "networks", "at least one network");
	one_error("networks: [10.0.0.0/24]\nnodes: []\n", 2, 8, "nodes", "at least one node");
	one_error("networks: [10.0.0.0/24]\nnodes:\n  - {name: a, qmp: /q}\n", 3, 5,
		  "nodes[0].announce", "required key is missing");
	one_error(MINIMAL "users: [{name: a, role: operator}]\n", 4, 9, "users[0].password-file",
		  "required key is missing");

	errs = parse_fail("");
	CHECK(has_error_at(errs, 1, 1, "networks", "required key is missing"));
	CHECK(has_error_at(errs, 1, 1, "nodes", "required key is missing"));
	CHECK(count_lines(errs) == 2);
	free(errs);
	errs = parse_fail("---\n...\n");
	CHECK(count_lines(errs) == 2);
	free(errs);
}

static void test_numbers(void)
{
	static const char *const bad[] = {"0x26f",   "+623", "-1",	   "6.23", "0623",  "'623'",
					  "\"443\"", "1e3",  "623 # fine", "62 3", "0o1157"};
	char text[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *errs;

		snprintf(text, sizeof(text), MINIMAL "ports:\n  ipmi: %s\n", bad[i]);
		if (strcmp(bad[i], "623 # fine") == 0) {
			struct config *c = NULL;

			CHECK(parse(text, &c, &errs) == 0);
			config_free(c);
			continue;
		}
		errs = parse_fail(text);
		CHECK(has_error_at(errs, 5, 9, "ports.ipmi", "'"));
		CHECK(has_error(errs, "is not a decimal number"));
		free(errs);
	}
	one_error(MINIMAL "ports: {ipmi: 0}\n", 4, 15, "ports.ipmi", "out of range (1..65535)");
	one_error(MINIMAL "ports: {redfish: 65536}\n", 4, 18, "ports.redfish", "out of range");
	one_error(MINIMAL "ports: {redfish: 99999999999999999999999999999}\n", 4, 18,
		  "ports.redfish", "out of range");
	one_error(MINIMAL "ports: {redfish: }\n", 4, 18, "ports.redfish", "'' is not a decimal");
}

static void test_networks(void)
{
	one_error("networks: [10.0.0.1/24]\n" NODE0, 1, 12, "networks[0]", "host bits are set");
	one_error("networks: [10.0.0.0/24, 10.0.0.0/33]\n" NODE0, 1, 25, "networks[1]",
		  "prefix length too large");
	one_error("networks: [10.0.0.0]\n" NODE0, 1, 12, "networks[0]",
		  "'10.0.0.0' is not a network");
	one_error("networks: ['fe80::/64%eth0']\n" NODE0, 1, 12, "networks[0]", "'fe80");
	one_error("networks: ['::ffff:10.0.0.0/120']\n" NODE0, 1, 12, "networks[0]",
		  "IPv4-mapped IPv6 is not allowed");
	one_error("networks: [[10.0.0.0/24]]\n" NODE0, 1, 12, "networks[0]",
		  "expected a scalar, found a sequence");
	one_error("networks: [\"10.0.0.0/24\\n\"]\n" NODE0, 1, 12, "networks[0]",
		  "'10.0.0.0/24\\x0a' is not a network");
}

static void test_strings(void)
{
	char text[1024], name[80];

	one_error(MINIMAL "interface: eth0/1\n", 4, 12, "interface",
		  "'eth0/1' is not an interface");
	one_error(MINIMAL "interface: 'a b'\n", 4, 12, "interface", "'a b' is not an interface");
	one_error(MINIMAL "interface: '..'\n", 4, 12, "interface", "'..' is not an interface");
	one_error(MINIMAL "interface: abcdefghijklmnop\n", 4, 12, "interface",
		  "'abcdefghijklmnop'");
	one_error(MINIMAL "state-dir: var/lib\n", 4, 12, "state-dir", "must be an absolute path");
	one_error(MINIMAL "run-dir: run\n", 4, 10, "run-dir", "must be an absolute path");
	snprintf(text, sizeof(text), MINIMAL "run-dir: /%0100d\n", 0);
	one_error(text, 4, 10, "run-dir", "too long for control.sock");
	one_error(MINIMAL "user: -x\n", 4, 7, "user", "'-x' is not a valid user name");
	one_error(MINIMAL "user: a/b\n", 4, 7, "user", "'a/b' is not a valid user name");
	one_error(MINIMAL "tls: {cert: /c}\n", 4, 6, "tls", "cert and key must be given together");
	one_error(MINIMAL "tls: {key: /k}\n", 4, 6, "tls", "cert and key must be given together");
	one_error(MINIMAL "tls: /c\n", 4, 6, "tls", "expected a mapping");

	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text),
		 "networks: [10.0.0.0/24]\nnodes:\n"
		 "  - {name: %s, qmp: /q, announce: /a}\n",
		 name);
	one_error(text, 3, 12, "nodes[0].name", "too long (at most 63 bytes)");
}

static void test_nodes(void)
{
	char text[1024], *errs;
	struct config *c = NULL;

	/* 63 characters is the most a name may have. */
	snprintf(text, sizeof(text),
		 "networks: [10.0.0.0/24]\nnodes:\n"
		 "  - {name: %.63s, qmp: /q, announce: /a}\n",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	CHECK(parse(text, &c, &errs) == 0);
	config_free(c);

	one_error("networks: [10.0.0.0/24]\nnodes:\n  - {name: 'a b', qmp: /q, announce: /a}\n", 3,
		  12, "nodes[0].name", "'a b' is not a node name");
	one_error("networks: [10.0.0.0/24]\nnodes:\n  - {name: .x, qmp: /q, announce: /a}\n", 3, 12,
		  "nodes[0].name", "'.x' is not a node name");
	one_error(
	    "networks: [10.0.0.0/24]\nnodes:\n  - {name: b\xc3\xa4r, qmp: /q, announce: /a}\n", 3,
	    12, "nodes[0].name", "'b\\xc3\\xa4r' is not a node name");
	one_error("networks: [10.0.0.0/24]\nnodes:\n"
		  "  - {name: a, qmp: /q0, announce: /a0}\n"
		  "  - {name: b, qmp: /q1, announce: /a1}\n"
		  "  - {name: a, qmp: /q2, announce: /a2}\n",
		  5, 12, "nodes[2].name", "duplicate node name 'a' (also nodes[0])");
	one_error("networks: [10.0.0.0/24]\nnodes:\n"
		  "  - {name: a, qmp: /q0, announce: /a0}\n"
		  "  - {name: b, qmp: /x/../q0, announce: /a1}\n",
		  4, 20, "nodes[1].qmp", "/q0 is already used by nodes[0].qmp");
	one_error("networks: [10.0.0.0/24]\nnodes:\n"
		  "  - {name: a, qmp: /q0, announce: /a0}\n"
		  "  - {name: b, qmp: /q1, announce: //a0}\n",
		  4, 35, "nodes[1].announce", "/a0 is already used by nodes[0].announce");
	one_error("networks: [10.0.0.0/24]\nnodes:\n"
		  "  - {name: a, qmp: /q0, announce: /q0}\n",
		  3, 35, "nodes[0].announce", "/q0 is already used by nodes[0].qmp");
	snprintf(text, sizeof(text),
		 "networks: [10.0.0.0/24]\nnodes:\n"
		 "  - {name: a, qmp: /%0110d, announce: /a}\n",
		 0);
	one_error(text, 3, 20, "nodes[0].qmp", "/000");
	errs = parse_fail(text);
	CHECK(has_error(errs, "is too long for a unix socket (at most 107 bytes)"));
	free(errs);

	/* Relative socket paths resolve against the config's directory, even
	 * when the config file was named relative to the current directory. */
	CHECK(chdir(tmpdir) == 0);
	snprintf(text, sizeof(text),
		 "networks: [10.0.0.0/8]\n"
		 "nodes:\n  - {name: a, qmp: q.sock, announce: ../a.sock}\n");
	CHECK(config_parse("sub/vbmc.yml", text, strlen(text), &c, &errs) == 0);
	if (c) {
		CHECK(str_is(c->nodes[0].qmp, "%s/sub/q.sock", tmpdir));
		CHECK(str_is(c->nodes[0].announce, "%s/a.sock", tmpdir));
	}
	config_free(c);
	CHECK(chdir("/") == 0);
}

static void test_users(void)
{
	put_password("pw", "pw\n", 0600);
	one_error(MINIMAL
		  "users:\n  - {name: abcdefghijklmnopq, password-file: pw, role: operator}\n",
		  5, 12, "users[0].name", "too long (at most 16 bytes)");
	one_error(MINIMAL "users:\n  - {name: 'a b', password-file: pw, role: operator}\n", 5, 12,
		  "users[0].name", "'a b' is not a user name");
	one_error(MINIMAL "users:\n  - {name: 'a:b', password-file: pw, role: operator}\n", 5, 12,
		  "users[0].name", "'a:b' is not a user name");
	one_error(MINIMAL "users:\n"
			  "  - {name: a, password-file: pw, role: operator}\n"
			  "  - {name: a, password-file: pw, role: readonly}\n",
		  6, 12, "users[1].name", "duplicate user 'a' (also users[0])");
	one_error(MINIMAL "users:\n  - {name: a, password-file: pw, role: root}\n", 5, 40,
		  "users[0].role", "unknown role 'root' (administrator, operator or readonly)");
	one_error(MINIMAL "users:\n  - {name: a, password-file: pw, role: Administrator}\n", 5, 40,
		  "users[0].role", "unknown role");
	one_error(MINIMAL "users: {name: a}\n", 4, 8, "users", "expected a sequence");
}

/* Several problems, all reported, in file order. */
static void test_collect_all(void)
{
	char *errs = parse_fail("networks: [10.0.0.1/24, nonsense]\n"
				"ports: {ipmi: 0x26f, redfish: 70000, smtp: 25}\n"
				"colour: blue\n"
				"nodes:\n"
				"  - {name: a, qmp: /q}\n"
				"  - {name: a, qmp: /q, announce: /b}\n");

	CHECK(has_error_at(errs, 1, 12, "networks[0]", "host bits are set"));
	CHECK(has_error_at(errs, 1, 25, "networks[1]", "'nonsense' is not a network"));
	CHECK(has_error_at(errs, 2, 15, "ports.ipmi", "'0x26f' is not a decimal number"));
	CHECK(has_error_at(errs, 2, 31, "ports.redfish", "out of range"));
	CHECK(has_error_at(errs, 2, 38, "ports.smtp", "unknown key"));
	CHECK(has_error_at(errs, 3, 1, "colour", "unknown key"));
	CHECK(has_error_at(errs, 5, 5, "nodes[0].announce", "required key is missing"));
	CHECK(has_error_at(errs, 6, 12, "nodes[1].name", "duplicate node name"));
	CHECK(has_error_at(errs, 6, 20, "nodes[1].qmp", "/q is already used by nodes[0].qmp"));
	CHECK(count_lines(errs) == 9);
	free(errs);
}

/* ---- hostile input ----------------------------------------------------- */

static void test_yaml_errors(void)
{
	char *errs;

	one_error(MINIMAL "ports: {ipmi: 623\n", 5, 1, "yaml", "did not find expected");
	one_error("networks: [10.0.0.0/24]\nnodes:\n - a\n  b: c\n", 4, 4, "yaml", "");
	one_error(MINIMAL "user: \"abc\n", 5, 1, "yaml", "found unexpected end of stream");
	one_error(MINIMAL "\tuser: x\n", 4, 1, "yaml", "found character that cannot start");
	one_error(MINIMAL "---\nuser: x\n", 4, 1, "yaml", "only one document is allowed");
	/* Invalid UTF-8 and control characters come from libyaml's reader. */
	one_error(MINIMAL "user: \xff\xfe\n", 4, 7, "yaml", "invalid leading UTF-8 octet");
	one_error(MINIMAL "user: a\x01z\n", 4, 8, "yaml", "control characters are not allowed");

	/* A NUL byte inside the text (strlen would stop there). */
	{
		static const char text[] = MINIMAL "user: a\0b\n";
		struct config *c = NULL;

		CHECK(config_parse(cfgname, text, sizeof(text) - 1, &c, &errs) == -EINVAL);
		CHECK(has_error_at(errs, 4, 8, "yaml", "control characters are not allowed"));
		free(errs);
	}
}

static void test_aliases(void)
{
	char *errs;

	one_error("networks: &n [10.0.0.0/24]\n"
		  "nodes:\n  - {name: a, qmp: &q /q, announce: *q}\n",
		  3, 37, "nodes[0].announce", "aliases are not allowed");
	one_error("networks: [10.0.0.0/24]\nnodes: *n\n", 2, 8, "nodes", "aliases are not allowed");
	one_error(MINIMAL "*k : x\n", 4, 1, "(top)", "aliases are not allowed");
	one_error(MINIMAL "<<: *n\n", 4, 1, "<<", "unknown key");

	/* The classic "billion laughs": rejected at once, nothing expanded. */
	errs = parse_fail("a: &a [x, x, x, x, x, x, x, x, x]\n"
			  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			  "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			  "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
	CHECK(has_error_at(errs, 1, 1, "a", "unknown key"));
	CHECK(count_lines(errs) == 9);
	free(errs);
}

static char *repeat(const char *s, size_t n, const char *tail)
{
	size_t len = strlen(s), tl = strlen(tail);
	char *p = malloc(len * n + tl + 1);

	if (!p)
		die("malloc");
	for (size_t i = 0; i < n; i++)
		memcpy(p + i * len, s, len);
	memcpy(p + len * n, tail, tl + 1);
	return p;
}

static void test_boot_devices(void)
{
	struct config *c = NULL;
	char *errs = NULL;
	const char *text = "networks: [10.0.0.0/24]\n"
			   "nodes:\n  - {name: a, qmp: /q, announce: /a,\n"
			   "     boot-devices: {pxe: [net0, net1], cd: [\"/machine/x/y[2]\"]}}\n";

	CHECK(config_parse("/t/v.yml", text, strlen(text), &c, &errs) == 0);
	CHECK(c && c->nodes[0].n_boot_devs[0] == 2 && c->nodes[0].n_boot_devs[1] == 0 &&
	      c->nodes[0].n_boot_devs[2] == 1);
	CHECK(c && strcmp(c->nodes[0].boot_devs[0][1], "net1") == 0);
	config_free(c);
	free(errs);
	one_error("networks: [10.0.0.0/24]\n"
		  "nodes: [{name: a, qmp: /q, announce: /a, boot-devices: {pxe: [\"a b\"]}}]\n",
		  2, 63, "nodes[0].boot-devices.pxe[0]", "'a b' is not a QOM device id or path");
	one_error("networks: [10.0.0.0/24]\n"
		  "nodes: [{name: a, qmp: /q, announce: /a, boot-devices: {usb: [x]}}]\n",
		  2, 57, "nodes[0].boot-devices.usb", "unknown key");
}

static void test_limits(void)
{
	char *text, *errs, *big;
	size_t n;

	/* Deeper than the schema: reported where it starts, with its key. */
	errs = parse_fail("networks: [10.0.0.0/24]\n"
			  "nodes: [{name: a, qmp: /q, announce: /a, boot-devices: {pxe: [[x]]}}]\n");
	CHECK(has_error_at(errs, 2, 63, "nodes[0].boot-devices.pxe[0]",
			   "nested deeper than the schema allows"));
	free(errs);
	one_error(MINIMAL "users: [[[x]]]\n", 4, 9, "users[0]", "expected a mapping");

	/* Very deep nesting: no recursion in our code, bounded memory.
	 * libyaml's flow parsing is quadratic in the depth: 10000 under
	 * valgrind (tests/run.sh sets VBMC_TEST_SHALLOW), which alone would
	 * take 4 minutes there at 100000. */
	n = getenv("VBMC_TEST_SHALLOW") ? 10000 : 100000;
	big = repeat("[", n, "");
	text = malloc(2 * n + 256);
	if (!text)
		die("malloc");
	snprintf(text, 2 * n + 256, "networks: %s", big);
	memset(text + strlen(text), ']', n);
	strcpy(text + strlen("networks: ") + 2 * n, "\n" NODE0);
	errs = parse_fail(text);
	CHECK(has_error_at(errs, 1, 12, "networks[0]", "expected a scalar, found a sequence"));
	free(errs);
	free(text);
	free(big);

	/* A huge scalar: the length check, not a crash. */
	big = repeat("x", 900 * 1024, "\n");
	text = malloc(strlen(big) + 256);
	if (!text)
		die("malloc");
	sprintf(text, MINIMAL "user: %s", big);
	one_error(text, 4, 7, "user", "too long (at most 32 bytes)");
	free(text);
	free(big);

	/* Over 1 MiB in all: refused before parsing. */
	big = repeat("#", 1024 * 1024 + 1, "");
	errs = parse_fail(big);
	CHECK(str_is(errs, "%s: too large (more than 1048576 bytes)\n", cfgname));
	free(errs);
	free(big);

	/* Many nodes in the tree: bounded too. */
	big = repeat("x,", 70000, "]\n");
	text = malloc(strlen(big) + 256);
	if (!text)
		die("malloc");
	sprintf(text, "networks: [%s", big);
	errs = parse_fail(text);
	CHECK(has_error(errs, ": yaml: more than 65536 nodes"));
	free(errs);
	free(text);
	free(big);

	/* Thousands of problems: the list is capped. */
	big = repeat("x,", 5000, "]\n" NODE0);
	text = malloc(strlen(big) + 256);
	if (!text)
		die("malloc");
	sprintf(text, "networks: [%s", big);
	errs = parse_fail(text);
	CHECK(count_lines(errs) == 101);
	CHECK(has_error(errs, "too many errors"));
	free(errs);
	free(text);
	free(big);
}

static void test_junk(void)
{
	unsigned seed = 12345;
	char buf[4096];

	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(round * 19) % sizeof(buf);
		struct config *c = NULL;
		char *errs = NULL;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (char)(seed >> 16);
		}
		CHECK(config_parse(cfgname, buf, len, &c, &errs) == -EINVAL);
		CHECK(c == NULL && errs != NULL);
		config_free(c);
		free(errs);
	}
}

/* ---- config_load ------------------------------------------------------- */

static void test_load(void)
{
	struct config *c = NULL;
	char *errs = NULL, path[PATH_MAX + 16];

	CHECK(config_load("/nonexistent/vbmc.yml", &c, &errs) == -ENOENT);
	CHECK(c == NULL);
	CHECK(str_is(errs, "/nonexistent/vbmc.yml: cannot read: No such file or directory\n"));
	free(errs);

	put_file("vbmc.yml", MINIMAL, strlen(MINIMAL), 0644);
	CHECK(config_load(cfgname, &c, &errs) == 0);
	CHECK(errs == NULL);
	CHECK(c && strcmp(c->path, cfgname) == 0);
	config_free(c);

	put_file("bad.yml", "nodes: 1\n", 9, 0644);
	snprintf(path, sizeof(path), "%s/bad.yml", tmpdir);
	CHECK(config_load(path, &c, &errs) == -EINVAL);
	CHECK(errs && strncmp(errs, path, strlen(path)) == 0);
	free(errs);
}

/* ---- main -------------------------------------------------------------- */

static void cleanup(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[PATH_MAX + 256];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
	snprintf(cfgname, sizeof(cfgname), "%s/vbmc.yml", tmpdir);

	test_defaults();
	test_full();
	test_role_name();
	test_round_trip();
	test_passwords();
	test_structure_errors();
	test_required();
	test_numbers();
	test_networks();
	test_strings();
	test_nodes();
	test_users();
	test_collect_all();
	test_yaml_errors();
	test_aliases();
	test_limits();
	test_boot_devices();
	test_junk();
	test_load();

	cleanup();
	return test_done();
}
