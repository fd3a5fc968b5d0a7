/* The registry client: one repository on one registry, over libcurl. */
#include "engine/registry.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "engine/auth_config.h"
#include "engine/curl_dl.h"
#include "engine/digest.h"
#include "engine/host_config.h"
#include "engine/image.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define DOCKER_CERTS_D "/etc/docker/certs.d"
#define TOKEN_MAX 8
#define TOKEN_DEFAULT_SECONDS 60

struct token {
	char *scope;
	char *header;                /* "Authorization: Bearer ..." */
	time_t expires;
};

struct registry {
	char *domain;                /* as the reference names it */
	char *host;                  /* where its API is */
	char *path;
	char *scope;                 /* "repository:PATH:pull[,push]" and more, space separated */
	char *base;                  /* "https://HOST" or "http://HOST" once known */
	bool allow_http;             /* loopback or insecure_registries */
	bool insecure;               /* insecure_registries: TLS unverified */
	bool loopback;               /* never through a proxy, as Go's http does */
	char *user, *password;
	bool basic;                  /* the registry asked for Basic auth */
	struct token tokens[TOKEN_MAX];
	char *ca_blob;               /* system CAs + certs.d/HOST's .crt files, or NULL */
	size_t ca_len;
	char *client_cert, *client_key;
	CURL *easy;
};

/* References ----------------------------------------------------------- */

bool registry_ref_has_tag(const char *ref)
{
	const char *slash = strrchr(ref, '/');

	return strchr(slash ? slash : ref, ':') || strchr(ref, '@');
}

void registry_ref_free(struct registry_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

int registry_ref_parse(const char *s, struct registry_ref *r, struct err *err)
{
	_cleanup_free_ char *name = NULL, *tag = NULL, *norm = NULL;
	const char *at = strchr(s, '@'), *slash, *colon;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (!s || !*s)
		return err_set(err, "invalid reference format: the image name is empty");
	if (at) {
		if (!digest_valid(at + 1))
			return err_set(err, "invalid reference format '%s': a digest is "
				       "sha256:<64 lowercase hex digits>", s);
		r->digest = xstrdup(at + 1);
		name = xasprintf("%.*s", (int)(at - s), s);
	} else {
		name = xstrdup(s);
	}
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		tag = xstrdup(colon + 1);
		name[colon - name] = 0;
	}
	/* The grammar of names and tags is image_ref_normalize's. */
	norm = xasprintf("%s:%s", name, tag ? tag : "latest");
	{
		_cleanup_free_ char *check = NULL;

		if (!*name || image_ref_normalize(norm, &check, err) < 0) {
			if (!*name)
				err_set(err, "invalid reference format '%s'", s);
			goto bad;
		}
	}
	n = strcspn(name, "/");
	if (name[n] == '/' && (memchr(name, '.', n) || memchr(name, ':', n) ||
			       (n == 9 && !strncmp(name, "localhost", 9)))) {
		r->domain = xasprintf("%.*s", (int)n, name);
		r->path = xstrdup(name + n + 1);
	} else {
		r->domain = xstrdup(REGISTRY_DOCKER_HUB);
		r->path = xstrdup(name);
	}
	if (!strcmp(r->domain, "index.docker.io")) {
		free(r->domain);
		r->domain = xstrdup(REGISTRY_DOCKER_HUB);
	}
	if (!strcmp(r->domain, REGISTRY_DOCKER_HUB) && !strchr(r->path, '/')) {
		char *p = xasprintf("library/%s", r->path);

		free(r->path);
		r->path = p;
	}
	r->tag = tag ? xstrdup(tag) : at ? NULL : xstrdup("latest");
	return 0;
bad:
	registry_ref_free(r);
	return -1;
}

char *registry_ref_name(const struct registry_ref *r)
{
	if (strcmp(r->domain, REGISTRY_DOCKER_HUB))
		return xasprintf("%s/%s", r->domain, r->path);
	if (!strncmp(r->path, "library/", 8) && !strchr(r->path + 8, '/'))
		return xstrdup(r->path + 8);
	return xstrdup(r->path);
}

