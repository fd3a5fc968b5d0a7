#include "engine/isolation.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/host_config.h"
#include "engine/image_needs.h"
#include "engine/isolation_policy.h"
#include "util/cleanup.h"
#include "process/caps.h"
#include "runtime/runtime.h"
#include "util/fs.h"

static const char *const mode_names[] = { "process", "hyperv", "auto" };

/* PVM (kvm_pvm) boots only kernels built with CONFIG_PVM_GUEST; Debian's are not. */
static bool kernel_bootable(const struct kernel_entry *k)
{
	return !rt_hyperv_host_is_pvm() || !strncmp(k->name, "custom-", 7);
}

static int pvm_refuse(struct err *err)
{
	return err_set(err, "this host's /dev/kvm is PVM (kvm_pvm), which boots only guest "
		       "kernels built with CONFIG_PVM_GUEST, and Debian ships none: add one with "
		       "'isobox kernel install --path FILE', or run the container with "
		       "--isolation=process");
}

int isolation_hyperv_available(const char *root, char **kernel_name, struct err *err)
{
	struct kernel_entry k;

	if (rt_hyperv_host_check(err) < 0 || kernel_find(root, NULL, &k, err) < 0)
		return -1;
	if (!kernel_bootable(&k)) {
		kernel_entry_free(&k);
		return pvm_refuse(err);
	}
	*kernel_name = xstrdup(k.name);
	kernel_entry_free(&k);
	return 0;
}

/* The guest kernel: --kernel's, which must meet the needs, else the newest
 * installed that meets them. */
static int kernel_choose(const char *root, const char *want, const struct image_needs *n,
			 struct kernel_entry *out, struct err *err)
{
	struct kernel_entry *v = NULL;
	char need[256], lack[512], who[200];
	size_t count, i;

	if (want) {
		if (kernel_find(root, want, out, err) < 0)
			return -1;
		snprintf(who, sizeof(who), "guest kernel %s", out->name);
		if (!kernel_bootable(out))
			return pvm_refuse(err);
		if (!image_needs_met(n, &out->info, who, need, sizeof(need), lack, sizeof(lack)))
			return err_set(err, "image %s needs %s; %s: choose another with --kernel "
				       "('isobox kernel ls' lists them), or leave --kernel out",
				       n->image, need, lack);
		return 0;
	}
	if (kernel_entries(root, &v, &count, err) < 0)
		return -1;
	if (!count)
		return err_set(err, "no guest kernel is installed for Hyper-V isolation: run "
			       "'isobox kernel install'");
	*lack = '\0';
	for (i = 0; i < count; i++) {
		snprintf(who, sizeof(who), "guest kernel %s", v[i].name);
		if (!kernel_bootable(&v[i]))
			continue;
		if (image_needs_met(n, &v[i].info, who, need, sizeof(need), lack, sizeof(lack))) {
			*out = v[i];
			memset(&v[i], 0, sizeof(v[i]));
			kernel_entries_free(v, count);
			return 0;
		}
	}
	kernel_entries_free(v, count);
	if (!*lack)
		return pvm_refuse(err);
	return err_set(err, "no installed guest kernel meets image %s: it needs %s, and %s: add "
		       "one that does with 'isobox kernel install' (--path FILE --config FILE for "
		       "a kernel you built)", n->image, need, lack);
}

static bool host_namespace_asked(const struct run_opts *o)
{
	return o->network_mode || o->pid_mode || o->ipc_mode || o->uts_mode;
}

static bool unconfined_asked(const struct run_opts *o)
{
	size_t i;

	for (i = 0; i < o->security_opt.n; i++)
		if (!strcmp(o->security_opt.v[i], "seccomp=unconfined") ||
		    !strcmp(o->security_opt.v[i], "seccomp:unconfined"))
			return true;
	return false;
}

/* The policy's verdict: d->rules, and d->rule for the first that asks for hyperv. */
static void policy_apply(const struct run_opts *o, const struct image *img,
			 struct isolation_decision *d)
{
	struct policy_subject s = {
		.image = img->ref ? img->ref : img->id,
		.image_labels = json_object_get(json_object_get(img->config, "config"), "Labels"),
		.labels = &o->labels,
		.cap_add = &o->cap_add,
		.privileged = o->privileged,
		.unconfined = unconfined_asked(o),
		.host_namespaces = host_namespace_asked(o),
	};
	int first;

