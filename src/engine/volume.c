/* The volume store (volume.h): ROOT/volumes/<name>/{_data,volume.json},
 * changed under the flock of ROOT/volumes/.lock. */
#include "engine/volume.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/container.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

int volume_name_check(const char *name, struct err *err)
{
	size_t len = strlen(name);

	if (len < 2)
		return err_set(err, "create %s: volume name is too short, names should be at "
			       "least two alphanumeric characters", name);
	if (!strchr(NAME_CHARS, name[0]) || strchr("_.-", name[0]) ||
	    strspn(name, NAME_CHARS) != len)
		return err_set(err, "create %s: \"%s\" includes invalid characters for a local "
			       "volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If "
			       "you intended to pass a host directory, use absolute path",
			       name, name);
	/* Our own limit: a name is a directory name under ROOT/volumes. */
	if (len > 255)
		return err_set(err, "create %.64s...: volume name is too long (255 at most)", name);
	return 0;
}

char *volume_data_path(const char *root, const char *name)
{
	return xasprintf("%s/volumes/%s/_data", root, name);
}

static int volume_lock(const char *root, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/volumes", root);
	_cleanup_free_ char *lock = xasprintf("%s/volumes/.lock", root);

	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	return lock_path(lock, LOCK_EX, err);
}

static json_t *kv_json(const struct strv *kv)
{
	json_t *o;
	size_t i;

	if (!kv->n)
		return json_null();
	o = json_object();
	for (i = 0; i < kv->n; i++) {
		const char *eq = strchr(kv->v[i], '=');
		_cleanup_free_ char *k = eq ? strndup(kv->v[i], (size_t)(eq - kv->v[i]))
					    : xstrdup(kv->v[i]);

		json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
	}
	return o;
}

static bool volume_exists(const char *root, const char *name)
{
	_cleanup_free_ char *meta = xasprintf("%s/volumes/%s/volume.json", root, name);

	return access(meta, F_OK) == 0;
}

/* -o type=block [-o size=SIZE]: *size (1 GiB by default), or -1 when not a
 * block volume; the local driver's other type= values and device= mount a
 * host device or filesystem, which isobox does not do. */
static int block_opts(const struct volume_create_opts *o, const char *name, long long *size,
		      struct err *err)
{
	const char *size_opt = NULL;
	bool block = false;
	long long v = 1LL << 30;
	size_t i;

	for (i = 0; i < o->options.n; i++) {
		const char *opt = o->options.v[i];

		if (!strcmp(opt, "type=block"))
			block = true;
		else if (!strncmp(opt, "size=", 5))
			size_opt = opt + 5;
		else if (!strncmp(opt, "type=", 5) || !strncmp(opt, "device=", 7))
			return err_set(err, "create %s: isobox's local driver mounts no host device "
				       "or filesystem: option %s is not supported (type=block makes "
				       "a disk of the volume's own)", name ? name : "", opt);
	}
	if (block && size_opt && (parse_bytes(size_opt, &v) < 0 || v < (16LL << 20)))
		return err_set(err, "create %s: invalid size=%s: a block volume takes a size of "
			       "16m or more, as 512m or 10g", name ? name : "", size_opt);
	if (size)
		*size = block ? v : -1;
	return 0;
}

bool volume_is_block(const char *root, const char *name)
{
	_cleanup_free_ char *meta = xasprintf("%s/volumes/%s/volume.json", root, name);
	_cleanup_json_ json_t *j = NULL;

	if (json_load_path(meta, &j, &(struct err){ 0 }) < 0)
		return false;
	return !strcmp(json_string_value(json_object_get(json_object_get(j, "Options"),
							 "type")) ?: "", "block");
}