char *registry_ref_string(const struct registry_ref *r)
{
	_cleanup_free_ char *name = registry_ref_name(r);

	if (r->tag)
		return xasprintf("%s:%s", name, r->tag);
	return xasprintf("%s@%s", name, r->digest);
}

/* Opening ---------------------------------------------------------------- */

/* "localhost", 127.0.0.0/8 and ::1, with or without a port. */
static bool host_is_loopback(const char *domain)
{
	char host[256];
	struct in6_addr a6;
	struct in_addr a4;
	const char *end;

	if (domain[0] == '[') {
		end = strchr(domain, ']');
		if (!end || (size_t)(end - domain) >= sizeof(host))
			return false;
		snprintf(host, sizeof(host), "%.*s", (int)(end - domain - 1), domain + 1);
		return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(domain, ":"), domain);
	if (!strcasecmp(host, "localhost"))
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static void certs_load(struct registry *reg)
{
	const char *dir_env = getenv("ISOBOX_CERTS_D");
	_cleanup_free_ char *dir = xasprintf("%s/%s", dir_env && *dir_env ? dir_env :
					     DOCKER_CERTS_D, reg->domain);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	char *sys = NULL, *buf;
	size_t sys_len = 0, len;

	if (!d)
		return;
	if (read_file(SYSTEM_CA_BUNDLE, 16u << 20, &sys, &sys_len, &(struct err){ 0 }) == 0) {
		reg->ca_blob = sys;
		reg->ca_len = sys_len;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, e->d_name);

		if (n > 4 && !strcmp(e->d_name + n - 4, ".crt")) {
			if (read_file(path, 1u << 20, &buf, &len, &(struct err){ 0 }) < 0)
				continue;
			reg->ca_blob = xrealloc(reg->ca_blob, reg->ca_len + len + 2);
			memcpy(reg->ca_blob + reg->ca_len, buf, len);
			reg->ca_len += len;
			reg->ca_blob[reg->ca_len++] = '\n';
			reg->ca_blob[reg->ca_len] = 0;
			free(buf);
		} else if (n > 5 && !strcmp(e->d_name + n - 5, ".cert") && !reg->client_cert) {
			_cleanup_free_ char *key = xasprintf("%.*s.key", (int)(strlen(path) - 5), path);

			if (access(key, R_OK) == 0) {
				reg->client_cert = xstrdup(path);
				reg->client_key = xstrdup(key);
			}
		}
	}
}

int registry_open(const char *domain, const char *path, bool push,
		  const struct host_config *hc, struct registry **out, struct err *err)
{
	struct registry *reg;
	const char *key;

	if (curl_dl_load(err) < 0)
		return -1;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return err_sys(err, ENOMEM, "registry %s", domain);
	reg->domain = xstrdup(domain);
	reg->host = xstrdup(strcmp(domain, REGISTRY_DOCKER_HUB) ? domain : REGISTRY_DOCKER_HUB_API);
	reg->path = xstrdup(path ? path : "");
	/* No repository (login): tokens for no scope, as docker login asks. */
	reg->scope = path ? xasprintf("repository:%s:%s", path, push ? "pull,push" : "pull") :
		     xstrdup("");
	reg->loopback = reg->allow_http = host_is_loopback(domain);
	for (size_t i = 0; hc && i < hc->insecure_registries.n; i++) {
		const char *h = hc->insecure_registries.v[i];

		if (!strcmp(h, domain) || (!strchr(h, ':') && !strncmp(h, domain, strlen(h)) &&
					   domain[strlen(h)] == ':'))
			reg->allow_http = reg->insecure = true;
	}
	certs_load(reg);
	key = strcmp(domain, REGISTRY_DOCKER_HUB) ? domain : REGISTRY_DOCKER_HUB_AUTH_KEY;
	if (auth_config_get(key, &reg->user, &reg->password, err) < 0) {
		registry_close(reg);
		return err_wrap(err, "credentials for %s", domain);
	}
	reg->easy = curl_easy_init();
	if (!reg->easy) {
		registry_close(reg);
		return err_set(err, "registry %s: curl_easy_init failed", domain);
	}
	*out = reg;
	return 0;
}

