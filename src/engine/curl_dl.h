/* libcurl, loaded on first use. Only pull and push talk to registries;
 * loading libcurl (with OpenSSL, nghttp2, libssh2, LDAP, ...) at every start
 * would cost each `run` RSS and milliseconds, as libarchive would
 * (archive_dl.h). registry.c and pull.c call the functions by their usual
 * names; the macros below route them through this table. */
#ifndef ISOBOX_CURL_DL_H
#define ISOBOX_CURL_DL_H

/* curl's type-checking macros would wrap the names defined below. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "util/err.h"

#define CURL_DL_FUNCS(X) \
	X(curl_global_init) \
	X(curl_easy_init) \
	X(curl_easy_setopt) \
	X(curl_easy_perform) \
	X(curl_easy_getinfo) \
	X(curl_easy_cleanup) \
	X(curl_easy_reset) \
	X(curl_easy_strerror) \
	X(curl_easy_escape) \
	X(curl_free) \
	X(curl_slist_append) \
	X(curl_slist_free_all) \
	X(curl_multi_init) \
	X(curl_multi_add_handle) \
	X(curl_multi_remove_handle) \
	X(curl_multi_perform) \
	X(curl_multi_poll) \
	X(curl_multi_info_read) \
	X(curl_multi_cleanup) \
	X(curl_multi_strerror) \
	X(curl_multi_setopt) \

struct curl_dl {
#define CURL_DL_MEMBER(f) __typeof__(f) *f;
	CURL_DL_FUNCS(CURL_DL_MEMBER)
#undef CURL_DL_MEMBER
};

extern struct curl_dl curl_dl;

/* dlopen libcurl.so.4, resolve every function above and run
 * curl_global_init, once. */
int curl_dl_load(struct err *err);

#ifndef CURL_DL_IMPL
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init (curl_dl.curl_global_init)
#define curl_easy_init (curl_dl.curl_easy_init)
#define curl_easy_setopt (curl_dl.curl_easy_setopt)
#define curl_easy_perform (curl_dl.curl_easy_perform)
#define curl_easy_getinfo (curl_dl.curl_easy_getinfo)
#define curl_easy_cleanup (curl_dl.curl_easy_cleanup)
#define curl_easy_reset (curl_dl.curl_easy_reset)
#define curl_easy_strerror (curl_dl.curl_easy_strerror)
#define curl_easy_escape (curl_dl.curl_easy_escape)
#define curl_free (curl_dl.curl_free)
#define curl_slist_append (curl_dl.curl_slist_append)
#define curl_slist_free_all (curl_dl.curl_slist_free_all)
#define curl_multi_init (curl_dl.curl_multi_init)
#define curl_multi_add_handle (curl_dl.curl_multi_add_handle)
#define curl_multi_remove_handle (curl_dl.curl_multi_remove_handle)
#define curl_multi_perform (curl_dl.curl_multi_perform)
#define curl_multi_poll (curl_dl.curl_multi_poll)
#define curl_multi_info_read (curl_dl.curl_multi_info_read)
#define curl_multi_cleanup (curl_dl.curl_multi_cleanup)
#define curl_multi_strerror (curl_dl.curl_multi_strerror)
#define curl_multi_setopt (curl_dl.curl_multi_setopt)
#endif

#endif