static int volume_new(const char *root, const char *name, const struct volume_create_opts *o,
		      struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/volumes/%s", root, name);
	_cleanup_free_ char *tmp = xasprintf("%s/volumes/.tmp-%s", root, name);
	_cleanup_free_ char *data = xasprintf("%s/_data", tmp);
	_cleanup_free_ char *meta = xasprintf("%s/volume.json", tmp);
	_cleanup_json_ json_t *j = NULL;
	long long block_size;
	char now[40];

	if (block_opts(o, name, &block_size, err) < 0)
		return -1;
	time_rfc3339(now, sizeof(now));
	/* docker's CreatedAt has seconds only. */
	snprintf(now + 19, sizeof(now) - 19, "Z");
	j = json_pack("{s:s, s:o, s:o, s:b}", "CreatedAt", now, "Labels", kv_json(&o->labels),
		      "Options", kv_json(&o->options), "Anonymous", o->anonymous);
	rm_rf(tmp, &(struct err){ 0 });
	if (mkdir(tmp, 0701) < 0 && errno != EEXIST)
		return err_sys(err, errno, "create %s", tmp);
	if ((block_size < 0 ? mkdir(data, 0755) : rt_hyperv_disk_create(data, block_size, err)) < 0 ||
	    json_save_atomic(meta, j, err) < 0 || rename(tmp, dir) < 0) {
		int e = errno;

		rm_rf(tmp, &(struct err){ 0 });
		return err->msg[0] ? -1 : err_sys(err, e, "create volume %s", name);
	}
	return 0;
}

int volume_create(const char *root, const struct volume_create_opts *o, char **name_out,
		  bool *created, struct err *err)
{
	_cleanup_close_ int lock = -1;
	char id[65];
	unsigned char rnd[32];
	const char *name = o->name;
	size_t i;

	if (o->driver && strcmp(o->driver, "local"))
		return err_set(err, "create %s: error looking up volume plugin %s: plugin \"%s\" "
			       "not found", name ? name : "", o->driver, o->driver);
	if (name && volume_name_check(name, err) < 0)
		return -1;
	if (block_opts(o, name, NULL, err) < 0)
		return -1;
	if (!name) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return err_sys(err, errno, "getrandom");
		for (i = 0; i < sizeof(rnd); i++)
			sprintf(id + 2 * i, "%02x", rnd[i]);
		name = id;
	}
	lock = volume_lock(root, err);
	if (lock < 0)
		return -1;
	if (created)
		*created = false;
	if (!volume_exists(root, name)) {
		if (volume_new(root, name, o, err) < 0)
			return err_wrap(err, "create %s", name);
		if (created)
			*created = true;
	}
	*name_out = xstrdup(name);
	return 0;
}

static int volume_load(const char *root, const char *name, json_t **out, struct err *err)
{
	_cleanup_free_ char *meta = NULL;
	_cleanup_json_ json_t *j = NULL;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    name[0] == '.')
		return err_set(err, "get %s: no such volume", name);
	meta = xasprintf("%s/volumes/%s/volume.json", root, name);
	if (json_load_path(meta, &j, err) < 0 || !json_is_object(j)) {
		err_clear(err);
		return err_set(err, "get %s: no such volume", name);
	}
	*out = json_pack("{s:O?, s:s, s:O?, s:s+++, s:s, s:O?, s:s, s:b}", "CreatedAt",
			 json_object_get(j, "CreatedAt"), "Driver", "local", "Labels",
			 json_object_get(j, "Labels"), "Mountpoint", root, "/volumes/", name, "/_data",
			 "Name", name, "Options", json_object_get(j, "Options"), "Scope", "local",
			 "Anonymous", json_is_true(json_object_get(j, "Anonymous")));
	if (!*out)
		return err_set(err, "get %s: no such volume", name);
	return 0;
}

