/* Capability sets as Docker computes them and as runc applies them. */
#include "process/caps.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

#include "util/cleanup.h"

#define CAP_NAME_MAX 64

/* clang-format off */
#define NAME(c) [c] = #c
static const char *const cap_names[] = {
	NAME(CAP_CHOWN), NAME(CAP_DAC_OVERRIDE), NAME(CAP_DAC_READ_SEARCH), NAME(CAP_FOWNER),
	NAME(CAP_FSETID), NAME(CAP_KILL), NAME(CAP_SETGID), NAME(CAP_SETUID), NAME(CAP_SETPCAP),
	NAME(CAP_LINUX_IMMUTABLE), NAME(CAP_NET_BIND_SERVICE), NAME(CAP_NET_BROADCAST),
	NAME(CAP_NET_ADMIN), NAME(CAP_NET_RAW), NAME(CAP_IPC_LOCK), NAME(CAP_IPC_OWNER),
	NAME(CAP_SYS_MODULE), NAME(CAP_SYS_RAWIO), NAME(CAP_SYS_CHROOT), NAME(CAP_SYS_PTRACE),
	NAME(CAP_SYS_PACCT), NAME(CAP_SYS_ADMIN), NAME(CAP_SYS_BOOT), NAME(CAP_SYS_NICE),
	NAME(CAP_SYS_RESOURCE), NAME(CAP_SYS_TIME), NAME(CAP_SYS_TTY_CONFIG), NAME(CAP_MKNOD),
	NAME(CAP_LEASE), NAME(CAP_AUDIT_WRITE), NAME(CAP_AUDIT_CONTROL), NAME(CAP_SETFCAP),
	NAME(CAP_MAC_OVERRIDE), NAME(CAP_MAC_ADMIN), NAME(CAP_SYSLOG), NAME(CAP_WAKE_ALARM),
	NAME(CAP_BLOCK_SUSPEND), NAME(CAP_AUDIT_READ), NAME(CAP_PERFMON), NAME(CAP_BPF),
	NAME(CAP_CHECKPOINT_RESTORE),
};
#undef NAME
/* clang-format on */

#define CAP_TABLE_LEN ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* clang-format off */
const char *const caps_docker_default[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};
/* clang-format on */
const size_t caps_docker_default_len = sizeof(caps_docker_default) / sizeof(caps_docker_default[0]);

int caps_from_name(const char *name)
{
	for (int i = 0; i < CAP_TABLE_LEN; i++)
		if (cap_names[i] && strcmp(cap_names[i], name) == 0)
			return i;
	return -1;
}

/* Capabilities both we and the running kernel know. */
static int caps_count(void)
{
	int n = (int)cap_max_bits();

	return n < CAP_TABLE_LEN ? n : CAP_TABLE_LEN;
}

static uint64_t caps_known_mask(void)
{
	int n = caps_count();

	return n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
}

/* Like dockerd, "all" is what the kernel knows and isobox itself holds: a root
 * without some capability (in a container, say) cannot grant it. */
static uint64_t caps_available_mask(void)
{
	uint64_t held = 0;
	cap_t c = cap_get_proc();

	for (int i = 0; c && i < caps_count(); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(c, (cap_value_t)i, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
			held |= UINT64_C(1) << i;
	}
	cap_free(c);
	/* holding nothing (not root): leave it to the kernel, as dockerd does */
	return held ? held : caps_known_mask();
}

/* --- docker's --cap-add / --cap-drop --- */

struct cap_request {
	uint64_t mask;
	bool all;
};

/* "sys_admin", "CAP_SYS_ADMIN", "all" as docker's NormalizeLegacyCapabilities. */
static int cap_request_add(struct cap_request *req, const char *name, struct err *err)
{
	char up[CAP_NAME_MAX + sizeof("CAP_")];
	size_t len = strlen(name);
	int v;

	if (len > CAP_NAME_MAX)
		return err_set(err, "unknown capability: %.*s...", CAP_NAME_MAX, name);
	snprintf(up, sizeof(up), "%s%s", strncasecmp(name, "CAP_", 4) == 0 ? "" : "CAP_", name);
	for (char *p = up; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (strcmp(up, "CAP_ALL") == 0 && strncasecmp(name, "CAP_", 4) != 0) {
		req->all = true;
		return 0;
	}
	v = caps_from_name(up);
	if (v < 0)
		return err_set(err, "unknown capability: %s", up);
	if (!(caps_available_mask() & (UINT64_C(1) << v)))
		return err_set(err,
			       "capability %s is not supported by your kernel or not "
			       "available in the current environment",
			       up);
	req->mask |= UINT64_C(1) << v;
	return 0;
}

static int cap_request_parse(const char *const *names, size_t n, struct cap_request *req,
			     struct err *err)
{
	req->mask = 0;
	req->all = false;
	for (size_t i = 0; i < n; i++)
		if (cap_request_add(req, names[i], err) < 0)
			return -1;
	return 0;
}

static uint64_t caps_default_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < caps_docker_default_len; i++)
		m |= UINT64_C(1) << caps_from_name(caps_docker_default[i]);
	return m & caps_known_mask();
}

static json_t *caps_mask_to_json(uint64_t mask)
{
	json_t *list = json_array();

	for (int i = 0; i < CAP_TABLE_LEN; i++)
		if (mask & (UINT64_C(1) << i))
			json_array_append_new(list, json_string(cap_names[i]));
	return list;
}

