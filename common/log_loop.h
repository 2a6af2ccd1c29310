/* Flush the log's backlog from a libuv loop (log_loop.c). */
#pragma once
#include <uv.h>

void log_attach_loop(uv_loop_t *loop);
