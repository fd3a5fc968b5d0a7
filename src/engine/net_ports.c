/* Published ports (-p, -P): parsed at create into docker's PortBindings; at
 * start each binding gets its host port (chosen when ephemeral), is checked
 * against the other containers' (ROOT/networks/ports, "PROTO HOSTIP PORT ID"
 * lines whose container's netns still exists) and against a listening socket,
 * and becomes DNAT rules in the table ip isobox: prerouting for traffic that
 * comes in, output for the host's own (127.0.0.1 included: route_localnet on
 * the bridge, the source masqueraded), and a masquerade for hairpin. */
#include "engine/network_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/firewall.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int port_range(const char *s, unsigned *lo, unsigned *hi)
{
	char *end;
	unsigned long a, b;

	if (!*s || !strchr("0123456789", *s))
		return -1;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-') {
		const char *t = end + 1;

		if (!*t || !strchr("0123456789", *t))
			return -1;
		b = strtoul(t, &end, 10);
	}
	if (*end || a < 1 || a > 65535 || b < a || b > 65535)
		return -1;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

static int one_spec(const char *spec, json_t *out, struct err *err)
{
	_cleanup_free_ char *s = xstrdup(spec);
	char *proto = strrchr(s, '/'), *parts[3] = { NULL, NULL, NULL }, *p = s, *c;
	unsigned clo, chi, hlo = 0, hhi = 0, i;
	int n = 0;
	uint32_t a;

	if (proto)
		*proto++ = '\0';
	else
		proto = "tcp";
	if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return err_set(err, "invalid proto: %s", proto);
	while (n < 2 && (c = strchr(p, ':'))) {
		*c = '\0';
		parts[n++] = p;
		p = c + 1;
	}
	if (strchr(p, ':'))
		return err_set(err, "invalid publish opts format (should be "
			       "name=value but got '%s')", spec);
	parts[n++] = p;
	/* CONTAINERPORT, HOSTPORT:CONTAINERPORT, IP:[HOSTPORT]:CONTAINERPORT */
	if (n == 3 && *parts[0] && ip_parse(parts[0], &a) < 0)
		return err_set(err, "invalid IP address: %s", parts[0]);
	if (port_range(parts[n - 1], &clo, &chi) < 0)
		return err_set(err, "invalid containerPort: %s", parts[n - 1]);
	if (n >= 2 && *parts[n - 2] && port_range(parts[n - 2], &hlo, &hhi) < 0)
		return err_set(err, "invalid hostPort: %s", parts[n - 2]);
	if (hlo && hhi - hlo != chi - clo)
		return err_set(err, "invalid ranges specified for container and host Ports: "
			       "%s and %s", parts[n - 1], parts[n - 2]);
	for (i = 0; i <= chi - clo; i++) {
		char key[16], hp[8] = "";
		json_t *list;

		snprintf(key, sizeof(key), "%u/%s", clo + i, proto);
		if (hlo)
			snprintf(hp, sizeof(hp), "%u", hlo + i);
		list = json_object_get(out, key);
		if (!list) {
			list = json_array();
			json_object_set_new(out, key, list);
		}
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp",
						      n == 3 ? parts[0] : "", "HostPort", hp));
	}
	return 0;
}

int net_ports_parse(const struct strv *specs, json_t **bindings, struct err *err)
{
	json_t *out = json_object();
	size_t i;

	for (i = 0; i < specs->n; i++)
		if (one_spec(specs->v[i], out, err) < 0) {
			json_decref(out);
			return -1;
		}
	*bindings = out;
	return 0;
}

/* --- the ports file --- */

struct port_use {
	char proto[4];
	uint32_t ip;
	unsigned port;
	char cid[65];
};

struct port_set {
	struct port_use u[4096];
	size_t n;
};

static char *ports_path(const char *root, const char *suffix)
{
	return xasprintf("%s/networks/ports%s", root, suffix);
}

static void ports_read(const char *root, struct port_set *ps)
{
	_cleanup_free_ char *path = ports_path(root, ""), *text = NULL;
	char *line, *save;

	ps->n = 0;
	if (read_file(path, 1 << 20, &text, NULL, &(struct err){ 0 }) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line && ps->n < 4096;
	     line = strtok_r(NULL, "\n", &save)) {
		struct port_use *u = &ps->u[ps->n];
		char ip[17], proto[4];
		_cleanup_free_ char *ns = NULL;

		if (sscanf(line, "%3s %16s %u %64s", proto, ip, &u->port, u->cid) != 4 ||
		    (strcmp(proto, "tcp") && strcmp(proto, "udp")) || ip_parse(ip, &u->ip) < 0 ||
		    u->port < 1 || u->port > 65535 || strlen(u->cid) != 64 ||
		    strspn(u->cid, "0123456789abcdef") != 64)
			continue;
		ns = xasprintf("%s/netns/%s", root, u->cid);
		if (access(ns, F_OK) < 0)
			continue;       /* its container is gone */
		memcpy(u->proto, proto, sizeof(proto));
		ps->n++;
	}
}

