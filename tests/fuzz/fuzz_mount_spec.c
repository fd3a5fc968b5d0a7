/* libFuzzer: docker's -v and --mount parsers (engine/mount_spec.c) on hostile
 * flag text. Input: one byte choosing the parser (even: -v, odd: --mount),
 * then the flag's value. What a parse accepts must hold its promises: an
 * absolute target other than "/", a source only where the type has one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mount_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mount_spec m = { 0 };
	struct err err = { 0 };
	char *spec;
	int r;

	if (size < 1 || size > 4096)
		return 0;
	spec = strndup((const char *)data + 1, size - 1);
	if (!spec)
		return 0;
	r = data[0] & 1 ? mount_spec_parse_mount(spec, &m, &err)
			: mount_spec_parse_volume(spec, &m, &err);
	if (r == 0) {
		if (!m.target || m.target[0] != '/' || !strcmp(m.target, "/"))
			abort();
		if (m.type == MOUNT_TMPFS && m.source)
			abort();
		if (m.type == MOUNT_BIND && (!m.source || !m.source[0]))
			abort();
	} else if (r != -1 || !err.msg[0]) {
		abort();
	}
	mount_spec_free(&m);
	free(spec);
	return 0;
}
