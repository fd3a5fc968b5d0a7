/* rtnetlink over libmnl: one request, one ACK, the error named.
 * (vmnet's minimal copy of netlink.h's core, for the TAP and tc code until
 * the bridge branch's netlink.c, which has the same functions, is merged.) */
#include "net/netlink.h"

#include <errno.h>
#include <time.h>
#include <net/if.h>
#include <libmnl/libmnl.h>

int nl_open(struct nl *nl, struct err *err)
{
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return err_sys(err, errno, "open rtnetlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return err_sys(err, e, "bind rtnetlink socket");
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

int nl_request(struct nl *nl, struct nlmsghdr *req, const char *what, struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int r;

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return err_sys(err, errno, "%s", what);
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return err_sys(err, errno, "%s", what);
		r = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, nl->portid, NULL, NULL);
		if (r < 0)
			return err_sys(err, errno, "%s", what);
		if (r == MNL_CB_STOP)
			return 0;
	}
}

unsigned nl_link_index(const char *name)
{
	return if_nametoindex(name);
}