static int ports_write(const char *root, const struct port_set *ps, struct err *err)
{
	_cleanup_free_ char *path = ports_path(root, ""), *text = xstrdup("");
	size_t i;

	for (i = 0; i < ps->n; i++) {
		char ip[INET_ADDRSTRLEN], *next;

		ip_format(ps->u[i].ip, ip);
		next = xasprintf("%s%s %s %u %s\n", text, ps->u[i].proto, ip, ps->u[i].port,
				 ps->u[i].cid);
		free(text);
		text = next;
	}
	return write_file_replace(path, text, strlen(text), 0600, err);
}

static const struct port_use *port_taken(const struct port_set *ps, const char *proto,
					 uint32_t ip, unsigned port)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->u[i].port == port && !strcmp(ps->u[i].proto, proto) &&
		    (!ps->u[i].ip || !ip || ps->u[i].ip == ip))
			return &ps->u[i];
	return NULL;
}

/* Whether a socket of the host holds it: a bind that fails says so. */
static int port_bind_check(const char *proto, uint32_t ip, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(ip) };
	int fd = socket(AF_INET, (strcmp(proto, "udp") ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC,
			0), r, e;

	if (fd < 0)
		return -1;
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	errno = e;
	return r;
}

bool net_ports_release(const char *root, const char *cid)
{
	_cleanup_free_ char *lock = ports_path(root, ".lock");
	_cleanup_close_ int fd = lock_path(lock, LOCK_EX, &(struct err){ 0 });
	_cleanup_free_ struct port_set *ps = xmalloc(sizeof(*ps));
	size_t i, j;

	if (fd < 0)
		return true;    /* unknown: the caller looks for rules */
	ports_read(root, ps);
	for (i = j = 0; i < ps->n; i++)
		if (strcmp(ps->u[i].cid, cid))
			ps->u[j++] = ps->u[i];
	if (j == ps->n)
		return false;
	ps->n = j;
	ports_write(root, ps, &(struct err){ 0 });
	return true;
}

/* --- publishing --- */

/* Where a container's published ports lead: its address on its first
 * network, that network's subnet, and the tag of its firewall rules. */
struct port_dest {
	char ip_txt[INET_ADDRSTRLEN];
	char subnet[INET_ADDRSTRLEN + 12];
	const char *tag;
};

