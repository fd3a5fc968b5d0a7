/* network connect / disconnect (network.h): a running container gets or
 * loses ethN at once; a stopped one has NetworkSettings.Networks changed for
 * its next start. docker 20.10's checks and messages. */
#include "engine/network.h"
#include "engine/network_store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define ERR_SHARED "container sharing network namespace with another container or host " \
	"cannot be connected to any other network"
#define ERR_HOST "container cannot be disconnected from host network or connected to host " \
	"network"
#define ERR_NONE "container cannot be connected to multiple networks with one of the " \
	"networks in private (none) mode"

static bool running(const struct container *c)
{
	_cleanup_json_ json_t *j = NULL;

	if (container_inspect(c, &j, &(struct err){ 0 }) < 0)
		return false;
	return json_is_true(json_object_get(json_object_get(j, "State"), "Running"));
}

static const char *mode_of(const struct container *c)
{
	return json_string_value(json_object_get(json_object_get(c->record, "HostConfig"),
						 "NetworkMode")) ?: "none";
}

static int record_save(const struct container *c, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/container.json", c->dir);

	return json_save_replace(path, c->record, err);
}

static json_t *networks_of(struct container *c)
{
	json_t *ns = json_object_get(c->record, "NetworkSettings"), *nets;

	if (!json_is_object(ns)) {
		ns = json_object();
		json_object_set_new(c->record, "NetworkSettings", ns);
	}
	nets = json_object_get(ns, "Networks");
	if (!json_is_object(nets)) {
		nets = json_object();
		json_object_set_new(ns, "Networks", nets);
	}
	return nets;
}

/* The endpoint asked for: --ip, --alias, and the short id on a user network. */
static int endpoint_new(struct container *c, json_t *net, const struct net_endpoint_opts *o,
			json_t **out, struct err *err)
{
	const char *name = json_string_value(json_object_get(net, "Name"));
	bool user = !network_is_predefined(name);
	json_t *ep, *aliases;
	uint32_t a;
	size_t i;

	if (o->ip && ip_parse(o->ip, &a) < 0)
		return err_set(err, "invalid IPv4 address: %s", o->ip);
	if (o->ip && !user)
		return err_set(err, "user specified IP address is supported on user defined "
			       "networks only");
	if (o->aliases.n && !user)
		return err_set(err, "network-scoped alias is supported only for containers in "
			       "user defined networks");
	ep = net_endpoint_empty(json_string_value(json_object_get(net, "Id")), o->ip, NULL);
	if (user) {
		char short_id[13];

		aliases = json_array();
		for (i = 0; i < o->aliases.n; i++)
			json_array_append_new(aliases, json_string(o->aliases.v[i]));
		snprintf(short_id, sizeof(short_id), "%.12s", c->id);
		json_array_append_new(aliases, json_string(short_id));
		json_object_set_new(ep, "Aliases", aliases);
	}
	*out = ep;
	return 0;
}

int network_connect(const char *root, const char *net_ref, struct container *c,
		    const struct net_endpoint_opts *o, struct err *err)
{
	const char *mode = mode_of(c), *name;
	_cleanup_json_ json_t *net = NULL;
	json_t *nets = networks_of(c), *ep = NULL;
	bool live;
	int n;
	uint32_t ip;

	if (network_load(root, net_ref, &net, err) < 0) {
		err_clear(err);
		return err_set(err, "network %s not found", net_ref);
	}
	name = json_string_value(json_object_get(net, "Name"));
	if (!strcmp(mode, "host") || !strncmp(mode, "container:", 10))
		return err_set(err, ERR_SHARED);
	if (!strcmp(name, "host"))
		return err_set(err, ERR_HOST);
	if (!strcmp(mode, "none") || !strcmp(name, "none"))
		return err_set(err, ERR_NONE);
	live = running(c);
	if (json_object_get(nets, name)) {
		const char *cname = json_string_value(json_object_get(c->record, "Name")) ?: "/";

		/* docker: a stopped container's second connect changes nothing */
		if (!live)
			return 0;
		return err_set(err, "endpoint with name %s already exists in network %s",
			       cname + (cname[0] == '/'), name);
	}
	/* what was asked is checked first, as docker's updateNetworkConfig */
	if (endpoint_new(c, net, o, &ep, err) < 0)
		return -1;
	if ((net_container_hyperv(c) && net_count(nets) >= 1) ||
	    net_count(nets) >= NET_MAX_IFACES) {
		json_decref(ep);
		if (net_container_hyperv(c))
			return err_set(err, NET_HYPERV_ONE);
		return err_set(err, "a container has at most %d networks", NET_MAX_IFACES);
	}
	json_object_set_new(nets, name, ep);
	if (!live)
		return record_save(c, err);
	/* at once: ethN in the running container's netns */
	n = net_iface_free(c->dir, c->id);
	if (n < 0) {
		json_object_del(nets, name);
		return err_set(err, "a container has at most %d networks", NET_MAX_IFACES);
	}
	if (net_endpoint_attach(root, c, name, (unsigned)n, false, &ip, err) < 0) {
		json_object_del(nets, name);
		return err_wrap(err, "connect container %.12s to network %s", c->id, name);
	}
	if (net_hosts_refresh(c, err) < 0)
		return -1;
	return record_save(c, err);
}

int network_disconnect(const char *root, const char *net_ref, struct container *c,
		       bool force, struct err *err)
{
	const char *mode = mode_of(c), *name = net_ref, *net_id = NULL;
	_cleanup_json_ json_t *net = NULL;
	json_t *nets = networks_of(c);
	bool live = running(c);

	if (network_load(root, net_ref, &net, err) < 0) {
		err_clear(err);
		if (!force)
			return err_set(err, "network %s not found", net_ref);
		/* -f: a network gone from the store is dropped from the record */
		live = false;
	} else {
		name = json_string_value(json_object_get(net, "Name"));
		net_id = json_string_value(json_object_get(net, "Id"));
	}
	if (!strcmp(name, "host") && !strcmp(mode, "host"))
		return err_set(err, ERR_HOST);
	if (!json_object_get(nets, name))
		return err_set(err, live ? "container %s is not connected to network %s"
				    : "container %s is not connected to the network %s",
			       c->id, name);
	if (live)
		net_endpoint_detach(root, c, name, net_id);
	json_object_del(nets, name);
	if (live && net_hosts_refresh(c, err) < 0)
		return -1;
	return record_save(c, err);
}
