/* libFuzzer: bytes -> json_loadb -> spec_parse -> spec_free. Any config.json
 * must parse or be refused without a crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>

#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	struct oci_spec spec;
	struct err err = { 0 };
	size_t i;

	if (!j)
		return 0;
	if (spec_parse(j, &spec, &err) == 0) {
		/* touch what the backends read: every string must be there */
		for (i = 0; spec.args[i]; i++)
			(void)spec.args[i][0];
		for (i = 0; spec.env[i]; i++)
			(void)spec.env[i][0];
		for (i = 0; i < spec.n_mounts; i++)
			if (spec.mounts[i].destination[0] != '/' || !spec.mounts[i].type ||
			    !spec.mounts[i].source)
				__builtin_trap();
		if (spec.cwd[0] != '/' || !spec.root_path)
			__builtin_trap();
	} else if (!err.msg[0]) {
		__builtin_trap();   /* a refusal always says why */
	}
	spec_free(&spec);
	json_decref(j);
	return 0;
}
