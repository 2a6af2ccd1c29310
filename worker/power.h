/* The power core: DESIGN.md's power table carried out over QMP.  IPMI,
 * Redfish and the supervisor's CLI all call power_request(); the state is
 * tracked from QMP events (query-status once per connection). */
#pragma once
#include <uv.h>
#include "proto/proto.h"
#include "qmp.h"

struct power;

typedef void (*power_done_cb)(void *arg, enum power_result r, const char *detail);

struct power_callbacks {
	/* power state changed (including to/from UNKNOWN) */
	void (*state_changed)(void *arg, enum power_state s);
	/* we have no QMP connection: ask the supervisor for one
	 * (priv_qmp_connect); answered by power_qmp_attach() or
	 * power_qmp_unavailable(). */
	void (*want_qmp)(void *arg);
	/* something went wrong in the background (text for status "last error") */
	void (*error)(void *arg, const char *text);
	/* the VM was reset (RESET event): a "once" boot override is used up */
	void (*reset)(void *arg);
	/* a QMP connection is up and its state known (boot devices are
	 * discovered here) */
	void (*connected)(void *arg);
};

struct power_limits {
	unsigned qmp_timeout_ms;      /* per QMP command, default 5000 */
	unsigned soft_off_timeout_ms; /* PoweringOff gives up (state back to on), default 120000 */
	unsigned restart_wait_ms;     /* GracefulRestart waits this long for the shutdown, default 60000 */
};

struct power *power_new(uv_loop_t *loop, const struct power_limits *lim,
			const struct power_callbacks *cb, void *arg);
/* fd: a connected QMP socket (ownership taken), or -1 for none yet. */
void power_qmp_attach(struct power *p, int fd);
/* The supervisor could not connect: retry later (back-off 0.5 s .. 5 s). */
void power_qmp_unavailable(struct power *p, const char *reason);
/* Run an action.  cb is called exactly once (possibly before this returns
 * for immediate answers such as "already on"). */
void power_request(struct power *p, enum power_action a, power_done_cb cb, void *arg);
enum power_state power_get_state(const struct power *p);
int power_qmp_connected(const struct power *p);
/* Raw QMP access for other modules (boot devices, facts for Redfish);
 * -ENOTCONN without a connection. */
int power_qmp_command(struct power *p, const char *cmd, json_t *args, qmp_reply_cb cb, void *arg);
void power_free(struct power *p);
