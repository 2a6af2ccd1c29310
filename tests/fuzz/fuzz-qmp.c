/*
 * Fuzz what QEMU (or whatever sits on the QMP socket) sends us: bytes go
 * through the line splitter in chunks, every line through the parser.
 *
 * The first input byte steers: its low 7 bits + 1 are the chunk size (reads
 * arrive in arbitrary pieces), its high bit feeds the body five times over,
 * so that inputs shorter than QMP_LINE_MAX can still reach the limit.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/qmp.h"

/* The parser's promises, checked on every message it accepts. */
static void check_msg(const struct qmp_msg *m)
{
	if (!json_is_object(m->body))
		abort();
	switch (m->kind) {
	case QMP_GREETING:
		break;
	case QMP_RETURN:
		if (!m->value)
			abort();
		break;
	case QMP_ERROR:
		if (!m->error)
			abort();
		(void)strlen(m->error);
		break;
	case QMP_EVENT:
		if (!m->event || (m->value && !json_is_object(m->value)))
			abort();
		(void)strlen(m->event);
		break;
	default:
		abort();
	}
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct qmp_msg m;
	size_t *lines = arg;

	if (len == 0 || len > QMP_LINE_MAX || memchr(line, '\n', len))
		abort();
	(*lines)++;
	if (qmp_parse_message(line, len, &m) == 0) {
		check_msg(&m);
		json_decref(m.body);
	} else if (m.body) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp_reader r = {0};
	size_t chunk, off, lines = 0;
	int rounds, i, e = 0;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x7f) + 1;
	rounds = data[0] & 0x80 ? 5 : 1;
	data++;
	size--;
	for (i = 0; i < rounds && e == 0; i++) {
		for (off = 0; off < size && e == 0; off += chunk) {
			size_t n = size - off < chunk ? size - off : chunk;

			e = qmp_reader_feed(&r, (const char *)data + off, n, on_line, &lines);
		}
	}
	if (e != 0 && e != -EMSGSIZE)
		abort();
	if (r.len > QMP_LINE_MAX || r.cap > QMP_LINE_MAX)
		abort();
	qmp_reader_reset(&r);
	return 0;
}