int caps_resolve(const char *const *add, size_t n_add, const char *const *drop, size_t n_drop,
		 int privileged, json_t **out_list, struct err *err)
{
	struct cap_request a, d;
	uint64_t mask;

	if (privileged) {
		*out_list = caps_mask_to_json(caps_available_mask());
		return 0;
	}
	if (cap_request_parse(drop, n_drop, &d, err) < 0 ||
	    cap_request_parse(add, n_add, &a, err) < 0)
		return -1;
	if (a.all)
		mask = caps_available_mask() & ~d.mask;
	else if (d.all)
		mask = a.mask;
	else
		mask = (caps_default_mask() & ~d.mask) | a.mask;
	*out_list = caps_mask_to_json(mask);
	return 0;
}

/* --- applying OCI process.capabilities --- */

static int caps_set_parse(json_t *list, const char *set, uint64_t *mask, struct err *err)
{
	size_t i;
	json_t *c;

	*mask = 0;
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return err_set(err, "process.capabilities.%s: must be an array", set);
	json_array_foreach(list, i, c)
	{
		int v = json_is_string(c) ? caps_from_name(json_string_value(c)) : -1;

		if (!json_is_string(c))
			return err_set(err, "process.capabilities.%s[%zu]: must be a string", set,
				       i);
		if (v < 0)
			return err_set(err, "process.capabilities.%s[%zu]: unknown capability: %s",
				       set, i, json_string_value(c));
		*mask |= UINT64_C(1) << v;
	}
	*mask &= caps_known_mask();
	return 0;
}

/* setuid with KEEPCAPS kept the permitted set but cleared the effective one. */
static int caps_raise_effective(struct err *err)
{
	cap_t c = cap_get_proc();
	int r;

	if (!c)
		return err_sys(err, errno, "read the process capabilities");
	r = cap_fill(c, CAP_EFFECTIVE, CAP_PERMITTED);
	if (r == 0)
		r = cap_set_proc(c);
	if (r < 0)
		r = err_sys(err, errno, "raise the effective capabilities");
	cap_free(c);
	return r;
}

static int caps_drop_bounding(uint64_t keep, struct err *err)
{
	for (int i = 0; i < caps_count(); i++) {
		if ((keep & (UINT64_C(1) << i)) || cap_get_bound((cap_value_t)i) != 1)
			continue;
		if (cap_drop_bound((cap_value_t)i) < 0)
			return err_sys(err, errno, "drop %s from the bounding set", cap_names[i]);
	}
	return 0;
}

static int caps_flag_set(cap_t c, cap_flag_t flag, uint64_t mask)
{
	for (int i = 0; i < caps_count(); i++) {
		cap_value_t v = (cap_value_t)i;

		if ((mask & (UINT64_C(1) << i)) && cap_set_flag(c, flag, 1, &v, CAP_SET) < 0)
			return -1;
	}
	return 0;
}

static int caps_set_sets(uint64_t eff, uint64_t inh, uint64_t prm, struct err *err)
{
	cap_t c = cap_init();
	int r;

	if (!c)
		return err_sys(err, errno, "allocate a capability set");
	r = caps_flag_set(c, CAP_EFFECTIVE, eff);
	if (r == 0)
		r = caps_flag_set(c, CAP_INHERITABLE, inh);
	if (r == 0)
		r = caps_flag_set(c, CAP_PERMITTED, prm);
	if (r == 0)
		r = cap_set_proc(c);
	if (r < 0)
		r = err_sys(err, errno,
			    "set the effective, permitted and inheritable capabilities "
			    "(effective must be within permitted)");
	cap_free(c);
	return r;
}

static int caps_set_ambient(uint64_t amb, struct err *err)
{
	/* EINVAL: a kernel before 4.3 has no ambient set, so nothing to clear */
	if (cap_reset_ambient() < 0 && !(errno == EINVAL && amb == 0))
		return err_sys(err, errno, "clear the ambient capabilities");
	for (int i = 0; i < caps_count(); i++) {
		if (!(amb & (UINT64_C(1) << i)))
			continue;
		if (cap_set_ambient((cap_value_t)i, CAP_SET) < 0)
			return err_sys(err, errno,
				       "raise ambient capability %s (it must be "
				       "permitted and inheritable)",
				       cap_names[i]);
	}
	return 0;
}

int caps_masks(json_t *caps, uint64_t masks[CAPS_SETS], struct err *err)
{
	static const char *const sets[CAPS_SETS] = { "bounding", "effective", "inheritable",
						     "permitted", "ambient" };
	size_t i;

	for (i = 0; i < CAPS_SETS; i++)
		if (caps_set_parse(json_object_get(caps, sets[i]), sets[i], &masks[i], err) < 0)
			return -1;
	/* Ambient only where permitted and inheritable, as caps_apply raises it. */
	masks[4] &= masks[2] & masks[3];
	return 0;
}

int caps_apply(json_t *bounding, json_t *effective, json_t *inheritable, json_t *permitted,
	       json_t *ambient, struct err *err)
{
	uint64_t bnd, eff, inh, prm, amb;

	if (caps_set_parse(bounding, "bounding", &bnd, err) < 0 ||
	    caps_set_parse(effective, "effective", &eff, err) < 0 ||
	    caps_set_parse(inheritable, "inheritable", &inh, err) < 0 ||
	    caps_set_parse(permitted, "permitted", &prm, err) < 0 ||
	    caps_set_parse(ambient, "ambient", &amb, err) < 0)
		return -1;
	/* Order: effective=permitted (CAP_SETPCAP back), bounding drops, final eff/inh/prm,
	 * ambient. The kernel raises an ambient capability only when it is permitted
	 * and inheritable: the others are left out, as runc and crun do (their
	 * `spec` lists ambient capabilities without inheritable ones). */
	if (caps_raise_effective(err) < 0 || caps_drop_bounding(bnd, err) < 0 ||
	    caps_set_sets(eff, inh, prm, err) < 0 || caps_set_ambient(amb & inh & prm, err) < 0)
		return -1;
	return 0;
}
