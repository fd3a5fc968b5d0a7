#include "engine/image_needs.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#else
#define HOST_ARCH "unknown"
#endif

static int features_read(json_t *features, struct image_needs *n, struct err *err)
{
	json_t *f;
	size_t i;

	if (!features)
		return 0;
	if (!json_is_array(features) || json_array_size(features) > 64)
		return err_set(err, "image %s: os.features is not a list of kernel features",
			       n->image);
	json_array_foreach(features, i, f) {
		const char *option;

		if (!json_is_string(f) || kernel_feature_option(json_string_value(f), &option) < 0)
			return err_set(err, "image %s: os.features names \"%.64s\", which is no "
				       "kernel feature isobox knows: use one of %s, or a CONFIG_ "
				       "option", n->image, json_is_string(f) ? json_string_value(f) : "?",
				       kernel_feature_names());
	}
	n->features = features;
	return 0;
}

int image_needs_read(json_t *cfg, const char *image, struct image_needs *n, struct err *err)
{
	const char *os = json_string_value(json_object_get(cfg, "os"));
	const char *arch = json_string_value(json_object_get(cfg, "architecture"));
	const char *variant = json_string_value(json_object_get(cfg, "variant"));
	json_t *version = json_object_get(cfg, "os.version");
	json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
	json_t *series = json_object_get(labels, IMAGE_LABEL_KERNEL);

	memset(n, 0, sizeof(*n));
	snprintf(n->image, sizeof(n->image), "%s", image);
	if (os && *os && strcmp(os, "linux"))
		return err_set(err, "image %s is a %.32s image, and isobox runs Linux containers "
			       "only, in both isolation modes: run it on a host of its own os",
			       image, os);
	if (arch && *arch && strcmp(arch, HOST_ARCH))
		return err_set(err, "image %s is built for linux/%.32s%s%.16s, and this host is "
			       "linux/" HOST_ARCH ": neither isolation mode runs another "
			       "architecture's images; use the image's linux/" HOST_ARCH
			       " variant", image, arch, variant ? "/" : "", variant ? variant : "");
	if (version && (!json_is_string(version) ||
			kernel_version_parse(json_string_value(version), &n->version) < 0 ||
			strspn(json_string_value(version), "0123456789.") !=
				strlen(json_string_value(version))))
		return err_set(err, "image %s: os.version is a kernel version such as \"6.1\" or "
			       "\"6.1.90\", not %.64s", image,
			       json_is_string(version) ? json_string_value(version) : "a non-string");
	if (version) {
		n->has_version = true;
		snprintf(n->version_text, sizeof(n->version_text), "%s",
			 json_string_value(version));
	}
	if (series && (!json_is_string(series) ||
		       kernel_version_parse(json_string_value(series), &n->series) < 0 ||
		       strspn(json_string_value(series), "0123456789.") !=
			       strlen(json_string_value(series)) ||
		       n->series.patch))
		return err_set(err, "image %s: the label " IMAGE_LABEL_KERNEL " is a kernel "
			       "series such as \"6.1\", not %.64s", image,
			       json_is_string(series) ? json_string_value(series) : "a non-string");
	n->has_series = series != NULL;
	return features_read(json_object_get(cfg, "os.features"), n, err);
}

static void kernel_words(const struct kernel_info *k, char *buf, size_t size)
{
	char v[32];

	kernel_version_format(&k->version, v, sizeof(v));
	if (!strncmp(k->release, v, strlen(v)) || !*k->release)
		snprintf(buf, size, "%s", v);
	else
		snprintf(buf, size, "%s (%s)", v, k->release);
}

int image_needs_met(const struct image_needs *n, const struct kernel_info *k, const char *who,
		    char *need, size_t need_size, char *lack, size_t lack_size)
{
	char runs[200];
	json_t *f;
	size_t i;

	kernel_words(k, runs, sizeof(runs));
	if (n->has_version && kernel_version_cmp(&k->version, &n->version) < 0) {
		snprintf(need, need_size, "kernel %s (os.version)", n->version_text);
		snprintf(lack, lack_size, "%s runs %s", who, runs);
		return 0;
	}
	if (n->has_series && (k->version.major != n->series.major ||
			      k->version.minor != n->series.minor)) {
		snprintf(need, need_size, "the %u.%u kernel series (" IMAGE_LABEL_KERNEL ")",
			 n->series.major, n->series.minor);
		snprintf(lack, lack_size, "%s runs %s", who, runs);
		return 0;
	}
	json_array_foreach(n->features, i, f) {
		const char *feature = json_string_value(f), *option;
		int has;

		kernel_feature_option(feature, &option);
		has = kernel_has_option(k, option);
		if (has == 1)
			continue;
		if (strcmp(feature, option))
			snprintf(need, need_size, "%s (os.features: %s)", feature, option);
		else
			snprintf(need, need_size, "%s (os.features)", feature);
		if (has == 0)
			snprintf(lack, lack_size, "%s's kernel %s is built without it (%s)", who,
				 runs, k->config_source);
		else
			snprintf(lack, lack_size, "%s's kernel %s has no build config to confirm "
				 "it (no %s)", who, runs, k->config_source);
		return 0;
	}
	return 1;
}

void image_needs_describe(const struct image_needs *n, char *buf, size_t size)
{
	size_t len = 0;
	json_t *f;
	size_t i;

	buf[0] = '\0';
	if (n->has_version)
		len += snprintf(buf + len, size - len, "kernel >= %s", n->version_text);
	if (n->has_series && len < size)
		len += snprintf(buf + len, size - len, "%skernel series %u.%u", len ? ", " : "",
				n->series.major, n->series.minor);
	json_array_foreach(n->features, i, f)
		if (len < size)
			len += snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
					json_string_value(f));
}