void registry_scope_add(struct registry *reg, const char *other_path)
{
	_cleanup_free_ char *one = xasprintf("repository:%s:pull", other_path);
	size_t n = strlen(one);
	char *s;

	/* Once per repository: a push mounting many blobs from one repository
	 * keeps one scope, and so one token. */
	for (const char *p = reg->scope; (p = strstr(p, one)); p += n)
		if ((p == reg->scope || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return;
	s = xasprintf("%s %s", reg->scope, one);
	free(reg->scope);
	reg->scope = s;
}

void registry_set_credentials(struct registry *reg, const char *user, const char *password)
{
	free(reg->user);
	free(reg->password);
	reg->user = user ? xstrdup(user) : NULL;
	reg->password = user ? xstrdup(password ? password : "") : NULL;
	reg->basic = false;
	for (int i = 0; i < TOKEN_MAX; i++)
		reg->tokens[i].expires = 0;
}

void registry_close(struct registry *reg)
{
	if (!reg)
		return;
	if (reg->easy)
		curl_easy_cleanup(reg->easy);
	for (int i = 0; i < TOKEN_MAX; i++) {
		free(reg->tokens[i].scope);
		free(reg->tokens[i].header);
	}
	free(reg->domain);
	free(reg->host);
	free(reg->path);
	free(reg->scope);
	free(reg->base);
	free(reg->user);
	free(reg->password);
	free(reg->ca_blob);
	free(reg->client_cert);
	free(reg->client_key);
	free(reg);
}

static void response_clear_headers(struct registry_response *resp)
{
	char **slots[] = { &resp->content_type, &resp->docker_digest, &resp->location,
			   &resp->range, &resp->www_authenticate };

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		free(*slots[i]);
		*slots[i] = NULL;
	}
	resp->content_length = -1;
}

void registry_response_free(struct registry_response *resp)
{
	response_clear_headers(resp);
	free(resp->body);
	free(resp->priv);
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
}

/* Transfers -------------------------------------------------------------- */

/* What a transfer's callbacks need: the request, its response, and where the
 * body stands when it comes from an fd. */
struct xfer {
	const struct registry_request *req;
	struct registry_response *resp;
	off_t fd_start;
	long long sent;
};

static void set_header(char **slot, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	free(*slot);
	*slot = xasprintf("%.*s", (int)n, v);
}

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
	struct registry_response *resp = ctx;
	static const struct { const char *name; size_t off; } keep[] = {
		{ "content-type", offsetof(struct registry_response, content_type) },
		{ "docker-content-digest", offsetof(struct registry_response, docker_digest) },
		{ "location", offsetof(struct registry_response, location) },
		{ "range", offsetof(struct registry_response, range) },
		{ "www-authenticate", offsetof(struct registry_response, www_authenticate) },
	};
	size_t len = size * n, i;
	const char *colon = memchr(line, ':', len), *v;

	/* A new response (a redirect, 100 Continue): forget the last one's headers. */
	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', len);

		response_clear_headers(resp);
		/* A redirect's body is not the answer's. */
		free(resp->body);
		resp->body = NULL;
		resp->body_len = 0;
		resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	if (!colon)
		return len;
	v = colon + 1;
	while (v < line + len && (*v == ' ' || *v == '\t'))
		v++;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((size_t)(colon - line) == strlen(keep[i].name) &&
		    !strncasecmp(line, keep[i].name, colon - line))
			set_header((char **)((char *)resp + keep[i].off), v, line + len - v);
	if ((size_t)(colon - line) == 14 && !strncasecmp(line, "content-length", 14))
		resp->content_length = strtoll(v, NULL, 10);
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	struct registry_response *resp = x->resp;
	size_t len = size * n;

	if (x->req->on_data && resp->status < 300 && resp->status >= 200)
		return x->req->on_data(x->req->ctx, data, len);
	/* Error bodies, and everything when there is no sink: bounded. */
	if (resp->body_len + len > REGISTRY_BODY_MAX)
		return x->req->on_data ? len : 0;
	resp->body = xrealloc(resp->body, resp->body_len + len + 1);
	memcpy(resp->body + resp->body_len, data, len);
	resp->body_len += len;
	resp->body[resp->body_len] = 0;
	return len;
}