static int binding_add(struct port_set *ps, const char *cid, const char *key, const char *hip,
		       const char *hport, json_t *ports, char **rules,
		       const struct port_dest *d, const char *name, struct err *err)
{
	char proto[4] = "tcp", hip_txt[INET_ADDRSTRLEN], hp_txt[8];
	unsigned cport = 0, port = 0;
	uint32_t ip = 0;
	const struct port_use *other;
	char *match, *next;
	json_t *list;

	if (sscanf(key, "%u/%3s", &cport, proto) < 1 || cport < 1 || cport > 65535 ||
	    (strcmp(proto, "tcp") && strcmp(proto, "udp")))
		return err_set(err, "invalid port %s", key);
	if (hip && *hip && ip_parse(hip, &ip) < 0)
		return err_set(err, "invalid host IP %s", hip);
	if (hport && *hport) {
		char *end;

		port = (unsigned)strtoul(hport, &end, 10);
		if (*end || port < 1 || port > 65535)
			return err_set(err, "invalid host port %s", hport);
		ip_format(ip, hip_txt);
		other = port_taken(ps, proto, ip, port);
		if (other)
			return err_set(err, "driver failed programming external connectivity on "
				       "endpoint %s: Bind for %s:%u failed: port is already "
				       "allocated (by container %.12s)", name, hip_txt, port,
				       other->cid);
		if (port_bind_check(proto, ip, port) < 0 && errno == EADDRINUSE)
			return err_set(err, "driver failed programming external connectivity on "
				       "endpoint %s: listen %s4 %s:%u: bind: address already in "
				       "use", name, proto, hip_txt, port);
	} else {
		/* docker's ephemeral range's start */
		for (port = 49153; port <= 65535; port++)
			if (!port_taken(ps, proto, ip, port) && port_bind_check(proto, ip, port) == 0)
				break;
		if (port > 65535)
			return err_set(err, "no free host port for %s", key);
	}
	if (ps->n >= 4096)
		return err_set(err, "too many published ports");
	snprintf(ps->u[ps->n].proto, 4, "%s", proto);
	ps->u[ps->n].ip = ip;
	ps->u[ps->n].port = port;
	snprintf(ps->u[ps->n++].cid, 65, "%s", cid);
	ip_format(ip, hip_txt);
	snprintf(hp_txt, sizeof(hp_txt), "%u", port);
	list = json_object_get(ports, key);
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(ports, key, list);
	}
	json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", hip_txt, "HostPort", hp_txt));
	match = ip ? xasprintf("ip daddr %s", hip_txt) : xstrdup("fib daddr type local");
	/* Masqueraded: what comes from the host's loopback, and hairpin from
	 * the container's own subnet (itself included), whose answers would
	 * otherwise go back across the bridge with no un-DNAT. */
	next = xasprintf(
		"%s"
		"add rule ip " FW_TABLE " prerouting %s %s dport %u dnat to %s:%u comment \"%s\"\n"
		"add rule ip " FW_TABLE " output %s %s dport %u dnat to %s:%u comment \"%s\"\n"
		"add rule ip " FW_TABLE " postrouting ip saddr 127.0.0.0/8 ip daddr %s %s dport %u "
		"masquerade comment \"%s\"\n"
		"add rule ip " FW_TABLE " postrouting ip saddr %s ip daddr %s %s dport %u "
		"ct status dnat masquerade comment \"%s\"\n",
		*rules, match, proto, port, d->ip_txt, cport, d->tag, match, proto, port, d->ip_txt,
		cport, d->tag, d->ip_txt, proto, cport, d->tag, d->subnet, d->ip_txt, proto, cport,
		d->tag);
	free(match);
	free(*rules);
	*rules = next;
	return 0;
}

int net_ports_publish(const char *root, json_t *record, const char *cid, uint32_t cip,
		      int prefix, const char *tag, struct err *err)
{
	struct port_dest d = { .tag = tag };
	char net_txt[INET_ADDRSTRLEN];
	json_t *hc = json_object_get(record, "HostConfig");
	json_t *bindings = json_object_get(hc, "PortBindings");
	json_t *exposed = json_object_get(json_object_get(record, "Config"), "ExposedPorts");
	json_t *ports = json_object(), *list, *b;
	const char *name = json_string_value(json_object_get(record, "Name")) ?: cid;
	_cleanup_free_ char *lock = ports_path(root, ".lock"), *rules = xstrdup("");
	_cleanup_free_ struct port_set *ps = xmalloc(sizeof(*ps));
	_cleanup_close_ int fd = -1;
	const char *key;
	size_t i;
	int r = 0;

	if (!json_object_size(bindings) &&
	    !(json_is_true(json_object_get(hc, "PublishAllPorts")) && json_object_size(exposed))) {
		json_object_set_new(json_object_get(record, "NetworkSettings"), "Ports", ports);
		return 0;
	}
	fd = lock_path(lock, LOCK_EX, err);
	if (fd < 0) {
		json_decref(ports);
		return -1;
	}
	ip_format(cip, d.ip_txt);
	ip_format(prefix > 0 ? cip & (0xffffffffu << (32 - prefix)) : 0, net_txt);
	snprintf(d.subnet, sizeof(d.subnet), "%s/%d", net_txt, prefix > 0 ? prefix : 0);
	ports_read(root, ps);
	json_object_foreach(bindings, key, list) {
		json_array_foreach(list, i, b) {
			r = binding_add(ps, cid, key, json_string_value(json_object_get(b, "HostIp")),
					json_string_value(json_object_get(b, "HostPort")), ports,
					&rules, &d, name, err);
			if (r < 0)
				goto out;
		}
	}
	json_object_foreach(exposed, key, b) {
		if (json_object_get(ports, key))
			continue;
		if (json_is_true(json_object_get(hc, "PublishAllPorts"))) {
			r = binding_add(ps, cid, key, "", "", ports, &rules, &d, name, err);
			if (r < 0)
				goto out;
		} else {
			json_object_set_new(ports, key, json_null());
		}
	}
	/* The ports file first: a container with no entry there has no rules,
	 * which lets its teardown skip the firewall. */
	r = ports_write(root, ps, err);
	if (r == 0)
		r = fw_apply(rules, err);
out:
	if (r == 0)
		json_object_set_new(json_object_get(record, "NetworkSettings"), "Ports", ports);
	else
		json_decref(ports);
	return r;
}
