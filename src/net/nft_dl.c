#define NFT_DL_IMPL
#include "net/nft_dl.h"

#include <dlfcn.h>
#include <stdbool.h>

struct nft_dl nft_dl;

int nft_dl_load(struct err *err)
{
	static bool loaded;
	void *h;

	if (loaded)
		return 0;
	h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return err_set(err, "load libnftables: %s: install Debian's libnftables1",
			       dlerror());
#define NFT_DL_RESOLVE(f) \
	if (!(nft_dl.f = (__typeof__(nft_dl.f))dlsym(h, #f))) \
		return err_set(err, "load libnftables: %s is missing", #f);
	NFT_DL_FUNCS(NFT_DL_RESOLVE)
#undef NFT_DL_RESOLVE
	loaded = true;
	return 0;
}
