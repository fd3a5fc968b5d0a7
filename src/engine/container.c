#include "engine/container.h"
#include "engine/container_mounts.h"
#include "engine/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/host_config.h"
#include "engine/image.h"
#include "engine/isolation.h"
#include "engine/network.h"
#include "engine/network_store.h"
#include "engine/vm_image.h"
#include "engine/spec_build.h"
#include "engine/user.h"
#include "oci/annotations.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/signal.h"

static const char *const adjectives[] = { "brave", "calm", "eager", "fancy", "gentle",
					  "happy", "jolly", "keen", "lucid", "merry",
					  "nifty", "quirky", "serene", "tender", "vivid",
					  "witty", "zealous", "bold", "crisp", "dazzling" };
static const char *const nouns[] = { "turing", "hopper", "lovelace", "ritchie", "thompson",
				     "torvalds", "knuth", "dijkstra", "hamilton", "liskov",
				     "lamport", "backus", "shannon", "noether", "curie",
				     "euler", "gauss", "kepler", "pascal", "wozniak" };

static void random_hex(char *out, size_t bytes)
{
	unsigned char buf[64];
	size_t i;

	if (getrandom(buf, bytes, 0) != (ssize_t)bytes)
		abort();
	for (i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", buf[i]);
}

static bool name_valid(const char *name)
{
	const char *p;

	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= '0' && name[0] <= '9')) || strlen(name) > 128)
		return false;
	for (p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
			return false;
	return true;
}

/* Take the name atomically: the symlink exists or it does not. */
static int name_reserve(const char *root, const char *name, const char *id, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/names", root);
	_cleanup_free_ char *link = xasprintf("%s/%s", dir, name);
	char other[80];
	ssize_t n;

	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	if (symlink(id, link) == 0)
		return 0;
	if (errno != EEXIST)
		return err_sys(err, errno, "reserve name %s", name);
	n = readlink(link, other, sizeof(other) - 1);
	other[n > 0 ? n : 0] = '\0';
	return err_set(err, "Conflict. The container name \"/%s\" is already in use by container \"%s\". "
		       "You have to remove (or rename) that container to be able to reuse "
		       "that name.", name, other);
}

static void name_release(const char *root, const char *name, const char *id)
{
	_cleanup_free_ char *link = xasprintf("%s/names/%s", root, name);
	char target[80];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n > 0) {
		target[n] = '\0';
		if (!strcmp(target, id))
			unlink(link);
	}
}

static int name_pick(const char *root, const struct run_opts *o, const char *id, char **out,
		     struct err *err)
{
	unsigned char r[2];
	int tries;

	if (o->name) {
		if (!name_valid(o->name))
			return err_set(err, "invalid container name \"%s\": only [a-zA-Z0-9]"
				       "[a-zA-Z0-9_.-] are allowed", o->name);
		if (name_reserve(root, o->name, id, err) < 0)
			return -1;
		*out = xstrdup(o->name);
		return 0;
	}
	for (tries = 0; tries < 20; tries++) {
		_cleanup_free_ char *name = NULL;

		if (getrandom(r, 2, 0) != 2)
			return err_sys(err, errno, "getrandom");
		name = xasprintf("%s_%s", adjectives[r[0] % 20], nouns[r[1] % 20]);
		if (tries >= 10) {
			char *n2 = xasprintf("%s%d", name, tries);
			free(name);
			name = n2;
		}
		if (name_reserve(root, name, id, err) == 0) {
			*out = take_ptr(&name);
			return 0;
		}
	}
	return -1;
}

/* docker's /etc/hosts for a container without an address of its own
 * (--network none): the loopback names only. */
static const char etc_hosts[] =
	"127.0.0.1\tlocalhost\n"
	"::1\tlocalhost ip6-localhost ip6-loopback\n"
	"fe00::0\tip6-localnet\n"
	"ff00::0\tip6-mcastprefix\n"
	"ff02::1\tip6-allnodes\n"
	"ff02::2\tip6-allrouters\n";

/* Whether a resolv.conf line names a loopback nameserver, which means
 * nothing in the container's own network namespace. */
static bool nameserver_local(const char *line)
{
	const char *p = line + strlen("nameserver");

	if (strncmp(line, "nameserver", 10) || (*p != ' ' && *p != '\t'))
		return false;
	p += strspn(p, " \t");
	return !strncmp(p, "127.", 4) || !strncmp(p, "::1", 3) ||
	       !strncasecmp(p, "0:0:0:0:0:0:0:1", 15);
}

/* The host's resolv.conf as docker filters it for a container of its own
 * network: loopback nameservers dropped, and Google's when none is left. */
static char *resolv_conf_filter(const char *host)
{
	_cleanup_free_ char *copy = xstrdup(host);
	char *out = xstrdup(""), *line, *save, *next;
	bool any = false;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *p = line + strspn(line, " \t");

		if (nameserver_local(p))
			continue;
		any |= !strncmp(p, "nameserver", 10);
		next = xasprintf("%s%s\n", out, line);
		free(out);
		out = next;
	}
	if (!any) {
		next = xasprintf("%snameserver 8.8.8.8\nnameserver 8.8.4.4\n", out);
		free(out);
		out = next;
	}
	return out;
}

static char *append(char *s, const char *fmt, const char *a, const char *b)
{
	char *next = xasprintf(fmt, s, a, b);

	free(s);
	return next;
}

/* --dns, --dns-search, --dns-option replace the host's lines of that kind,
 * as docker's; --add-host adds "IP\tNAME" lines to /etc/hosts. */
static char *resolv_conf_asked(const char *base, const struct run_opts *o)
{
	_cleanup_free_ char *copy = xstrdup(base);
	char *out = xstrdup(""), *line, *save;
	size_t i;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if ((o->dns.n && !strncmp(line, "nameserver", 10)) ||
		    (o->dns_search.n && !strncmp(line, "search", 6)) ||
		    (o->dns_opt.n && !strncmp(line, "options", 7)))
			continue;
		out = append(out, "%s%s%s\n", line, "");
	}
	for (i = 0; i < o->dns.n; i++)
		out = append(out, "%snameserver %s%s\n", o->dns.v[i], "");
	if (o->dns_search.n) {
		out = append(out, "%s%s%s", "search", "");
		for (i = 0; i < o->dns_search.n; i++)
			out = append(out, "%s %s%s", o->dns_search.v[i], "");
		out = append(out, "%s%s%s\n", "", "");
	}
	if (o->dns_opt.n) {
		out = append(out, "%s%s%s", "options", "");
		for (i = 0; i < o->dns_opt.n; i++)
			out = append(out, "%s %s%s", o->dns_opt.v[i], "");
		out = append(out, "%s%s%s\n", "", "");
	}
	return out;
}

