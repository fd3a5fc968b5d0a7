/* The nftables table "ip isobox" through libnftables: text commands, one
 * buffer per transaction, errors from the library's error buffer. */
#include "net/firewall.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <nftables/libnftables.h>

#include "util/cleanup.h"
#include "util/fs.h"

static const char base_chains[] =
	"add table ip " FW_TABLE "\n"
	"add chain ip " FW_TABLE " prerouting { type nat hook prerouting priority dstnat; }\n"
	"add chain ip " FW_TABLE " output { type nat hook output priority -100; }\n"
	"add chain ip " FW_TABLE " postrouting { type nat hook postrouting priority srcnat; }\n"
	"add chain ip " FW_TABLE " forward { type filter hook forward priority filter; }\n"
	"add set ip " FW_TABLE " bridges { type ifname; }\n";

/* libnftables exit()s the whole process when it cannot open its netlink
 * socket (a kernel without nf_tables): ask the kernel first. */
static int nf_available(struct err *err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	if (fd < 0)
		return err_sys(err, errno, "nftables: this kernel has no nf_tables netlink "
			       "(load the nf_tables module)");
	close(fd);
	return 0;
}

static struct nft_ctx *ctx_new(struct err *err)
{
	struct nft_ctx *ctx;

	if (nf_available(err) < 0)
		return NULL;
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		err_set(err, "nftables: cannot make a context");
		return NULL;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	return ctx;
}

static int run(struct nft_ctx *ctx, const char *cmds, const char *what, struct err *err)
{
	_cleanup_free_ char *copy = xstrdup(cmds);
	const char *e;
	size_t n;

	if (nft_run_cmd_from_buffer(ctx, copy) == 0)
		return 0;
	e = nft_ctx_get_error_buffer(ctx);
	n = e ? strlen(e) : 0;
	while (n && e[n - 1] == '\n')
		n--;
	return err_set(err, "%s: nftables: %.*s", what, (int)(n > 600 ? 600 : n), e ? e : "");
}

int fw_apply(const char *rules, struct err *err)
{
	struct nft_ctx *ctx = ctx_new(err);
	_cleanup_free_ char *all = NULL;
	int r;

	if (!ctx)
		return -1;
	all = xasprintf("%s%s", base_chains, rules);
	r = run(ctx, all, "firewall", err);
	nft_ctx_free(ctx);
	return r;
}

/* "delete rule ..." lines for every rule tagged tag; *count their number. */
static int tagged(struct nft_ctx *ctx, const char *tag, char **cmds, int *count,
		  struct err *err)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *items, *it;
	const char *out;
	char *acc = xstrdup("");
	size_t i;

	*count = 0;
	*cmds = acc;
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	if (nft_run_cmd_from_buffer(ctx, "list table ip " FW_TABLE) != 0)
		return 0;       /* no table: nothing tagged */
	out = nft_ctx_get_output_buffer(ctx);
	j = json_loads(out ? out : "", 0, NULL);
	if (!j)
		return err_set(err, "firewall: cannot read nftables' listing");
	items = json_object_get(j, "nftables");
	json_array_foreach(items, i, it) {
		json_t *rule = json_object_get(it, "rule");
		const char *comment = json_string_value(json_object_get(rule, "comment"));
		const char *chain = json_string_value(json_object_get(rule, "chain"));
		char *next;

		if (!rule || !comment || !chain || strcmp(comment, tag))
			continue;
		next = xasprintf("%sdelete rule ip " FW_TABLE " %s handle %lld\n", acc, chain,
				 (long long)json_integer_value(json_object_get(rule, "handle")));
		free(acc);
		acc = next;
		(*count)++;
	}
	*cmds = acc;
	return 0;
}

int fw_delete_tagged(const char *tag, struct err *err)
{
	struct nft_ctx *ctx = ctx_new(err);
	_cleanup_free_ char *cmds = NULL;
	int n = 0, r;

	if (!ctx)
		return -1;
	r = tagged(ctx, tag, &cmds, &n, err);
	nft_ctx_output_set_flags(ctx, 0);
	if (r == 0 && n)
		r = run(ctx, cmds, "firewall: delete rules", err);
	nft_ctx_free(ctx);
	return r;
}

int fw_count_tagged(const char *tag, struct err *err)
{
	struct nft_ctx *ctx = ctx_new(err);
	_cleanup_free_ char *cmds = NULL;
	int n = 0, r;

	if (!ctx)
		return -1;
	r = tagged(ctx, tag, &cmds, &n, err);
	nft_ctx_free(ctx);
	return r < 0 ? -1 : n;
}