	d->rules = json_array();
	first = policy_evaluate(o->host, &s, d->rules);
	if (first >= 0) {
		json_t *r = json_array_get(d->rules, first);

		snprintf(d->rule, sizeof(d->rule), "%s", json_string_value(json_object_get(r, "Rule")));
	}
}

static const char *rule_words(const struct isolation_decision *d, char *buf, size_t size)
{
	json_t *r;
	size_t i;

	json_array_foreach(d->rules, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "Rule")), d->rule)) {
			snprintf(buf, size, "isolation policy rule \"%s\" (%s): %s", d->rule,
				 json_string_value(json_object_get(r, "Where")),
				 json_string_value(json_object_get(r, "Detail")));
			return buf;
		}
	return "";
}

/* d->host_kernel says why the host's kernel cannot run the image, if it cannot. */
static int host_kernel_check(const struct image_needs *n, struct isolation_decision *d,
			     struct err *err)
{
	struct kernel_info host;
	char need[256], lack[512];

	if (!*d->needs)
		return 0;
	if (kernel_info_host(&host, err) < 0)
		return -1;
	if (!image_needs_met(n, &host, "this host", need, sizeof(need), lack, sizeof(lack)))
		snprintf(d->host_kernel, sizeof(d->host_kernel), "image %s needs %s; %s", n->image,
			 need, lack);
	kernel_info_free(&host);
	return 0;
}

static int mode_pick(const struct run_opts *o, int requested, struct isolation_decision *d,
		     struct err *err)
{
	struct isolation_default def;
	char rule[1024];

	rule_words(d, rule, sizeof(rule));
	if (requested == ISOLATION_PROCESS && *d->rule)
		return err_set(err, "%s; it requires hyperv isolation, so --isolation=process is "
			       "refused: run it with --isolation=hyperv or --isolation=auto", rule);
	if (requested == ISOLATION_PROCESS || requested == ISOLATION_HYPERV) {
		d->hyperv = requested == ISOLATION_HYPERV;
		snprintf(d->reason, sizeof(d->reason), "asked for with --isolation=%s",
			 o->isolation);
		return 0;
	}
	if (*d->rule) {
		d->hyperv = true;
		snprintf(d->reason, sizeof(d->reason), "%s", rule);
		return 0;
	}
	if (requested == ISOLATION_AUTO && *d->host_kernel) {
		d->hyperv = true;
		snprintf(d->reason, sizeof(d->reason), "the host's kernel cannot run it: %s",
			 d->host_kernel);
		return 0;
	}
	if (isolation_default(o->host, o->default_isolation, &def, err) < 0)
		return -1;
	d->hyperv = def.hyperv;
	snprintf(d->reason, sizeof(d->reason), "the host's default: %s", def.why);
	return 0;
}

int isolation_decide(const char *root, const struct run_opts *o, const struct image *img,
		     struct isolation_decision *d, struct err *err)
{
	struct image_needs needs;
	int requested;

	memset(d, 0, sizeof(*d));
	d->requested = "default";
	if (isolation_value(o->isolation, "--isolation", true, &requested, err) < 0)
		return -1;
	if (requested != ISOLATION_DEFAULT)
		d->requested = mode_names[requested];
	if (image_needs_read(img->config, img->ref ? img->ref : o->image, &needs, err) < 0)
		return -1;
	image_needs_describe(&needs, d->needs, sizeof(d->needs));
	policy_apply(o, img, d);
	if (host_kernel_check(&needs, d, err) < 0 || mode_pick(o, requested, d, err) < 0)
		return -1;
	if (!d->hyperv) {
		if (*d->host_kernel)
			return err_set(err, "%s: run it with --isolation=hyperv, which boots a guest "
				       "kernel that meets it", d->host_kernel);
		if (o->kernel)
			return err_set(err, "--kernel chooses the guest kernel of hyperv isolation, "
				       "and this container gets process isolation (%s)", d->reason);
		return 0;
	}
	if (host_namespace_asked(o))
		return err_set(err, "a hyperv container runs in its own VM and cannot share the "
			       "host's namespaces (--network, --pid, --ipc or --uts host): drop "
			       "them, or run it with --isolation=process%s",
			       *d->rule ? " (which the isolation policy forbids here)" : "");
	/* The VM's NIC takes over its netns's eth0 (tc redirects every frame to
	 * its TAP): another container's eth0 would go dead. */
	if (o->network && !strncmp(o->network, "container:", 10))
		return err_set(err, "--network %s: a hyperv container's VM takes its network "
			       "namespace's eth0 for itself and cannot share another container's: "
			       "run it with --isolation=process", o->network);
	if (rt_hyperv_host_check(err) < 0)
		return -1;
	return kernel_choose(root, o->kernel, &needs, &d->kernel, err);
}

