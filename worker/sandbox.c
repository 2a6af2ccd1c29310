/* The worker's sandbox.  Order (worker/main.c): everything that needs a
 * file, a socket or a privilege is done first; then we drop to the
 * unprivileged user, set no_new_privs, and install the seccomp allow-list
 * last.  After that the worker cannot open files, create or connect
 * sockets, or start processes: what it needs later it asks the supervisor
 * for (priv_qmp_connect). */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <seccomp.h>

#include "common/log.h"
#include "common/util.h"
#include "vbmc-build.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VBMC_HAS_ASAN 1
#endif
#endif
#ifndef VBMC_HAS_ASAN
#define VBMC_HAS_ASAN 0
#endif

int sandbox_drop_privileges(uid_t uid, gid_t gid)
{
	struct rlimit none = {0, 0};

	if (uid == 0 || gid == 0)
		return -EINVAL;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	/* paranoia: the drop must be irreversible */
	if (setuid(0) == 0 || seteuid(0) == 0)
		return -EPERM;
	/* no core files with secrets in them, no ptrace by the same uid */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return -errno;
	setrlimit(RLIMIT_CORE, &none);
	setrlimit(RLIMIT_NPROC, &none);
	return 0;
}

/* Calls a library may try and that must fail cleanly rather than kill us. */
static const int denied[] = {
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(creat), SCMP_SYS(socket),
	SCMP_SYS(connect), SCMP_SYS(memfd_create),
};

/* The allow-list, one group per reason.  Anything not listed kills the
 * process (or traps and logs it with -Dseccomp_trap=true). */
static const int allowed[] = {
	/* libuv event loop */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	/* I/O on the fds we hold: channel, UDP, TCP, QMP, journald */
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(close), SCMP_SYS(shutdown),
	/* Redfish (h2o on libuv): accept4 on the socket that listens since
	 * build(); TCP_NODELAY on each connection; h2o asks the peer's
	 * address (rate limiting, logs) and the socket's own */
	SCMP_SYS(accept4), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	/* libuv sets fd flags; fstat for stdio */
	SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	/* malloc */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mprotect),
	/* time (usually the vDSO, but not always) */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	/* signals: libuv's SIGTERM watcher, abort() */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
	SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(gettid),
	/* IPMI/TLS randomness */
	SCMP_SYS(getrandom),
	/* misc libc */
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(restart_syscall),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
#if defined(__SANITIZE_ADDRESS__) || VBMC_HAS_ASAN
	/* sanitizer builds only (-Dsanitize_all=true): ASan removes each
	 * thread's alternate signal stack when the thread exits.  (LeakSanitizer
	 * would need clone, ptrace and /proc: the supervisor turns it off for
	 * workers instead, see worker_env() in supervisor/spawn.c.) */
	SCMP_SYS(sigaltstack),
#endif
};

#if VBMC_SECCOMP_TRAP
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "vbmc-worker: seccomp: forbidden syscall %d\n",
			 si->si_syscall);

	if (write(2, buf, (size_t)n) < 0)
		_exit(99);
	_exit(99);
}
#endif

static uint32_t default_action(void)
{
#if VBMC_SECCOMP_TRAP
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};

	sigaction(SIGSYS, &sa, NULL);
	return SCMP_ACT_TRAP;
#else
	return SCMP_ACT_KILL_PROCESS;
#endif
}

int sandbox_seccomp(void)
{
	scmp_filter_ctx ctx;
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(default_action());
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (allowed[i] >= 0 && (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0)) < 0)
			goto out;
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++)
		if (denied[i] >= 0 &&
		    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), denied[i], 0)) < 0)
			goto out;
	/* ioctl only to set O_NONBLOCK / FD_CLOEXEC (libuv uses FIONBIO) */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_EQ, FIONBIO, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, FIOCLEX, 0));
	if (r == 0)
		r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

static int selftest_child(uid_t uid, gid_t gid)
{
	int fd, r;

	r = sandbox_drop_privileges(uid, gid);
	if (r < 0) {
		printf("drop privileges: FAILED (%s)\n", strerror(-r));
		return 1;
	}
	r = sandbox_seccomp();
	if (r < 0) {
		printf("seccomp: FAILED (%s)\n", strerror(-r));
		return 1;
	}
	printf("uid %d gid %d, seccomp on\n", (int)getuid(), (int)getgid());
	fd = open("/etc/hostname", O_RDONLY);
	printf("open(/etc/hostname): %s\n", fd < 0 ? strerror(errno) : "ALLOWED");
	if (fd >= 0)
		return 1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	printf("socket(AF_INET): %s\n", fd < 0 ? strerror(errno) : "ALLOWED");
	if (fd >= 0)
		return 1;
	printf("execve(/bin/true): expecting the kernel to kill us\n");
	fflush(stdout);
	execl("/bin/true", "true", (char *)NULL);
	printf("execve: ALLOWED\n");
	return 1;
}

int sandbox_selftest(uid_t uid, gid_t gid)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		fflush(stdout);
		_exit(selftest_child(uid, gid));
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		printf("execve: killed by SIGSYS\nsandbox selftest: ok\n");
		return 0;
	}
	printf("sandbox selftest: FAILED (status 0x%x)\n", status);
	return 1;
}
