/* libFuzzer: a hostile registry's manifests, indexes and image configs.
 * Input: byte 0 picks the Content-Type the document came with, byte 1 the
 * platform wanted and the host kernel; the rest is the document, parsed as a
 * manifest (an index then goes through platform selection) and as an image
 * config for the layer count the manifest claims. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/manifest.h"

static const char *const content_types[] = {
	NULL, "application/json", MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_LIST,
	MEDIA_DOCKER_MANIFEST "; charset=utf-8", "text/html", "",
};
static const char *const platforms[] = {
	NULL, "linux/amd64", "linux/arm64", "linux/arm64/v8", "linux/arm/v7", "linux/amd64/v3",
	"windows/amd64", "linux/x86_64",
};
static const char *const kernels[] = { NULL, "6.1.0", "5.10", "99999.99999.99999" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = { 0 };
	struct platform want;
	struct manifest m;
	json_t *cfg = NULL;
	size_t idx, n_layers;

	if (size < 2)
		return 0;
	n_layers = data[1] >> 5;
	if (manifest_parse((const char *)data + 2, size - 2, content_types[data[0] & 7], &m,
			   &err) == 0) {
		if (m.kind == MANIFEST_INDEX &&
		    platform_parse(platforms[data[1] & 7], &want, &err) == 0) {
			if (manifest_select(&m, &want, kernels[(data[1] >> 3) & 3], &idx,
					    &err) == 0 &&
			    idx >= m.n_manifests)
				abort();
			platform_free(&want);
		}
		if (m.kind == MANIFEST_IMAGE)
			n_layers = m.n_layers;
		manifest_free(&m);
	}
	if (image_config_parse((const char *)data + 2, size - 2, n_layers, &cfg, &err) == 0)
		json_decref(cfg);
	/* The platform parser on the document's first bytes. */
	if (size < 160) {
		char *s = strndup((const char *)data + 2, size - 2);

		if (s && platform_parse(s, &want, &err) == 0)
			platform_free(&want);
		free(s);
	}
	return 0;
}
