/* libnftables, loaded on first use. Only a container on a network (and
 * `network rm`) changes the firewall; linking libnftables (with libnftnl,
 * libxtables and libgmp) into every isobox command costs each `run` about
 * 1 MiB of RSS and its relocations, as libcurl would (engine/curl_dl.h).
 * firewall.c calls the functions by their usual names; the macros below
 * route them through this table. */
#ifndef ISOBOX_NFT_DL_H
#define ISOBOX_NFT_DL_H

#include <nftables/libnftables.h>

#include "util/err.h"

#define NFT_DL_FUNCS(X) \
	X(nft_ctx_new) \
	X(nft_ctx_free) \
	X(nft_ctx_buffer_output) \
	X(nft_ctx_buffer_error) \
	X(nft_ctx_get_output_buffer) \
	X(nft_ctx_get_error_buffer) \
	X(nft_ctx_output_set_flags) \
	X(nft_run_cmd_from_buffer)

struct nft_dl {
#define NFT_DL_MEMBER(f) __typeof__(f) *f;
	NFT_DL_FUNCS(NFT_DL_MEMBER)
#undef NFT_DL_MEMBER
};

extern struct nft_dl nft_dl;

/* dlopen libnftables.so.1 and resolve every function above, once. */
int nft_dl_load(struct err *err);

#ifndef NFT_DL_IMPL
#define nft_ctx_new (nft_dl.nft_ctx_new)
#define nft_ctx_free (nft_dl.nft_ctx_free)
#define nft_ctx_buffer_output (nft_dl.nft_ctx_buffer_output)
#define nft_ctx_buffer_error (nft_dl.nft_ctx_buffer_error)
#define nft_ctx_get_output_buffer (nft_dl.nft_ctx_get_output_buffer)
#define nft_ctx_get_error_buffer (nft_dl.nft_ctx_get_error_buffer)
#define nft_ctx_output_set_flags (nft_dl.nft_ctx_output_set_flags)
#define nft_run_cmd_from_buffer (nft_dl.nft_run_cmd_from_buffer)
#endif

#endif