int volume_inspect(const char *root, const char *name, json_t **out, struct err *err)
{
	if (volume_load(root, name, out, err) < 0)
		return -1;
	json_object_del(*out, "Anonymous");
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void volume_names(const char *root, struct strv *names)
{
	_cleanup_free_ char *dir = xasprintf("%s/volumes", root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(names, de->d_name);
	if (names->n)
		qsort(names->v, names->n, sizeof(char *), str_cmp);
}

int volume_list(const char *root, json_t **out, struct err *err)
{
	struct strv names = { 0 };
	json_t *arr = json_array(), *v;
	size_t i;

	(void)err;
	volume_names(root, &names);
	for (i = 0; i < names.n; i++)
		if (volume_inspect(root, names.v[i], &v, &(struct err){ 0 }) == 0)
			json_array_append_new(arr, v);
	strv_free(&names);
	*out = arr;
	return 0;
}

/* The ids of the containers whose Mounts name the volume. */
static json_t *volume_users(const char *root, const char *name)
{
	_cleanup_json_ json_t *all = NULL;
	json_t *ids = json_array(), *c, *m;
	size_t i, k;

	if (container_list(root, true, &all, &(struct err){ 0 }) < 0)
		return ids;
	json_array_foreach(all, i, c) {
		json_array_foreach(json_object_get(c, "Mounts"), k, m) {
			if (!strcmp(json_string_value(json_object_get(m, "Type")) ?: "", "volume") &&
			    !strcmp(json_string_value(json_object_get(m, "Name")) ?: "", name)) {
				json_array_append(ids, json_object_get(c, "Id"));
				break;
			}
		}
	}
	return ids;
}

static int volume_remove_locked(const char *root, const char *name, struct err *err)
{
	_cleanup_json_ json_t *users = volume_users(root, name);
	_cleanup_free_ char *dir = xasprintf("%s/volumes/%s", root, name);
	_cleanup_free_ char *trash = xasprintf("%s/volumes/.rm-%s", root, name);
	_cleanup_free_ char *list = xstrdup("");
	json_t *id;
	size_t i;

	if (json_array_size(users)) {
		json_array_foreach(users, i, id) {
			char *next = xasprintf("%s%s%s", list, i ? " " : "", json_string_value(id));

			free(list);
			list = next;
		}
		return err_set(err, "remove %s: volume is in use - [%s]", name, list);
	}
	/* Out of sight first, so a listing never sees half a volume. */
	if (rename(dir, trash) < 0)
		return err_sys(err, errno, "remove %s", name);
	return rm_rf(trash, err);
}

int volume_remove(const char *root, const char *name, bool force, struct err *err)
{
	_cleanup_close_ int lock = volume_lock(root, err);
	_cleanup_json_ json_t *v = NULL;

	if (lock < 0)
		return -1;
	if (volume_load(root, name, &v, err) < 0) {
		if (!force)
			return -1;
		err_clear(err);
		return 0;
	}
	return volume_remove_locked(root, name, err);
}

int volume_prune(const char *root, struct strv *removed, struct err *err)
{
	_cleanup_close_ int lock = volume_lock(root, err);
	struct strv names = { 0 };
	size_t i;

	if (lock < 0)
		return -1;
	volume_names(root, &names);
	for (i = 0; i < names.n; i++)
		if (volume_remove_locked(root, names.v[i], &(struct err){ 0 }) == 0)
			strv_push(removed, names.v[i]);
	strv_free(&names);
	return 0;
}

void volume_remove_anonymous(const char *root, json_t *mounts)
{
	_cleanup_close_ int lock = volume_lock(root, &(struct err){ 0 });
	json_t *m;
	size_t i;

	if (lock < 0)
		return;
	json_array_foreach(mounts, i, m) {
		const char *name = json_string_value(json_object_get(m, "Name"));
		_cleanup_json_ json_t *v = NULL;

		if (!name || strcmp(json_string_value(json_object_get(m, "Type")) ?: "", "volume") ||
		    volume_load(root, name, &v, &(struct err){ 0 }) < 0 ||
		    !json_is_true(json_object_get(v, "Anonymous")))
			continue;
		volume_remove_locked(root, name, &(struct err){ 0 });
	}
}
