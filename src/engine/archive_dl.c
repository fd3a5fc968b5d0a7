#define ARCHIVE_DL_IMPL
#include "engine/archive_dl.h"

#include <dlfcn.h>
#include <stdbool.h>

struct archive_dl archive_dl;

int archive_dl_load(struct err *err)
{
	static bool loaded;
	void *h;

	if (loaded)
		return 0;
	h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return err_set(err, "load libarchive: %s: install Debian's libarchive13", dlerror());
#define ARCHIVE_DL_RESOLVE(f) \
	if (!(archive_dl.f = (__typeof__(archive_dl.f))dlsym(h, #f))) \
		return err_set(err, "load libarchive: %s is missing", #f);
	ARCHIVE_DL_FUNCS(ARCHIVE_DL_RESOLVE)
#undef ARCHIVE_DL_RESOLVE
	loaded = true;
	return 0;
}