static int write_etc_files(const char *dir, const char *hostname, bool host_network,
			   const struct run_opts *o, struct err *err)
{
	_cleanup_free_ char *h = xasprintf("%s/hostname", dir);
	_cleanup_free_ char *hosts = xasprintf("%s/hosts", dir);
	_cleanup_free_ char *resolv = xasprintf("%s/resolv.conf", dir);
	_cleanup_free_ char *hline = xasprintf("%s\n", hostname);
	_cleanup_free_ char *host_rc = NULL, *rc = NULL, *hostsdata = NULL;
	struct err ignore = { 0 };

	if (read_file("/etc/resolv.conf", 1 << 16, &host_rc, NULL, &ignore) < 0)
		host_rc = xstrdup("");
	/* --network host: the host's files as they are, as docker copies them. */
	rc = host_network ? xstrdup(host_rc) : resolv_conf_filter(host_rc);
	if (!host_network || read_file("/etc/hosts", 1 << 20, &hostsdata, NULL, &ignore) < 0)
		hostsdata = xstrdup(etc_hosts);
	if (o->dns.n || o->dns_search.n || o->dns_opt.n) {
		char *asked = resolv_conf_asked(rc, o);

		free(rc);
		rc = asked;
	}
	for (size_t i = 0; i < o->add_host.n; i++) {
		_cleanup_free_ char *kv = xstrdup(o->add_host.v[i]);
		char *ip = strchr(kv, ':');

		*ip++ = '\0';      /* checked at create */
		hostsdata = append(hostsdata, "%s%s\t%s\n", ip, kv);
	}
	if (write_file_new(h, hline, strlen(hline), 0644, err) < 0 ||
	    write_file_new(hosts, hostsdata, strlen(hostsdata), 0644, err) < 0 ||
	    write_file_new(resolv, rc, strlen(rc), 0644, err) < 0)
		return -1;
	return 0;
}

/* A hyperv container's bundle names its VM: kernel, initramfs, root image,
 * writable disk. Its memory follows from -m (vm_memory_size: the limit plus
 * the guest's own), not an annotation that would leave the guest kernel no
 * room beside the container's limit. */
static int hyperv_bundle(const char *root, const struct image *img,
			 const struct kernel_entry *k, const struct run_opts *o, const char *tmp,
			 const char *dir, json_t *spec, struct err *err)
{
	_cleanup_free_ char *rootfs = NULL, *upper_tmp = xasprintf("%s/upper.ext4", tmp);
	_cleanup_free_ char *upper = xasprintf("%s/upper.ext4", dir);
	json_t *ann = json_object_get(spec, "annotations");

	if (vm_image_rootfs(root, img, &rootfs, err) < 0 ||
	    rt_hyperv_upper_create(upper_tmp, err) < 0)
		return -1;
	json_object_set_new(ann, VM_ANNOTATION_ISOLATION, json_string("hyperv"));
	json_object_set_new(ann, VM_ANNOTATION_KERNEL, json_string(k->vmlinuz));
	json_object_set_new(ann, VM_ANNOTATION_INITRD, json_string(k->initrd));
	json_object_set_new(ann, VM_ANNOTATION_ROOTFS, json_string(rootfs));
	json_object_set_new(ann, VM_ANNOTATION_UPPER, json_string(upper));
	return 0;
}

static json_t *strv_json(const struct strv *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

/* --tmpfs PATH[:OPTIONS] as docker records them: {"PATH": "OPTIONS"}. */
static json_t *tmpfs_json(const struct strv *s)
{
	json_t *m = json_object();
	size_t i;

	for (i = 0; i < s->n; i++) {
		const char *colon = strchr(s->v[i], ':');
		_cleanup_free_ char *path = colon ? strndup(s->v[i], (size_t)(colon - s->v[i]))
						  : xstrdup(s->v[i]);

		json_object_set_new(m, path, json_string(colon ? colon + 1 : ""));
	}
	return m;
}

/* --ulimit NAME=SOFT[:HARD] as docker records them: [{"Name", "Soft", "Hard"}]. */
static json_t *ulimits_json(const struct strv *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->n; i++) {
		const char *eq = strchr(s->v[i], '=');
		_cleanup_free_ char *name = eq ? strndup(s->v[i], (size_t)(eq - s->v[i]))
						: xstrdup(s->v[i]);
		long long soft = eq ? strtoll(eq + 1, NULL, 10) : 0;
		const char *colon = eq ? strchr(eq + 1, ':') : NULL;
		long long hard = colon ? strtoll(colon + 1, NULL, 10) : soft;

		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "Name", name, "Hard",
						   (json_int_t)hard, "Soft", (json_int_t)soft));
	}
	return a;
}

static json_t *labels_json(json_t *image_cfg, const struct strv *labels)
{
	json_t *l = json_object(), *img = json_object_get(image_cfg, "Labels");
	size_t i;

	if (json_is_object(img))
		json_object_update(l, img);
	for (i = 0; i < labels->n; i++) {
		_cleanup_free_ char *k = xstrdup(labels->v[i]);
		char *v = strchr(k, '=');

		if (v)
			*v++ = '\0';
		json_object_set_new(l, k, json_string(v ? v : ""));
	}
	return l;
}

/* docker's: HostConfig.PortBindings and PublishAllPorts as asked (parsed and
 * checked before), Config.ExposedPorts the image's and the published ones. */
