#include "engine/kernel.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/libexec.h"
#include "util/program.h"

static bool kernel_name_valid(const char *n)
{
	return *n && n[0] != '.' && !strchr(n, '/') && strlen(n) < 128;
}

static int kernel_load(const char *root, const char *name, struct kernel_entry *k)
{
	_cleanup_free_ char *bzimage = xasprintf("%s/kernels/%s/vmlinuz", root, name);
	_cleanup_free_ char *config = xasprintf("%s/kernels/%s/config", root, name);

	k->name = xstrdup(name);
	/* The uncompressed vmlinux (PVH entry) when install could extract it. */
	k->vmlinuz = xasprintf("%s/kernels/%s/vmlinux", root, name);
	if (access(k->vmlinuz, R_OK) < 0) {
		free(k->vmlinuz);
		k->vmlinuz = xstrdup(bzimage);
	}
	k->initrd = xasprintf("%s/kernels/%s/initrd.cpio", root, name);
	if (access(k->vmlinuz, R_OK) < 0 || access(k->initrd, R_OK) < 0)
		return -1;
	kernel_info_load(&k->info, bzimage, config);
	return 0;
}

void kernel_entry_free(struct kernel_entry *k)
{
	free(k->name);
	free(k->vmlinuz);
	free(k->initrd);
	kernel_info_free(&k->info);
	memset(k, 0, sizeof(*k));
}

static int newest_first(const void *a, const void *b)
{
	const struct kernel_entry *x = a, *y = b;
	int c = kernel_version_cmp(&y->info.version, &x->info.version);

	return c ? c : strcmp(y->name, x->name);
}

int kernel_entries(const char *root, struct kernel_entry **out, size_t *n, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/kernels", root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct kernel_entry *v = NULL;
	struct dirent *e;

	*n = 0;
	while (d && (e = readdir(d))) {
		struct kernel_entry k = { 0 };

		if (!kernel_name_valid(e->d_name) || kernel_load(root, e->d_name, &k) < 0) {
			kernel_entry_free(&k);
			continue;
		}
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = k;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), newest_first);
	*out = v;
	return 0;
}

void kernel_entries_free(struct kernel_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		kernel_entry_free(&v[i]);
	free(v);
}

/* want as a version ("6.1.192") or a series ("6.1"). */
static bool kernel_version_matches(const struct kernel_entry *k, const char *want)
{
	struct kernel_version v;
	bool series = strchr(want, '.') == strrchr(want, '.');

	if (kernel_version_parse(want, &v) < 0 || strspn(want, "0123456789.") != strlen(want))
		return false;
	return k->info.version.major == v.major && k->info.version.minor == v.minor &&
	       (series || k->info.version.patch == v.patch);
}

int kernel_find(const char *root, const char *want, struct kernel_entry *k, struct err *err)
{
	struct kernel_entry *v = NULL;
	size_t n, i;

	memset(k, 0, sizeof(*k));
	if (want && kernel_name_valid(want) && kernel_load(root, want, k) == 0)
		return 0;
	kernel_entry_free(k);
	if (kernel_entries(root, &v, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (want && !kernel_version_matches(&v[i], want))
			continue;
		*k = v[i];
		memset(&v[i], 0, sizeof(v[i]));
		kernel_entries_free(v, n);
		return 0;
	}
	kernel_entries_free(v, n);
	if (want)
		return err_set(err, "guest kernel %s is not installed: 'isobox kernel ls' lists "
			       "them, 'isobox kernel install' adds Debian's", want);
	return err_set(err, "no guest kernel is installed for Hyper-V isolation: run "
		       "'isobox kernel install'");
}

int kernel_list(const char *root, json_t **out, struct err *err)
{
	struct kernel_entry *v = NULL;
	json_t *list = json_array();
	size_t n, i;

	if (kernel_entries(root, &v, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct stat st;
		char version[32];

		kernel_version_format(&v[i].info.version, version, sizeof(version));
		if (stat(v[i].vmlinuz, &st) == 0)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:b}", "Name",
							      v[i].name, "Version", version, "Path",
							      v[i].vmlinuz, "Size",
							      (json_int_t)st.st_size, "Config",
							      v[i].info.config != NULL));
	}
	kernel_entries_free(v, n);
	*out = list;
	return 0;
}

/* The kernel the installer wrote last: its name file is the newest. */
static int kernel_newest_installed(const char *root, char **name_out, struct err *err)
{
	struct kernel_entry *v = NULL;
	struct timespec best = { 0 };
	size_t n, i;

	if (kernel_entries(root, &v, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/kernels/%s/name", root, v[i].name);
		struct stat st;

		if (stat(p, &st) == 0 && (st.st_mtim.tv_sec > best.tv_sec ||
					  (st.st_mtim.tv_sec == best.tv_sec &&
					   st.st_mtim.tv_nsec > best.tv_nsec))) {
			best = st.st_mtim;
			free(*name_out);
			*name_out = xstrdup(v[i].name);
		}
	}
	kernel_entries_free(v, n);
	return *name_out ? 0 : err_set(err, "the installer left no kernel in %s/kernels", root);
}

int kernel_install(const char *root, const char *path, const char *config, char **name_out,
		   struct err *err)
{
	_cleanup_free_ char *store = xasprintf("%s/kernels", root);
	char script[4096], init[4096];
	const char *argv[] = { "sh", script, store, init, path ? "--path" : NULL, path,
			       config ? "--config" : NULL, config, NULL };

	*name_out = NULL;
	if (libexec_find("kernel-install.sh", script, sizeof(script), err) < 0 ||
	    libexec_find("isobox-init", init, sizeof(init), err) < 0)
		return -1;
	if (mkdir_p(store, 0700, err) < 0 || program_run(argv, err) < 0)
		return err_wrap(err, "install a guest kernel");
	return kernel_newest_installed(root, name_out, err);
}

int kernel_remove(const char *root, const char *name, struct err *err)
{
	_cleanup_free_ char *dir = NULL;

	if (!kernel_name_valid(name))
		return err_set(err, "no guest kernel named %s", name);
	dir = xasprintf("%s/kernels/%s", root, name);
	if (access(dir, F_OK) < 0)
		return err_set(err, "no guest kernel named %s: 'isobox kernel ls' lists them", name);
	return rm_rf(dir, err);
}
