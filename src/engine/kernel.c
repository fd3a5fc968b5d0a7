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
	k->name = xstrdup(name);
	/* The uncompressed vmlinux (PVH entry) when install could extract it. */
	k->vmlinuz = xasprintf("%s/kernels/%s/vmlinux", root, name);
	if (access(k->vmlinuz, R_OK) < 0) {
		free(k->vmlinuz);
		k->vmlinuz = xasprintf("%s/kernels/%s/vmlinuz", root, name);
	}
	k->initrd = xasprintf("%s/kernels/%s/initrd.cpio", root, name);
	return access(k->vmlinuz, R_OK) == 0 && access(k->initrd, R_OK) == 0 ? 0 : -1;
}

void kernel_entry_free(struct kernel_entry *k)
{
	free(k->name);
	free(k->vmlinuz);
	free(k->initrd);
	memset(k, 0, sizeof(*k));
}

int kernel_find(const char *root, const char *want, struct kernel_entry *k, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/kernels", root);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	char best[256] = "";

	memset(k, 0, sizeof(*k));
	if (want) {
		if (kernel_name_valid(want) && kernel_load(root, want, k) == 0)
			return 0;
		kernel_entry_free(k);
		return err_set(err, "guest kernel %s is not installed: 'isobox kernel ls' lists "
			       "them, 'isobox kernel install' adds Debian's", want);
	}
	d = opendir(dir);
	while (d && (e = readdir(d)))
		if (kernel_name_valid(e->d_name) && strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	if (*best && kernel_load(root, best, k) == 0)
		return 0;
	kernel_entry_free(k);
	return err_set(err, "no guest kernel is installed for Hyper-V isolation: run "
		       "'isobox kernel install'");
}

int kernel_list(const char *root, json_t **out, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/kernels", root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	json_t *list = json_array();
	struct dirent *e;

	while (d && (e = readdir(d))) {
		struct kernel_entry k = { 0 };
		struct stat st;

		if (kernel_name_valid(e->d_name) && kernel_load(root, e->d_name, &k) == 0 &&
		    stat(k.vmlinuz, &st) == 0)
			json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "Name", k.name,
							      "Path", k.vmlinuz, "Size",
							      (json_int_t)st.st_size));
		kernel_entry_free(&k);
	}
	*out = list;
	return 0;
}

int kernel_install(const char *root, const char *path, char **name_out, struct err *err)
{
	_cleanup_free_ char *store = xasprintf("%s/kernels", root);
	char script[4096], init[4096];
	const char *argv[] = { "sh", script, store, init, path ? "--path" : NULL, path, NULL };
	struct kernel_entry k;

	if (libexec_find("kernel-install.sh", script, sizeof(script), err) < 0 ||
	    libexec_find("isobox-init", init, sizeof(init), err) < 0)
		return -1;
	if (mkdir_p(store, 0700, err) < 0 || program_run(argv, err) < 0)
		return err_wrap(err, "install a guest kernel");
	if (kernel_find(root, NULL, &k, err) < 0)
		return -1;
	*name_out = xstrdup(k.name);
	kernel_entry_free(&k);
	return 0;
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