static void ports_record(json_t *rec, json_t *image_cfg, const struct run_opts *o)
{
	json_t *hc = json_object_get(rec, "HostConfig"), *exposed = json_object(), *b = NULL;
	json_t *img = json_object_get(image_cfg, "ExposedPorts"), *v;
	const char *k;

	if (net_ports_parse(&o->publish, &b, &(struct err){ 0 }) < 0)
		b = json_object();
	if (json_is_object(img))
		json_object_update(exposed, img);
	json_object_foreach(b, k, v)
		json_object_set_new(exposed, k, json_object());
	json_object_set_new(hc, "PortBindings", b);
	json_object_set_new(hc, "PublishAllPorts", json_boolean(o->publish_all));
	json_object_set_new(json_object_get(rec, "Config"), "ExposedPorts",
			    json_object_size(exposed) ? exposed : (json_decref(exposed), json_null()));
}

/* docker's Mounts, HostConfig.Binds/Mounts/VolumesFrom and Config.Volumes. */
static void mounts_record(json_t *rec, const struct mounts_plan *mp)
{
	json_t *hc = json_object_get(rec, "HostConfig");

	json_object_set(rec, "Mounts", mp->mounts);
	json_object_set(hc, "Binds", mp->binds);
	json_object_set(hc, "VolumesFrom", mp->volumes_from);
	if (!json_is_null(mp->hc_mounts))
		json_object_set(hc, "Mounts", mp->hc_mounts);
	json_object_set(json_object_get(rec, "Config"), "Volumes", mp->cfg_volumes);
}

static json_t *record_build(const char *root, const char *id, const char *name,
			    const struct image *img, const struct run_opts *o, json_t *spec,
			    const char *dir, const struct isolation_decision *d,
			    const char *net_mode, const struct mounts_plan *mp)
{
	json_t *proc = json_object_get(spec, "process");
	json_t *args = json_deep_copy(json_object_get(proc, "args"));
	json_t *cfg = json_object_get(img->config, "config");
	json_t *path = json_incref(json_array_get(args, 0));
	json_t *stop = json_object_get(cfg, "StopSignal");
	_cleanup_free_ char *log = xasprintf("%s/container.log", dir);
	char now[40];
	json_t *rec, *modes;

	time_rfc3339(now, sizeof(now));
	json_array_remove(args, 0);
	rec = json_pack(
		"{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:i,"
		" s:{s:s, s:s, s:O, s:O, s:O, s:s, s:o, s:b, s:b, s:b, s:s, s:s},"
		" s:{s:s, s:b, s:I, s:I, s:I, s:b, s:b, s:o, s:o, s:o, s:o, s:o}}",
		"Id", id, "Created", now, "Path", path, "Args", args, "Name", name, "Image",
		img->id, "ImageName", o->image, "LogPath", log, "RestartCount", 0,
		"Config", "Hostname", json_string_value(json_object_get(spec, "hostname")), "User",
		o->user ? o->user : json_string_value(json_object_get(cfg, "User")) ?: "",
		"Env", json_object_get(proc, "env"), "Cmd", json_object_get(proc, "args"),
		"Entrypoint", o->entrypoint ? json_null() : json_object_get(cfg, "Entrypoint") ?: json_null(),
		"WorkingDir", json_string_value(json_object_get(proc, "cwd")),
		"Labels", labels_json(cfg, &o->labels), "Tty", o->tty, "OpenStdin", o->interactive,
		"AttachStdin", o->interactive && !o->detach, "Image", o->image, "StopSignal",
		o->stop_signal ? o->stop_signal : json_is_string(stop) ? json_string_value(stop) : "SIGTERM",
		"HostConfig", "Isolation", d->hyperv ? "hyperv" : "process", "AutoRemove", o->autoremove, "Memory",
		(json_int_t)o->memory, "NanoCpus", (json_int_t)o->nano_cpus, "PidsLimit",
		(json_int_t)o->pids_limit, "Privileged", o->privileged, "ReadonlyRootfs",
		o->read_only, "CapAdd", strv_json(&o->cap_add), "CapDrop", strv_json(&o->cap_drop),
		"SecurityOpt", strv_json(&o->security_opt), "Tmpfs", tmpfs_json(&o->tmpfs),
		"Ulimits", ulimits_json(&o->ulimits));
	if (rec)
		json_object_set_new(json_object_get(rec, "HostConfig"), "GroupAdd",
				    o->group_add.n ? strv_json(&o->group_add) : json_null());
	if (!rec)
		return NULL;
	json_object_set_new(json_object_get(rec, "HostConfig"), "Init",
			    json_boolean(run_opts_init(o)));
	/* docker's values: "host", else its default for each. */
	modes = json_pack("{s:s, s:s, s:s, s:s}", "NetworkMode",
			  net_mode, "PidMode",
			  o->pid_mode ? o->pid_mode : "", "IpcMode",
			  o->ipc_mode ? o->ipc_mode : "private", "UTSMode",
			  o->uts_mode ? o->uts_mode : "");
	json_object_update(json_object_get(rec, "HostConfig"), modes);
	json_decref(modes);
	json_object_set_new(rec, "IsolationDecision", isolation_decision_json(d));
	json_object_set_new(rec, "NetworkSettings",
			    net_settings_initial(root, net_mode, o->ip, o->mac));
	ports_record(rec, cfg, o);
	json_object_set_new(json_object_get(rec, "HostConfig"), "Dns", strv_json(&o->dns));
	json_object_set_new(json_object_get(rec, "HostConfig"), "DnsOptions",
			    strv_json(&o->dns_opt));
	json_object_set_new(json_object_get(rec, "HostConfig"), "DnsSearch",
			    strv_json(&o->dns_search));
	json_object_set_new(json_object_get(rec, "HostConfig"), "ExtraHosts",
			    o->add_host.n ? strv_json(&o->add_host) : json_null());
	if (o->aliases.n)
		json_object_set_new(json_object_get(json_object_get(json_object_get(
						rec, "NetworkSettings"), "Networks"), net_mode),
				    "Aliases", strv_json(&o->aliases));
	if (o->mac)
		json_object_set_new(json_object_get(rec, "Config"), "MacAddress",
				    json_string(o->mac));
	mounts_record(rec, mp);
	return rec;
}

static json_t *group_add_annotation(const gid_t *gids, size_t n)
{
	_cleanup_free_ char *text = xstrdup("");
	size_t i;

	for (i = 0; i < n; i++) {
		char *next = xasprintf("%s%s%u", text, i ? "," : "", (unsigned)gids[i]);

		free(text);
		text = next;
	}
	return json_string(text);
}

