/* Kata's "tcfilter" join of a container's eth0 and a VM's TAP: an ingress
 * qdisc on each, and a u32 filter matching every frame whose action is
 * mirred's egress redirect to the other. Frames then cross in the kernel,
 * with no bridge and no address on the TAP. */
#include "net/tap.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <libmnl/libmnl.h>

#define INGRESS_HANDLE 0xffff0000u

static struct nlmsghdr *tc_msg(char *buf, uint16_t type, uint16_t flags, unsigned ifindex,
			       uint32_t handle, uint32_t parent, uint32_t info)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct tcmsg *t;

	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	t = mnl_nlmsg_put_extra_header(h, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = (int)ifindex;
	t->tcm_handle = handle;
	t->tcm_parent = parent;
	t->tcm_info = info;
	return h;
}

static int qdisc_ingress(struct nl *nl, unsigned ifindex, bool add, const char *name,
			 struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
	struct nlmsghdr *h = tc_msg(buf, add ? RTM_NEWQDISC : RTM_DELQDISC,
				    add ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex, INGRESS_HANDLE,
				    TC_H_INGRESS, 0);

	mnl_attr_put_strz(h, TCA_KIND, "ingress");
	snprintf(what, sizeof(what), "%s the ingress qdisc of %s", add ? "add" : "delete", name);
	return nl_request(nl, h, what, err);
}

static int redirect(struct nl *nl, unsigned from, unsigned to, const char *name,
		    struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
	uint8_t sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)] = { 0 };
	struct tc_mirred m = { .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR,
			       .ifindex = to };
	struct tc_u32_sel *s = (struct tc_u32_sel *)sel;
	struct nlmsghdr *h = tc_msg(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, from, 0,
				    INGRESS_HANDLE, TC_H_MAKE(1u << 16, htons(ETH_P_ALL)));
	struct nlattr *opts, *acts, *act, *aopts;

	/* One key of mask 0: every frame matches ("u32 match u8 0 0"). */
	s->flags = TC_U32_TERMINAL;
	s->nkeys = 1;
	mnl_attr_put_strz(h, TCA_KIND, "u32");
	opts = mnl_attr_nest_start(h, TCA_OPTIONS);
	mnl_attr_put(h, TCA_U32_SEL, sizeof(sel), sel);
	acts = mnl_attr_nest_start(h, TCA_U32_ACT);
	act = mnl_attr_nest_start(h, 1);
	mnl_attr_put_strz(h, TCA_ACT_KIND, "mirred");
	aopts = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
	mnl_attr_put(h, TCA_MIRRED_PARMS, sizeof(m), &m);
	mnl_attr_nest_end(h, aopts);
	mnl_attr_nest_end(h, act);
	mnl_attr_nest_end(h, acts);
	mnl_attr_nest_end(h, opts);
	snprintf(what, sizeof(what), "add the mirred redirect from %s", name);
	return nl_request(nl, h, what, err);
}

int net_tc_redirect_pair(struct nl *nl, const char *a, const char *b, struct err *err)
{
	unsigned ia = nl_link_index(a), ib = nl_link_index(b);
	struct err ignored = { 0 };

	if (!ia || !ib)
		return err_sys(err, ENODEV, "find %s", ia ? b : a);
	/* A VMM killed before it could undo them left a's (its TAP went with it). */
	qdisc_ingress(nl, ia, false, a, &ignored);
	if (qdisc_ingress(nl, ia, true, a, err) < 0 || qdisc_ingress(nl, ib, true, b, err) < 0 ||
	    redirect(nl, ia, ib, a, err) < 0 || redirect(nl, ib, ia, b, err) < 0)
		return err_wrap(err, "join %s and %s with tc (sch_ingress, cls_u32, act_mirred)",
				a, b);
	return 0;
}
