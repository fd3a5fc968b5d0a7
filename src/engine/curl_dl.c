#define CURL_DL_IMPL
#include "engine/curl_dl.h"

#include <dlfcn.h>
#include <stdbool.h>

struct curl_dl curl_dl;

int curl_dl_load(struct err *err)
{
	static bool loaded;
	void *h;

	if (loaded)
		return 0;
	h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return err_set(err, "load libcurl: %s: install Debian's libcurl4", dlerror());
#define CURL_DL_RESOLVE(f) \
	if (!(curl_dl.f = (__typeof__(curl_dl.f))dlsym(h, #f))) \
		return err_set(err, "load libcurl: %s is missing", #f);
	CURL_DL_FUNCS(CURL_DL_RESOLVE)
#undef CURL_DL_RESOLVE
	if (curl_dl.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(err, "load libcurl: curl_global_init failed");
	loaded = true;
	return 0;
}
