/* The API's request router and the JSON of a container list's and an event
 * stream's filters, from a hostile client: input "METHOD URL\nFILTERS".
 * Every answer is a handler with its captures, or docker's error body; no
 * crash, no leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/fs.h"
#include "util/base64.h"
#include "util/path_info.h"

static void handler_stub(const struct api_req *req, struct api_resp *resp) { }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = strndup((const char *)data, size), *nl, *sp, *url;
	struct api_req req = { 0 };
	struct api_resp resp = { 0 };
	json_t *filters = NULL, *c;
	size_t i;

	if (!in)
		return 0;
	nl = strchr(in, '\n');
	if (nl)
		*nl = 0;
	sp = strchr(in, ' ');
	url = sp ? (*sp = 0, sp + 1) : in;
	if (api_route(in, url, &req, &resp)) {
		for (i = 0; i < req.n_params; i++)
			if (!req.params[i] || !*req.params[i])
				abort();         /* a capture is never empty */
		api_req_free(&req);
	} else if (!resp.json || resp.status < 400) {
		abort();                         /* an error always says why */
	}
	json_decref(resp.json);
	resp = (struct api_resp){ 0 };
	if (nl && api_filters_parse(API_FILTERS_CONTAINERS, nl + 1, &filters, &resp) == 0) {
		c = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}, s:{s:s}}", "Id", "0123abcd", "Name",
			      "/web-1", "State", "Status", "running", "Config", "Labels", "app",
			      "web", "HostConfig", "Isolation", "hyperv");
		api_filters_match(API_FILTERS_CONTAINERS, c, filters);
		json_decref(c);
		json_decref(filters);
	}
	json_decref(resp.json);
	resp = (struct api_resp){ 0 };
	filters = NULL;
	if (nl && api_filters_parse(API_FILTERS_EVENTS, nl + 1, &filters, &resp) == 0) {
		c = json_pack("{s:s, s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}}}", "id", "0123abcd",
			      "Type", "container", "Action", "die", "Actor", "ID", "0123abcd",
			      "Attributes", "name", "web-1", "image", "busybox", "app", "web");
		api_filters_match(API_FILTERS_EVENTS, c, filters);
		json_decref(c);
		json_decref(filters);
	}
	json_decref(resp.json);
	/* a client's X-Registry-Auth */
	{
		size_t len;

		free(base64url_decode(in, &len));
	}
	/* a guest's answer to cp-path-info (util/path_info.h) is as hostile */
	{
		struct path_info pi;

		if (path_info_parse(in, &pi) == 0 && pi.exists &&
		    (strlen(pi.link) >= PATH_MAX || pi.size < 0))
			abort();
	}
	(void)handler_stub;
	free(in);
	return 0;
}