static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	const struct registry_request *req = x->req;
	size_t want = size * n;
	ssize_t r;

	if (req->body) {
		size_t left = req->body_len - (size_t)x->sent;

		if (want > left)
			want = left;
		memcpy(buf, (const char *)req->body + x->sent, want);
		x->sent += (long long)want;
		return want;
	}
	if ((long long)want > req->body_fd_len - x->sent)
		want = (size_t)(req->body_fd_len - x->sent);
	if (!want)
		return 0;
	r = pread(req->body_fd, buf, want, x->fd_start + x->sent);
	if (r <= 0)
		return CURL_READFUNC_ABORT;
	x->sent += r;
	return (size_t)r;
}

static const struct token *token_find(struct registry *reg)
{
	for (int i = 0; i < TOKEN_MAX; i++)
		if (reg->tokens[i].scope && !strcmp(reg->tokens[i].scope, reg->scope) &&
		    time(NULL) < reg->tokens[i].expires)
			return &reg->tokens[i];
	return NULL;
}

static void tls_setup(struct registry *reg, CURL *h)
{
	if (reg->loopback)
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (reg->ca_blob) {
		struct curl_blob blob = { reg->ca_blob, reg->ca_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (reg->client_cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, reg->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, reg->client_key);
	}
	if (reg->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static void common_setup(CURL *h)
{
	curl_easy_setopt(h, CURLOPT_USERAGENT, "isobox/1 (docker-compatible)");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled connection is a dropped one: the caller retries and resumes. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
}


static char *url_for(struct registry *reg, const char *path)
{
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
		return xstrdup(path);
	if (path[0] == '/')
		return xasprintf("%s%s", reg->base, path);
	return xasprintf("%s/v2/%s/%s", reg->base, reg->path, path);
}

char *registry_url(struct registry *reg, const char *path)
{
	return reg->base ? url_for(reg, path) : xasprintf("https://%s%s", reg->host, path);
}

/* Auth only for this registry's own URLs; an upload Location elsewhere gets none. */
static bool url_is_ours(struct registry *reg, const char *url)
{
	size_t n = strlen(reg->base);

	return !strncmp(url, reg->base, n) && (url[n] == '/' || !url[n]);
}

static int setup(struct registry *reg, CURL *h, const struct registry_request *req,
		 struct registry_response *resp, struct xfer *x, struct curl_slist **hdrs,
		 struct err *err)
{
	_cleanup_free_ char *url = url_for(reg, req->path);
	const struct token *t = token_find(reg);
	char range[64];

	x->req = req;
	x->resp = resp;
	x->sent = 0;
	if (req->body_fd >= 0 && !req->body) {
		x->fd_start = lseek(req->body_fd, 0, SEEK_CUR);
		if (x->fd_start < 0)
			x->fd_start = 0;
	}
	*hdrs = NULL;
	common_setup(h);
	tls_setup(reg, h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	for (const char *const *p = req->headers; p && *p; p++)
		*hdrs = curl_slist_append(*hdrs, *p);
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	if (url_is_ours(reg, url)) {
		if (t)
			*hdrs = curl_slist_append(*hdrs, t->header);
		else if (reg->basic && reg->user) {
			curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(h, CURLOPT_USERNAME, reg->user);
			curl_easy_setopt(h, CURLOPT_PASSWORD, reg->password);
		}
	}
	if (req->range_from > 0) {
		snprintf(range, sizeof(range), "Range: bytes=%lld-", req->range_from);
		*hdrs = curl_slist_append(*hdrs, range);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		long long len = req->body ? (long long)req->body_len :
				req->body_fd >= 0 ? req->body_fd_len : 0;

		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
	(void)err;
	return 0;
}


/* auth-params, RFC 7235: name=token or name="quoted\"string", comma
 * separated; a name inside another's value is not a name. */
int registry_challenge_param(const char *ch, const char *name, char **out)
{
	const char *p = ch;

	*out = NULL;
	for (;;) {
		const char *n0, *v0;
		size_t nlen;
		char *val;

		p += strspn(p, " \t,");
		if (!*p)
			return 0;
		n0 = p;
		p += strcspn(p, "=, \t");
		nlen = (size_t)(p - n0);
		if (*p != '=') {          /* a bare token (token68): no value */
			p += strcspn(p, ",");
			continue;
		}
		p++;
		if (*p == '"') {
			size_t k = 0;

			val = xmalloc(strlen(p) + 1);
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				val[k++] = *p;
			}
			val[k] = 0;
			if (*p != '"') {
				free(val);
				return -1;
			}
			p++;
		} else {
			v0 = p;
			p += strcspn(p, ", \t");
			val = xasprintf("%.*s", (int)(p - v0), v0);
		}
		if (nlen == strlen(name) && !strncasecmp(n0, name, nlen)) {
			*out = val;
			return 0;
		}
		free(val);
	}
}

static char *url_escape(CURL *h, const char *s)
{
	char *e = curl_easy_escape(h, s, 0);
	char *r = xstrdup(e ? e : "");

	curl_free(e);
	return r;
}

static int token_fetch(struct registry *reg, const char *challenge, struct err *err)
{
	_cleanup_free_ char *realm = NULL, *service = NULL, *url = NULL;
	struct registry_request req = { .method = "GET", .body_fd = -1 };
	struct registry_response resp = { .content_length = -1 };
	struct curl_slist *hdrs = NULL;
	struct xfer x = { 0 };
	_cleanup_json_ json_t *j = NULL;
	const char *tok;
	json_t *exp;
	CURLcode rc;
	long status = 0;
	CURL *h;
	int slot = 0;
	time_t oldest = 0;

	if (registry_challenge_param(challenge, "realm", &realm) < 0 || !realm ||
	    registry_challenge_param(challenge, "service", &service) < 0)
		return err_set(err, "registry %s: malformed auth challenge %.200s", reg->domain,
			       challenge);
	h = curl_easy_init();
	if (!h)
		return err_set(err, "curl_easy_init failed");
	url = xasprintf("%s%s", realm, strchr(realm, '?') ? "&" : "?");
	if (service) {
		_cleanup_free_ char *e = url_escape(h, service);
		char *u = xasprintf("%sservice=%s&", url, e);

		free(url);
		url = u;
	}
	for (char *sc = reg->scope, *end; *sc; sc = *end ? end + 1 : end) {
		_cleanup_free_ char *one = NULL, *e = NULL;
		char *u;

		end = sc + strcspn(sc, " ");
		one = xasprintf("%.*s", (int)(end - sc), sc);
		e = url_escape(h, one);
		u = xasprintf("%sscope=%s&", url, e);
		free(url);
		url = u;
	}
	url[strlen(url) - 1] = 0;
	req.path = url;
	x.req = &req;
	x.resp = &resp;
	common_setup(h);
	tls_setup(reg, h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (reg->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, reg->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, reg->password);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		registry_response_free(&resp);
		return err_set(err, "Get \"%s\": %s", realm, curl_easy_strerror(rc));
	}
	if (status == 401 || status == 403) {
		registry_response_free(&resp);
		return err_set(err, "Get \"%s\": unauthorized: %s", realm,
			       reg->user ? "incorrect username or password" :
					   "authentication required");
	}
	j = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	registry_response_free(&resp);
	if (status != 200 || !json_is_object(j))
		return err_set(err, "Get \"%s\": token server answered %ld", realm, status);
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok || strpbrk(tok, "\r\n"))
		return err_set(err, "Get \"%s\": the token server sent no token", realm);
	for (int i = 0; i < TOKEN_MAX; i++) {
		if (reg->tokens[i].scope && !strcmp(reg->tokens[i].scope, reg->scope)) {
			slot = i;
			break;
		}
		if (!reg->tokens[i].scope || !oldest || reg->tokens[i].expires < oldest) {
			slot = i;
			oldest = reg->tokens[i].scope ? reg->tokens[i].expires : 1;
		}
	}
	free(reg->tokens[slot].scope);
	free(reg->tokens[slot].header);
	exp = json_object_get(j, "expires_in");
	reg->tokens[slot].scope = xstrdup(reg->scope);
	reg->tokens[slot].header = xasprintf("Authorization: Bearer %s", tok);
	reg->tokens[slot].expires = time(NULL) + (json_is_integer(exp) &&
						  json_integer_value(exp) > 0 ?
					  (time_t)json_integer_value(exp) : TOKEN_DEFAULT_SECONDS);
	return 0;
}

int registry_reauth(struct registry *reg, const struct registry_response *resp,
		    struct err *err)
{
	const char *ch = resp->www_authenticate;

	/* A token that stopped working: forget it. */
	for (int i = 0; i < TOKEN_MAX; i++)
		if (reg->tokens[i].scope && !strcmp(reg->tokens[i].scope, reg->scope))
			reg->tokens[i].expires = 0;
	if (!ch)
		return err_set(err, "registry %s answered 401 without an auth challenge",
			       reg->domain);
	if (!strncasecmp(ch, "Bearer ", 7))
		return token_fetch(reg, ch + 7, err);
	if (!strncasecmp(ch, "Basic", 5)) {
		if (!reg->user || reg->basic)
			return err_set(err, "no basic auth credentials");
		reg->basic = true;
		return 0;
	}
	return err_set(err, "registry %s: unsupported auth scheme %.40s", reg->domain, ch);
}

/* docker's words for a transport failure: Get "URL": dial tcp HOST: connect: ... */
static int transport_error(struct registry *reg, CURL *h, const char *path, CURLcode rc,
			   struct err *err)
{
	_cleanup_free_ char *url = url_for(reg, path);
	long os_errno = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	if (rc == CURLE_COULDNT_CONNECT && os_errno > 0) {
		char msg[128];
		size_t i;

		snprintf(msg, sizeof(msg), "%s", strerror((int)os_errno));
		for (i = 0; msg[i]; i++)
			msg[i] = (char)tolower((unsigned char)msg[i]);
		return err_set(err, "Get \"%s\": dial tcp %s: connect: %s", url, reg->host, msg);
	}
	return err_set(err, "Get \"%s\": %s", url, curl_easy_strerror(rc));
}

static int perform(struct registry *reg, const struct registry_request *req,
		   struct registry_response *resp, CURLcode *rc, struct err *err)
{
	struct curl_slist *hdrs = NULL;
	struct xfer x = { 0 };

	curl_easy_reset(reg->easy);
	registry_response_free(resp);
	if (setup(reg, reg->easy, req, resp, &x, &hdrs, err) < 0)
		return -1;
	*rc = curl_easy_perform(reg->easy);
	curl_easy_getinfo(reg->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hdrs);
	/* The next attempt reads the fd body from where this one started. */
	if (req->body_fd >= 0 && !req->body)
		lseek(req->body_fd, x.fd_start, SEEK_SET);
	if (*rc != CURLE_OK)
		return transport_error(reg, reg->easy, req->path, *rc, err);
	return 0;
}

/* HTTPS first; plain HTTP only where allowed, when HTTPS does not answer. */
static int scheme_pick(struct registry *reg, struct err *err)
{
	struct registry_request ping = { .method = "GET", .path = "/v2/", .body_fd = -1 };
	struct registry_response resp = { .content_length = -1 };
	CURLcode rc;

	if (reg->base)
		return 0;
	reg->base = xasprintf("https://%s", reg->host);
	/* A certificate that fails verification is an answer, not a server
	 * that speaks no TLS: no fallback then. */
	if (perform(reg, &ping, &resp, &rc, err) == 0 || !reg->allow_http ||
	    rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_SSL_CERTPROBLEM) {
		registry_response_free(&resp);
		if (rc != CURLE_OK) {
			free(reg->base);
			reg->base = NULL;
			return -1;
		}
		return 0;
	}
	free(reg->base);
	reg->base = xasprintf("http://%s", reg->host);
	err_clear(err);
	if (perform(reg, &ping, &resp, &rc, err) < 0) {
		registry_response_free(&resp);
		free(reg->base);
		reg->base = NULL;
		return -1;
	}
	registry_response_free(&resp);
	return 0;
}

int registry_do(struct registry *reg, const struct registry_request *req,
		struct registry_response *resp, struct err *err)
{
	CURLcode rc;

	if (scheme_pick(reg, err) < 0)
		return -1;
	if (perform(reg, req, resp, &rc, err) < 0)
		return -1;
	if (resp->status != 401)
		return 0;
	if (registry_reauth(reg, resp, err) < 0) {
		/* Credentials that were refused say so; without any, the 401 is the
		 * answer (docker's "pull access denied"). */
		if (reg->user)
			return -1;
		err_clear(err);
		return 0;
	}
	return perform(reg, req, resp, &rc, err);
}

int registry_setup(struct registry *reg, void *curl_easy, const struct registry_request *req,
		   struct registry_response *resp, struct curl_slist **headers,
		   struct err *err)
{
	struct xfer *x;

	if (scheme_pick(reg, err) < 0)
		return -1;
	/* The callbacks' state lives as long as the response. */
	registry_response_free(resp);
	x = calloc(1, sizeof(*x));
	if (!x)
		return err_sys(err, ENOMEM, "transfer");
	resp->priv = x;
	return setup(reg, curl_easy, req, resp, x, headers, err);
}

/* Errors ----------------------------------------------------------------- */

static void code_words(const char *code, char *out, size_t size)
{
	size_t i;

	for (i = 0; code[i] && i + 1 < size; i++)
		out[i] = code[i] == '_' ? ' ' : (char)tolower((unsigned char)code[i]);
	out[i] = 0;
}

int registry_error(struct registry *reg, const struct registry_response *resp,
		   const char *what, struct err *err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *name = NULL;
	json_t *e0;
	const char *code = NULL, *msg = NULL;
	char words[64] = "";

	if (resp->body && resp->body_len)
		j = json_loadb(resp->body, resp->body_len, 0, NULL);
	e0 = json_array_get(json_object_get(j, "errors"), 0);
	code = json_string_value(json_object_get(e0, "code"));
	msg = json_string_value(json_object_get(e0, "message"));
	if (code)
		code_words(code, words, sizeof(words));
	name = !strcmp(reg->domain, REGISTRY_DOCKER_HUB) &&
			       !strncmp(reg->path, "library/", 8) ?
		       xstrdup(reg->path + 8) :
	       !strcmp(reg->domain, REGISTRY_DOCKER_HUB) ? xstrdup(reg->path) :
							   xasprintf("%s/%s", reg->domain, reg->path);
	if (resp->status == 401 || resp->status == 403 ||
	    (code && (!strcmp(code, "UNAUTHORIZED") || !strcmp(code, "DENIED") ||
		      !strcmp(code, "NAME_UNKNOWN")))) {
		if (strstr(reg->scope, "push"))
			return err_set(err, "%s: %s", code ? words : "unauthorized",
				       msg ? msg : "authentication required");
		return err_set(err, "pull access denied for %s, repository does not exist or may "
			       "require 'docker login': denied: requested access to the resource "
			       "is denied", name);
	}
	if (code && !strcmp(code, "MANIFEST_UNKNOWN"))
		return err_set(err, "%s not found: manifest unknown: %.200s", what,
			       msg ? msg : "manifest unknown");
	if (code)
		return err_set(err, "%s: %s: %.300s", what, words, msg ? msg : "");
	return err_set(err, "%s: the registry answered HTTP %ld", what, resp->status);
}
