/* What the protocol engines (worker/ipmi/, worker/redfish/) get from this
 * worker: time, randomness, the power core and the shared boot state.  One
 * set of adapters for both, so IPMI and Redfish count, log and apply power
 * and boot requests the same way.  arg is the struct worker_ctx. */
#include "worker.h"

#include "common/log.h"
#include "common/util.h"
#include "ipmi/crypto.h"

/* The loop's clock, read once per loop turn: a clock_gettime() per packet
 * showed in the IPMI profile, and sessions only need milliseconds. */
uint64_t engine_now_ms(void *arg)
{
	return uv_now(((struct worker_ctx *)arg)->loop);
}

int engine_random(void *arg, void *buf, size_t len)
{
	(void)arg;
	return ipmi_random(buf, len);
}

enum power_state engine_power_state(void *arg)
{
	return power_get_state(((struct worker_ctx *)arg)->power);
}

void engine_power(void *arg, enum power_action a, power_done_cb cb, void *cbarg)
{
	struct worker_ctx *w = arg;

	log_info("power %s requested over the network", power_action_name(a));
	w->st.power_actions++;
	channel_report(w, 0);
	power_request(w->power, a, cb, cbarg);
}

struct boot_state *engine_boot(void *arg)
{
	return &((struct worker_ctx *)arg)->boot;
}

void engine_boot_changed(void *arg)
{
	struct worker_ctx *w = arg;

	log_info("boot override: %s%s%s", boot_target_name(w->boot.target),
		 w->boot.persistent ? ", persistent" : ", once", w->boot.efi ? ", UEFI" : "");
	boot_apply(w);
}
