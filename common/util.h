/* Small helpers shared by every process.  Return -errno on failure. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copy with truncation; returns strlen(src). */
size_t strlcpy0(char *dst, const char *src, size_t size);

/* Monotonic milliseconds. */
uint64_t now_ms(void);

/* Write data to path atomically: temp file in the same directory with the
 * given mode, write, fsync, rename, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without the fsyncs: for a cache that is rebuilt when broken. */
int write_file_cache(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole (small) file; *ret is NUL-terminated, caller frees. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* mkdir -p with mode for the last component. */
int mkdir_p(const char *path, mode_t mode);
/* Set O_NONBLOCK and FD_CLOEXEC. */
int fd_nonblock(int fd);