void isolation_decision_free(struct isolation_decision *d)
{
	json_decref(d->rules);
	kernel_entry_free(&d->kernel);
	memset(d, 0, sizeof(*d));
}

json_t *isolation_decision_json(const struct isolation_decision *d)
{
	char version[32];
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s}", "Requested", d->requested, "Mode",
			      d->hyperv ? "hyperv" : "process", "Reason", d->reason, "Rule",
			      d->rule, "Rules", d->rules ? d->rules : json_array(), "ImageNeeds",
			      d->needs);

	if (d->hyperv && d->kernel.name) {
		kernel_version_format(&d->kernel.info.version, version, sizeof(version));
		json_object_set_new(j, "Kernel", json_pack("{s:s, s:s}", "Name", d->kernel.name,
							   "Version", version));
	}
	return j;
}

/* What a bundle asks for, in run's terms, for the policy's rules. */
static void bundle_opts(json_t *cfg, struct run_opts *o)
{
	static const char *const host_kinds[] = { "network", "pid", "ipc", "uts" };
	const char **modes[] = { &o->network_mode, &o->pid_mode, &o->ipc_mode, &o->uts_mode };
	json_t *ann = json_object_get(cfg, "annotations"), *linux_ = json_object_get(cfg, "linux");
	json_t *bounding = json_object_get(json_object_get(json_object_get(cfg, "process"),
							   "capabilities"), "bounding");
	const char *key, *privileged;
	json_t *v, *ns;
	size_t i, j, k;

	json_object_foreach(ann, key, v)
		if (json_is_string(v)) {
			_cleanup_free_ char *kv = xasprintf("%s=%s", key, json_string_value(v));

			strv_push(&o->labels, kv);
		}
	json_array_foreach(bounding, i, v) {
		bool usual = false;

		for (k = 0; k < caps_docker_default_len; k++)
			usual |= json_is_string(v) &&
				 !strcmp(json_string_value(v), caps_docker_default[k]);
		if (!usual && json_is_string(v))
			strv_push(&o->cap_add, json_string_value(v));
	}
	privileged = json_string_value(json_object_get(ann, "io.podman.annotations.privileged"));
	o->privileged = privileged && !strcasecmp(privileged, "TRUE");
	if (!json_object_get(linux_, "seccomp"))
		strv_push(&o->security_opt, "seccomp=unconfined");
	/* A namespace the bundle does not ask for is the host's. */
	for (i = 0; i < 4; i++) {
		bool own = false;

		json_array_foreach(json_object_get(linux_, "namespaces"), j, ns)
			own |= !strcmp(json_string_value(json_object_get(ns, "type")) ?: "",
				       host_kinds[i]);
		*modes[i] = own ? NULL : "host";
	}
}

int isolation_decide_bundle(const char *root, const struct host_config *host, json_t *cfg,
			    bool name_hyperv, struct isolation_decision *d, struct err *err)
{
	json_t *ann = json_object_get(cfg, "annotations");
	const char *name = json_string_value(json_object_get(ann, "io.kubernetes.cri.image-name"));
	const char *asked = json_string_value(json_object_get(ann, "io.isobox.isolation"));
	struct run_opts o = {
		.isolation = asked ? asked : name_hyperv ? "hyperv" : NULL,
		.host = host,
	};
	struct image img = { .ref = (char *)(name ? name : "unknown"), .id = (char *)"unknown" };
	int r;

	o.image = img.ref;
	bundle_opts(cfg, &o);
	r = isolation_decide(root, &o, &img, d, err);
	if (!asked && name_hyperv && !*d->rule)
		snprintf(d->reason, sizeof(d->reason), "asked for by the program's name, "
			 "isobox-runtime-hyperv");
	strv_free(&o.labels);
	strv_free(&o.cap_add);
	strv_free(&o.security_opt);
	return r;
}