static int layers_top_first(const struct image *img, const char ***out)
{
	const char **v = xmalloc((img->n_layers + 1) * sizeof(char *));
	size_t i;

	for (i = 0; i < img->n_layers; i++)
		v[i] = img->layer_dirs[img->n_layers - 1 - i];
	*out = v;
	return 0;
}

static int json_write_new(const char *path, json_t *j, struct err *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

	if (!s)
		return err_set(err, "encode %s", path);
	return write_file_new(path, s, strlen(s), 0600, err);
}

/* A container on a network joins the netns its start makes at ROOT/netns/<id>. */
static void spec_netns(json_t *spec, const char *path)
{
	json_t *nsl = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
	size_t i;

	json_array_foreach(nsl, i, ns)
		if (path && !strcmp(json_string_value(json_object_get(ns, "type")) ?: "", "network"))
			json_object_set_new(ns, "path", json_string(path));
}

static int container_populate(const char *root, const struct run_opts *o,
			      const struct image *img, const struct isolation_decision *d,
			      const char *id, const char *name, const char *tmp, const char *dir,
			      const char *net_mode, struct err *err)
{
	_cleanup_free_ char *netns = net_netns_path(root, id, net_mode);
	struct mounts_plan mp __attribute__((cleanup(mounts_plan_free))) = { 0 };
	static const char *const subdirs[] = { "rootfs", "upper", "work" };
	_cleanup_free_ const char **layers = NULL;
	_cleanup_json_ json_t *spec = NULL, *rec = NULL;
	_cleanup_free_ char *cfg_path = xasprintf("%s/config.json", tmp);
	_cleanup_free_ char *rec_path = xasprintf("%s/container.json", tmp);
	char hostname[13];
	struct user_ids ids;
	const char *user = o->user;
	size_t i, n_user_gids;

	snprintf(hostname, sizeof(hostname), "%.12s", id);
	if (!user)
		user = json_string_value(json_object_get(json_object_get(img->config, "config"),
							 "User"));
	layers_top_first(img, &layers);
	if (user_resolve(layers, img->n_layers, user, &ids, err) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", tmp, subdirs[i]);

		if (mkdir_p(p, 0755, err) < 0)
			return -1;
	}
	n_user_gids = ids.n_gids;
	if (user_group_add(layers, img->n_layers, strv_get(&o->group_add), o->group_add.n, &ids,
			   err) < 0)
		return -1;
	if (write_etc_files(tmp, o->hostname ? o->hostname : hostname,
			    o->network_mode && !strcmp(o->network_mode, "host"), o, err) < 0)
		return -1;
	if (spec_build(img, o, dir, o->hostname ? o->hostname : hostname, &ids, &spec, err) < 0)
		return -1;
	if (ids.n_gids > n_user_gids)
		json_object_set_new(json_object_get(spec, "annotations"), ANNOTATION_GROUP_ADD,
				    group_add_annotation(ids.gids + n_user_gids,
							 ids.n_gids - n_user_gids));
	spec_netns(spec, netns);
	if (container_mounts_resolve(root, o, img, d->hyperv, &mp, err) < 0)
		return -1;
	json_array_extend(json_object_get(spec, "mounts"), mp.oci);
	if (d->hyperv && hyperv_bundle(root, img, &d->kernel, o, tmp, dir, spec, err) < 0)
		goto fail;
	rec = record_build(root, id, name, img, o, spec, dir, d, net_mode, &mp);
	if (!rec) {
		err_set(err, "build the container record");
		goto fail;
	}
	if (json_write_new(cfg_path, spec, err) < 0 || json_write_new(rec_path, rec, err) < 0)
		goto fail;
	return 0;
fail:
	/* The anonymous volumes made for this container go with it. */
	volume_remove_anonymous(root, mp.mounts);
	return -1;
}

/* After the record is written, a failed create drops its anonymous volumes. */
static void created_volumes_remove(const char *root, const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/container.json", tmp);
	_cleanup_json_ json_t *rec = NULL;

	if (json_load_path(path, &rec, &(struct err){ 0 }) == 0)
		volume_remove_anonymous(root, json_object_get(rec, "Mounts"));
}

/* The create event: what the container is, and the decision on its isolation. */
static int create_event(const char *root, const char *id, const char *name,
			const struct run_opts *o, const struct isolation_decision *d,
			struct err *err)
{
	json_t *attrs = json_pack("{s:s, s:s, s:s, s:s, s:s}", "image", o->image, "name", name,
				  "isolation", d->hyperv ? "hyperv" : "process",
				  "isolation.requested", d->requested, "isolation.reason",
				  d->reason);

	if (*d->rule)
		json_object_set_new(attrs, "isolation.rule", json_string(d->rule));
	if (d->hyperv)
		json_object_set_new(attrs, "kernel", json_string(d->kernel.name));
	return events_append(root, "create", id, attrs, err);
}

void run_opts_free(struct run_opts *o)
{
	struct strv *lists[] = { &o->cmd, &o->env, &o->tmpfs, &o->ulimits, &o->cap_add,
				 &o->cap_drop, &o->security_opt, &o->labels, &o->group_add,
				 &o->publish, &o->aliases, &o->dns, &o->dns_search, &o->dns_opt,
				 &o->add_host, &o->volumes, &o->mounts, &o->volumes_from };
	size_t i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		strv_free(lists[i]);
}

int container_create(const char *root, const struct run_opts *o, struct container *c,
		     struct err *err)
{
	struct image img = { 0 };
	char id[65];
	_cleanup_free_ char *name = NULL, *base = xasprintf("%s/containers", root);
	_cleanup_free_ char *tmp = NULL, *dir = NULL, *net_mode = NULL;
	struct isolation_decision d;
	int r;

