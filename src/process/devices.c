#include "process/devices.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* The spec's rules, then the defaults: the whole list, in order. */
static struct dev_rule *rules_all(const struct dev_rule *rules, size_t n, size_t *total)
{
	struct dev_rule *all = xmalloc((n + devcg_defaults_len) * sizeof(*all));

	if (n)
		memcpy(all, rules, n * sizeof(*all));
	memcpy(all + n, devcg_defaults, devcg_defaults_len * sizeof(*all));
	*total = n + devcg_defaults_len;
	return all;
}

static void rule_format(const struct dev_rule *r, char *buf, size_t len)
{
	char major[24] = "*", minor[24] = "*";

	if (r->major >= 0)
		snprintf(major, sizeof(major), "%ld", r->major);
	if (r->minor >= 0)
		snprintf(minor, sizeof(minor), "%ld", r->minor);
	snprintf(buf, len, "%c %s:%s %s", r->type, major, minor, r->access);
}

/* In order, as the kernel takes them: each allow adds to the list, each deny
 * takes from it ("a" empties it). */
int devices_apply_v1(const char *dir, bool allow_all, const struct dev_rule *rules, size_t n,
		     struct err *err)
{
	_cleanup_free_ char *allow = xasprintf("%s/devices.allow", dir);
	_cleanup_free_ char *deny = xasprintf("%s/devices.deny", dir);
	_cleanup_free_ struct dev_rule *all = NULL;
	char rule[96];
	size_t i, total;

	if (allow_all)
		return write_file(allow, "a", err);
	if (write_file(deny, "a", err) < 0)
		return -1;
	all = rules_all(rules, n, &total);
	for (i = 0; i < total; i++) {
		rule_format(&all[i], rule, sizeof(rule));
		if (write_file(all[i].deny ? deny : allow, rule, err) < 0)
			return -1;
	}
	return 0;
}

int devices_apply_v2(const char *dir, bool allow_all, const struct dev_rule *rules, size_t n,
		     struct err *err)
{
	char log[4096];

	if (allow_all)
		return 0;
	if (devcg_attach(dir, rules, n, log, sizeof(log)) == 0)
		return 0;
	if (errno == E2BIG)
		return err_set(err, "device rules: the BPF program is too long");
	return err_sys(err, errno, "attach the device rules' BPF program to %s (%.200s)", dir,
		       log);
}
