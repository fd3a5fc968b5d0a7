/* libFuzzer: what a hostile image says it needs (its OCI config), checked
 * against a kernel whose banner and build config are hostile too, and run
 * through the isolation policy's matchers.
 * Input: image config JSON, NUL, kernel banner, NUL, kernel config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/image_needs.h"
#include "engine/isolation_policy.h"
#include "engine/kernel_info.h"
#include "util/fs.h"

static const char *part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, 0, end - *p);
	char *s;

	if (!nul)
		nul = end;
	s = xasprintf("%.*s", (int)(nul - *p), (const char *)*p);
	*p = nul < end ? nul + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *json = (char *)part(&p, end), *banner = (char *)part(&p, end);
	char need[256], lack[512], words[256];
	struct kernel_info k = { 0 };
	struct image_needs n;
	struct err err = { 0 };
	json_t *cfg = json_loads(json, 0, NULL);

	kernel_banner_parse(banner, k.release, sizeof(k.release), &k.version);
	k.config = (char *)part(&p, end);
	if (cfg && image_needs_read(cfg, "fuzz:latest", &n, &err) == 0) {
		image_needs_met(&n, &k, "this host", need, sizeof(need), lack, sizeof(lack));
		image_needs_describe(&n, words, sizeof(words));
	}
	if (cfg) {
		json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
		const char *key;
		json_t *v;

		/* Image labels as patterns, against the banner as an image name. */
		json_object_foreach(labels, key, v)
			policy_image_matches(key, banner);
	}
	json_decref(cfg);
	free(json);
	free(banner);
	free(k.config);
	return 0;
}