	memset(c, 0, sizeof(*c));
	if (net_mode_resolve(root, o->network ? o->network
			     : o->host && o->host->default_network ? o->host->default_network
			     : NETWORK_DEFAULT, o->ip, o->mac, &net_mode, err) < 0)
		return -1;
	{
		_cleanup_json_ json_t *b = NULL;

		if (net_ports_parse(&o->publish, &b, err) < 0)
			return -1;
		if (o->aliases.n && (!strcmp(net_mode, "bridge") || !strcmp(net_mode, "none") ||
				     !strcmp(net_mode, "host") || !strncmp(net_mode, "container:", 10)))
			return err_set(err, "network-scoped alias is supported only for containers "
				       "in user defined networks");
		for (size_t i = 0; i < o->add_host.n; i++) {
			const char *colon = strchr(o->add_host.v[i], ':');
			struct in_addr a;

			if (!colon || colon == o->add_host.v[i] ||
			    inet_pton(AF_INET, colon + 1, &a) != 1)
				return err_set(err, "invalid argument \"%s\" for \"--add-host\" flag: "
					       "invalid IP address in add-host: \"%s\"",
					       o->add_host.v[i], colon ? colon + 1 : "");
		}
		if ((json_object_size(b) || o->publish_all) &&
		    (!strcmp(net_mode, "none") || !strcmp(net_mode, "host") ||
		     !strncmp(net_mode, "container:", 10)) && json_object_size(b))
			return err_set(err, "conflicting options: port publishing and the "
				       "container type network mode");
	}
	if (image_lookup(root, o->image, &img, err) < 0)
		return -1;
	if (isolation_decide(root, o, &img, &d, err) < 0) {
		isolation_decision_free(&d);
		image_free(&img);
		return -1;
	}
	random_hex(id, 32);
	tmp = xasprintf("%s/.tmp-%s", base, id);
	dir = xasprintf("%s/%s", base, id);
	r = name_pick(root, o, id, &name, err);
	if (r == 0) {
		r = mkdir_p(tmp, 0711, err);
		if (r == 0)
			r = container_populate(root, o, &img, &d, id, name, tmp, dir, net_mode,
					       err);
		if (r == 0 && rename(tmp, dir) < 0)
			r = err_sys(err, errno, "create %s", dir);
		if (r < 0) {
			created_volumes_remove(root, tmp);
			rm_rf(tmp, &(struct err){ 0 });
			name_release(root, name, id);
		}
		/* The container is there: a log that cannot take the event
		 * does not undo it (the decision is in its record too). */
		if (r == 0)
			create_event(root, id, name, o, &d, &(struct err){ 0 });
	}
	image_free(&img);
	isolation_decision_free(&d);
	return r < 0 ? -1 : container_find(root, id, c, err);
}

static int container_load(const char *root, const char *id, struct container *c,
			  struct err *err)
{
	_cleanup_free_ char *path = NULL;

	c->id = xstrdup(id);
	c->dir = xasprintf("%s/containers/%s", root, id);
	path = xasprintf("%s/container.json", c->dir);
	if (json_load_path(path, &c->record, err) < 0) {
		container_free(c);
		return -1;
	}
	return 0;
}

static bool is_hex(const char *s)
{
	return *s && strspn(s, "0123456789abcdef") == strlen(s);
}

int container_find(const char *root, const char *ref, struct container *c, struct err *err)
{
	_cleanup_free_ char *link = xasprintf("%s/names/%s", root, ref);
	_cleanup_free_ char *base = xasprintf("%s/containers", root);
	_cleanup_closedir_ DIR *d = NULL;
	char target[80], match[256] = "";
	struct dirent *de;
	ssize_t n;
	int hits = 0;

	memset(c, 0, sizeof(*c));
	if (!*ref || strchr(ref, '/'))
		return err_set(err, "No such container: %s", ref);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		if (container_load(root, target, c, err) == 0)
			return 0;
	}
	d = opendir(base);
	if (is_hex(ref) && d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] != '.' && !strncmp(de->d_name, ref, strlen(ref))) {
				snprintf(match, sizeof(match), "%s", de->d_name);
				hits++;
			}
		}
	}
	if (hits > 1)
		return err_set(err, "multiple containers match the prefix %s: give more of the id",
			       ref);
	if (hits == 0 || container_load(root, match, c, err) < 0)
		return err_set(err, "No such container: %s", ref);
	return 0;
}

void container_free(struct container *c)
{
	free(c->id);
	free(c->dir);
	json_decref(c->record);
	memset(c, 0, sizeof(*c));
}

static const char *container_name(const struct container *c)
{
	return json_string_value(json_object_get(c->record, "Name"));
}

int container_event(const struct container *c, const char *action, json_t *extra,
			   struct err *err)
{
	_cleanup_free_ char *root = xstrdup(c->dir);   /* by name: it may be gone */
	json_t *attrs = json_pack("{s:s, s:s}", "image",
				  json_string_value(json_object_get(c->record, "ImageName")) ?: "",
				  "name", container_name(c) ?: "");

	if (extra) {
		json_object_update(attrs, extra);
		json_decref(extra);
	}
	*strrchr(root, '/') = 0;
	*strrchr(root, '/') = 0;
	return events_append(root, action, c->id, attrs, err);
}

/* A record written before HostConfig took docker's types (Tmpfs a map,
 * Ulimits objects), shown in them. */
static void record_upgrade(json_t *rec)
{
	json_t *hc = json_object_get(rec, "HostConfig"), *v;
	struct strv s = { 0 };
	size_t i;

	if (json_is_array(json_object_get(hc, "Tmpfs"))) {
		json_array_foreach(json_object_get(hc, "Tmpfs"), i, v)
			strv_push(&s, json_string_value(v) ?: "");
		json_object_set_new(hc, "Tmpfs", tmpfs_json(&s));
		strv_free(&s);
	}
	v = json_object_get(hc, "Ulimits");
	if (json_is_string(json_array_get(v, 0))) {
		json_array_foreach(json_object_get(hc, "Ulimits"), i, v)
			strv_push(&s, json_string_value(v));
		json_object_set_new(hc, "Ulimits", ulimits_json(&s));
		strv_free(&s);
	}
	/* HostConfig keys dockerd 20.10 always shows (docker-py reads LogConfig,
	 * compose RestartPolicy), with its values for what isobox does not set. */
	json_object_update_missing_new(
		hc, json_pack("{s:{s:s, s:{}}, s:{s:s, s:i}, s:s, s:s, s:s, s:s, s:s, s:I, s:s,"
			      " s:[i, i], s:i, s:s, s:s, s:s, s:b, s:o, s:o}",
			      "LogConfig", "Type", "json-file", "Config", "RestartPolicy", "Name",
			      "no", "MaximumRetryCount", 0, "VolumeDriver", "", "CgroupnsMode",
			      "private", "Runtime", "isobox", "UsernsMode", "", "ContainerIDFile", "",
			      "ShmSize", (json_int_t)67108864, "CgroupParent", "", "ConsoleSize", 0, 0,
			      "OomScoreAdj", 0, "CpusetCpus", "", "CpusetMems", "", "Cgroup", "",
			      "OomKillDisable", 0, "Links", json_null(), "Devices", json_array()));
}

/* "k=v,k=v" options' value of key, or NULL (malloc'ed). */
static char *option_value(const char *opts, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = opts; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0))
		if (!strncmp(p, key, n) && p[n] == '=')
			return strndup(p + n + 1, strcspn(p + n + 1, ","));
	return NULL;
}

/* What dockerd 20.10's inspect has beside the record: the files bound into
 * /etc, the storage (GraphDriver: the overlay's directories; a VM's writable
 * disk and its layers' disks), the spec's masked and read-only paths,
 * docker's values for what isobox does not set. */
static void inspect_docker_keys(const struct container *c, json_t *j)
{
	_cleanup_free_ char *spec_path = xasprintf("%s/config.json", c->dir);
	_cleanup_json_ json_t *spec = NULL;
	json_t *hc = json_object_get(j, "HostConfig"), *cfg = json_object_get(j, "Config");
	json_t *spec_linux, *ann, *data = json_object(), *volumes = json_object(), *m;
	const char *overlay;
	size_t i;

	json_load_path(spec_path, &spec, &(struct err){ 0 });
	spec_linux = json_object_get(spec, "linux");
	ann = json_object_get(spec, "annotations");
	overlay = json_string_value(json_object_get(ann, "io.isobox.overlay"));
	{
		_cleanup_free_ char *lower = overlay ? option_value(overlay, "lowerdir") : NULL;
		bool vm = !strcmp(json_string_value(json_object_get(hc, "Isolation")) ?: "",
				  "hyperv");

		json_object_set_new(data, "LowerDir", json_string(lower ? lower : ""));
		json_object_set_new(data, "MergedDir", json_sprintf("%s/rootfs", c->dir));
		json_object_set_new(data, "UpperDir", json_sprintf("%s/%s", c->dir,
								   vm ? "upper.ext4" : "upper"));
		json_object_set_new(data, "WorkDir", json_sprintf("%s/work", c->dir));
	}
	/* Config.Volumes: the anonymous ones (an image's VOLUME, run -v DEST) */
	json_array_foreach(json_object_get(j, "Mounts"), i, m)
		if (!strcmp(json_string_value(json_object_get(m, "Type")) ?: "", "volume") &&
		    strlen(json_string_value(json_object_get(m, "Name")) ?: "") == 64)
			json_object_set_new(volumes,
					    json_string_value(json_object_get(m, "Destination")) ?: "",
					    json_object());
	json_object_update_missing_new(
		j, json_pack("{s:s, s:s+, s:s+, s:s+, s:s, s:o, s:{s:s, s:o}, s:s, s:s, s:s}",
			     "Driver", "overlay2", "HostnamePath", c->dir, "/hostname", "HostsPath",
			     c->dir, "/hosts", "ResolvConfPath", c->dir, "/resolv.conf",
			     "Platform", "linux", "ExecIDs", json_null(), "GraphDriver", "Name",
			     "overlay2", "Data", data, "MountLabel", "", "ProcessLabel", "",
			     "AppArmorProfile", ""));
	json_object_update_missing_new(
		cfg, json_pack("{s:s, s:b, s:b, s:b, s:n, s:o}", "Domainname", "", "AttachStdout",
			       1, "AttachStderr", 1, "StdinOnce", 0, "OnBuild",
			       "Volumes", json_object_size(volumes) ? volumes :
			       (json_decref(volumes), json_null())));
	json_object_update_missing_new(
		hc, json_pack("{s:i, s:[], s:[], s:[], s:[], s:[], s:i, s:i, s:i, s:i, s:i, s:i, s:i,"
			      " s:n, s:n, s:i, s:i, s:i, s:i, s:i, s:i, s:n}",
			      "BlkioWeight", 0, "BlkioWeightDevice", "BlkioDeviceReadBps",
			      "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
			      "CpuCount", 0, "CpuPercent", 0, "CpuPeriod", 0, "CpuQuota", 0,
			      "CpuRealtimePeriod", 0, "CpuRealtimeRuntime", 0, "CpuShares", 0,
			      "DeviceCgroupRules", "DeviceRequests", "IOMaximumBandwidth", 0,
			      "IOMaximumIOps", 0, "KernelMemory", 0, "KernelMemoryTCP", 0,
			      "MemoryReservation", 0, "MemorySwap", 0, "MemorySwappiness"));
	if (!json_object_get(hc, "MaskedPaths"))
		json_object_set(hc, "MaskedPaths", json_object_get(spec_linux, "maskedPaths") ?:
				json_null());
	if (!json_object_get(hc, "ReadonlyPaths"))
		json_object_set(hc, "ReadonlyPaths", json_object_get(spec_linux, "readonlyPaths") ?:
				json_null());
}

int container_inspect(const struct container *c, json_t **out, struct err *err)
{
	struct rt_state st;
	json_t *j;

	if (rt_state_read(c->dir, &st, err) < 0)
		return -1;
	j = json_deep_copy(c->record);
	record_upgrade(j);
	inspect_docker_keys(c, j);
	json_object_set_new(j, "Name", json_sprintf("/%s", container_name(c)));
	json_object_set_new(
		j, "State",
		json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
			  rt_status_name(st.status), "Running", st.status == RT_RUNNING, "Paused",
			  0, "Restarting", 0, "OOMKilled", st.oom_killed, "Dead", 0, "Pid",
			  st.status == RT_RUNNING ? st.pid : 0, "ExitCode", st.exit_code, "Error",
			  st.error, "StartedAt", *st.started_at ? st.started_at : "0001-01-01T00:00:00Z",
			  "FinishedAt", *st.finished_at ? st.finished_at : "0001-01-01T00:00:00Z"));
	*out = j;
	return 0;
}

static int created_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "Created"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "Created"));

	return strcmp(y ? y : "", x ? x : "");
}

int container_list(const char *root, bool all, json_t **out, struct err *err)
{
	_cleanup_free_ char *base = xasprintf("%s/containers", root);
	_cleanup_closedir_ DIR *d = opendir(base);
	json_t **items = NULL, *arr = json_array();
	size_t n = 0, i;
	struct dirent *de;

	net_reconcile(root);
	while (d && (de = readdir(d))) {
		struct container c;
		json_t *j;

		if (de->d_name[0] == '.')
			continue;
		if (container_load(root, de->d_name, &c, &(struct err){ 0 }) < 0)
			continue;       /* removed meanwhile */
		if (container_inspect(&c, &j, &(struct err){ 0 }) == 0) {
			if (all || json_is_true(json_object_get(json_object_get(j, "State"),
								"Running"))) {
				items = realloc(items, (n + 1) * sizeof(*items));
				items[n++] = j;
			} else {
				json_decref(j);
			}
		}
		container_free(&c);
	}
	if (n)
		qsort(items, n, sizeof(*items), created_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	*out = arr;
	return 0;
}

/* What the monitor's exit hook needs: it runs in the monitor, which joined
 * the container's netns to spawn it, so it goes back to the start command's
 * (host_netns, inherited) before undoing the network. */
struct exit_data {
	const char *root;
	int host_netns;
	bool autoremove;
};

/* At exit, in the monitor, before the exit is recorded: docker's oom and
 * die events. */
static void container_on_died(const char *dir, int exit_code, bool oom_killed, void *data)
{
	const struct exit_data *x = data;
	_cleanup_free_ char *copy = xstrdup(dir);
	struct err ignore = { 0 };
	struct container c;
	char code[16];

	if (container_load(x->root, strrchr(copy, '/') + 1, &c, &ignore) < 0)
		return;
	snprintf(code, sizeof(code), "%d", exit_code);
	if (oom_killed)
		container_event(&c, "oom", NULL, &ignore);
	container_event(&c, "die", json_pack("{s:s}", "exitCode", code), &ignore);
	container_free(&c);
}

/* Once the exit is recorded, in the monitor: the network undone; with --rm,
 * out of sight at once (destroy), and the monitor deletes the returned
 * directory after telling the caller. */
static char *container_on_exit(const char *dir, void *data)
{
	const struct exit_data *x = data;
	const char *root = x->root;
	_cleanup_free_ char *copy = xstrdup(dir);
	struct err ignore = { 0 };
	struct container c;
	char *trash;

	if (x->host_netns >= 0 && setns(x->host_netns, CLONE_NEWNET) == 0)
		net_container_release(root, dir, &ignore);
	if (container_load(root, strrchr(copy, '/') + 1, &c, &ignore) < 0)
		return NULL;
	if (!x->autoremove) {
		container_free(&c);
		return NULL;
	}
	trash = xasprintf("%s/containers/.rm-%s", root, c.id);
	if (rename(c.dir, trash) < 0) {
		free(trash);
		trash = NULL;
	}
	name_release(root, container_name(&c), c.id);
	/* docker's run --rm: the container's anonymous volumes go with it */
	volume_remove_anonymous(root, json_object_get(c.record, "Mounts"));
	container_event(&c, "destroy", NULL, &ignore);
	container_free(&c);
	return trash;
}

int container_start(const char *root, struct container *c, bool attach, bool interactive,
		    int *exit_code, struct err *err)
{
	json_t *cfg = json_object_get(c->record, "Config");
	_cleanup_free_ char *cache = xasprintf("%s/cache/seccomp", root);
	_cleanup_free_ char *net_lock = net_lock_path(c->dir);
	_cleanup_close_ int lock = -1, host_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct exit_data x = {
		.root = root,
		.host_netns = host_netns,
		.autoremove = json_is_true(json_object_get(json_object_get(c->record, "HostConfig"),
							   "AutoRemove")),
	};
	struct rt_state st;
	struct rt_start rs = {
		.id = c->id,
		.dir = c->dir,
		.cache_dir = cache,
		.tty = json_is_true(json_object_get(cfg, "Tty")),
		.attach = attach,
		.interactive = interactive && json_is_true(json_object_get(cfg, "OpenStdin")),
		.on_exit = container_on_exit,
		.on_died = container_on_died,
		.on_exit_data = &x,
	};

	if (rt_state_read(c->dir, &st, err) < 0)
		return -1;
	if (st.status == RT_RUNNING)
		return attach ? err_set(err, "container %s is already running", c->id) : 0;
	/* Held until the monitor has it too (it inherits the descriptor): while
	 * anyone holds it, reconcile leaves this container's network alone. */
	lock = lock_path(net_lock, LOCK_EX, err);
	if (lock < 0)
		return -1;
	if (net_container_setup(root, c, err) < 0)
		return -1;
	if (container_event(c, "start", NULL, err) < 0 || rt_start(&rs, exit_code, err) < 0) {
		net_container_teardown(root, c->dir, &(struct err){ 0 });
		return -1;
	}
	return 0;
}

int container_kill(struct container *c, const char *signal, struct err *err)
{
	int sig = signal_parse(signal ? signal : "KILL");

	char num[16];

	if (sig < 0)
		return err_set(err, "invalid signal: %s", signal);
	/* before the signal: the monitor's die may follow at once */
	snprintf(num, sizeof(num), "%d", sig);
	container_event(c, "kill", json_pack("{s:s}", "signal", num), &(struct err){ 0 });
	if (rt_kill(c->dir, sig, err) < 0)
		return err_wrap(err, "cannot kill container %s", c->id);
	return 0;
}

int container_stop(struct container *c, int timeout, struct err *err)
{
	const char *sig = json_string_value(
		json_object_get(json_object_get(c->record, "Config"), "StopSignal"));
	struct rt_state st;
	int code;

	int signo = signal_parse(sig) > 0 ? signal_parse(sig) : SIGTERM;
	char num[16];

	if (rt_state_read(c->dir, &st, err) < 0)
		return -1;
	if (st.status != RT_RUNNING)
		return 0;
	/* each kill event before its signal: the monitor's die may follow at once */
	snprintf(num, sizeof(num), "%d", signo);
	container_event(c, "kill", json_pack("{s:s}", "signal", num), &(struct err){ 0 });
	if (rt_kill(c->dir, signo, err) < 0)
		return 0;       /* it exited meanwhile */
	if (rt_wait_timeout(c->dir, timeout * 1000, err) != 1) {
		container_event(c, "kill", json_pack("{s:s}", "signal", "9"), &(struct err){ 0 });
		rt_kill(c->dir, SIGKILL, &(struct err){ 0 });
		if (rt_wait(c->dir, &code, err) < 0)
			return -1;
	}
	return container_event(c, "stop", NULL, &(struct err){ 0 }), 0;
}

int container_wait(struct container *c, int *exit_code, struct err *err)
{
	return rt_wait(c->dir, exit_code, err);
}

int container_wait_timeout(struct container *c, int timeout_ms, struct err *err)
{
	struct rt_state st;
	int done = rt_wait_timeout(c->dir, timeout_ms, err);

	if (done == 0)
		return 0;
	/* Waiting may end (or fail) before the state says so: the state decides. */
	if (rt_state_read(c->dir, &st, err) == 0 && st.status != RT_RUNNING)
		return 1;
	return done < 0 ? -1 : 0;
}

int container_rename(const char *root, struct container *c, const char *name, struct err *err)
{
	_cleanup_free_ char *old = xstrdup(container_name(c));
	_cleanup_free_ char *path = xasprintf("%s/container.json", c->dir);

	if (*name == '/')
		name++;
	if (!*name)
		return err_set(err, "Neither old nor new names may be empty");
	if (!strcmp(name, old))
		return err_set(err, "Renaming a container with the same name as its current name");
	if (!name_valid(name))
		return err_set(err, "Error when allocating new name: Invalid container name (/%s), "
			       "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	if (name_reserve(root, name, c->id, err) < 0)
		return err_wrap(err, "Error when allocating new name");
	json_object_set_new(c->record, "Name", json_string(name));
	if (json_save_replace(path, c->record, err) < 0) {
		json_object_set_new(c->record, "Name", json_string(old));
		name_release(root, name, c->id);
		return -1;
	}
	name_release(root, old, c->id);
	return container_event(c, "rename", json_pack("{s:s+}", "oldName", "/", old), err);
}

int container_remove(const char *root, struct container *c, bool force, struct err *err)
{
	_cleanup_free_ char *trash = xasprintf("%s/containers/.rm-%s", root, c->id);
	struct rt_state st;
	int code;

	if (rt_state_read(c->dir, &st, err) < 0)
		return -1;
	if (st.status == RT_RUNNING) {
		if (!force)
			return err_set(err, "cannot remove container %s: container is running: "
				       "stop the container before removing or force remove",
				       c->id);
		rt_kill(c->dir, SIGKILL, &(struct err){ 0 });
		if (rt_wait(c->dir, &code, err) < 0)
			return -1;
	}
	if (rt_cleanup(c->id, err) < 0)
		return -1;
	net_container_teardown(root, c->dir, &(struct err){ 0 });
	/* Out of sight first, so a listing never sees half a container. */
	if (rename(c->dir, trash) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "remove %s", c->dir);
	name_release(root, container_name(c), c->id);
	container_event(c, "destroy", NULL, &(struct err){ 0 });
	return rm_rf(trash, err);
}

int container_remove_volumes(const char *root, struct container *c, bool force,
			     struct err *err)
{
	_cleanup_json_ json_t *mounts = json_incref(json_object_get(c->record, "Mounts"));

	if (container_remove(root, c, force, err) < 0)
		return -1;
	volume_remove_anonymous(root, mounts);
	return 0;
}

static bool container_is_hyperv(const struct container *c)
{
	json_t *hc = json_object_get(c->record, "HostConfig");

	return !strcmp(json_string_value(json_object_get(hc, "Isolation")) ?: "", "hyperv");
}

int container_exec(struct container *c, const struct exec_opts *o, int *exit_code,
		   struct err *err)
{
	_cleanup_free_ char *cache = xasprintf("%s/../../cache/seccomp", c->dir);
	struct rt_exec re = { .dir = c->dir, .cache_dir = cache, .args = strv_get(&o->cmd),
			      .env = strv_get(&o->env),
			      .cwd = o->workdir, .tty = o->tty, .interactive = o->interactive,
			      .detach = o->detach };
	unsigned gids[PASSWD_MAX_GROUPS];
	char user[64];

	if (!o->cmd.n)
		return err_set(err, "exec needs a command");
	/* In a VM the guest looks the user up in the container's own files. */
	if (o->user && container_is_hyperv(c)) {
		re.user = o->user;
	} else if (o->user) {
		_cleanup_free_ char *proot = NULL;
		struct rt_state st;
		struct user_ids ids;
		const char *roots[1];
		size_t i;

		if (rt_state_read(c->dir, &st, err) < 0)
			return -1;
		proot = xasprintf("/proc/%d/root", st.pid);
		roots[0] = proot;
		if (user_resolve(roots, 1, o->user, &ids, err) < 0)
			return -1;
		snprintf(user, sizeof(user), "%u:%u", ids.uid, ids.gid);
		re.user = user;
		for (i = 0; i < ids.n_gids; i++)
			gids[i] = ids.gids[i];
		re.gids = gids;
		re.n_gids = ids.n_gids;
	}
	if (rt_exec(&re, exit_code, err) < 0)
		return err_wrap(err, "container %s", c->id);
	return 0;
}

bool container_image_in_use_cb(const char *image_id, void *root_ctx)
{
	struct err ignore = { 0 };

	return container_image_in_use(root_ctx, image_id, NULL, &ignore) != 0;
}

int container_image_in_use(const char *root, const char *image_id, char **name_out,
			   struct err *err)
{
	_cleanup_json_ json_t *all = NULL;
	json_t *c;
	size_t i;

	if (container_list(root, true, &all, err) < 0)
		return -1;
	json_array_foreach(all, i, c) {
		const char *img = json_string_value(json_object_get(c, "Image"));

		if (img && !strcmp(img, image_id)) {
			if (name_out)
				*name_out = xstrdup(json_string_value(json_object_get(c, "Name")) + 1);
			return 1;
		}
	}
	return 0;
}
