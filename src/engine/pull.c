/* pull: manifest, config and layers from a registry into the store. */
#include "engine/pull.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/blob.h"
#include "engine/curl_dl.h"
#include "engine/digest.h"
#include "engine/host_config.h"
#include "engine/image.h"
#include "engine/kernel_info.h"
#include "engine/layer.h"
#include "engine/manifest.h"
#include "engine/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define PULL_ATTEMPTS 5          /* per blob, for 5xx and dropped connections */
#define PULL_BACKOFF_MS 200      /* doubled at each attempt */
#define PULL_REAUTHS 2
#define REF_ANNOTATION "org.opencontainers.image.ref.name"
#define REPO_DIGEST_ANNOTATION "io.isobox.repo.digest"

static const char *const manifest_accept =
	"Accept: " MEDIA_OCI_INDEX ", " MEDIA_OCI_MANIFEST ", " MEDIA_DOCKER_LIST ", "
	MEDIA_DOCKER_MANIFEST;

struct pull {
	const char *root;
	const struct pull_opts *o;
	struct registry *reg;
};

static void progress(struct pull *p, const char *id, const char *status,
		     unsigned long long cur, long long total)
{
	if (p->o->progress)
		p->o->progress(p->o->ctx, id, status, cur, total);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

void pull_result_free(struct pull_result *res)
{
	free(res->name);
	free(res->ref);
	free(res->full);
	free(res->digest);
	memset(res, 0, sizeof(*res));
}

/* Manifests ------------------------------------------------------------------ */

/* GET manifests/REF, retried on 5xx and dropped connections; the body's
 * digest must be want (when given), else Docker-Content-Digest (when sent). */
static int manifest_get(struct pull *p, const char *what, const char *ref, const char *want,
			struct manifest *m, char **body, size_t *len, char digest[DIGEST_STR_LEN],
			struct err *err)
{
	_cleanup_free_ char *path = xasprintf("manifests/%s", ref);
	const char *hdrs[] = { manifest_accept, NULL };
	struct registry_request req = { .method = "GET", .path = path, .headers = hdrs,
					.body_fd = -1 };
	struct registry_response resp = { .content_length = -1 };
	int attempt;

	for (attempt = 1;; attempt++) {
		err_clear(err);
		if (registry_do(p->reg, &req, &resp, err) == 0 && resp.status < 500)
			break;
		if (attempt == PULL_ATTEMPTS) {
			if (!err->kind && resp.status)
				registry_error(p->reg, &resp, what, err);
			registry_response_free(&resp);
			return -1;
		}
		usleep(PULL_BACKOFF_MS * 1000u << (attempt - 1));
	}
	if (resp.status != 200) {
		registry_error(p->reg, &resp, what, err);
		registry_response_free(&resp);
		return -1;
	}
	if (!resp.body || digest_buffer(resp.body, resp.body_len, digest, err) < 0) {
		registry_response_free(&resp);
		return err_set(err, "%s: empty response", what);
	}
	if (want && strcmp(digest, want)) {
		registry_response_free(&resp);
		return err_set(err, "%s: the registry sent a manifest of digest %s, not %s", what,
			       digest, want);
	}
	if (!want && resp.docker_digest && !strncmp(resp.docker_digest, "sha256:", 7) &&
	    strcmp(resp.docker_digest, digest)) {
		err_set(err, "%s: manifest digest %s does not match Docker-Content-Digest %.80s",
			what, digest, resp.docker_digest);
		registry_response_free(&resp);
		return -1;
	}
	if (manifest_parse(resp.body, resp.body_len, resp.content_type, m, err) < 0) {
		registry_response_free(&resp);
		return err_wrap(err, "%s", what);
	}
	*body = resp.body;
	*len = resp.body_len;
	resp.body = NULL;
	registry_response_free(&resp);
	return 0;
}

/* Blobs ---------------------------------------------------------------------- */

struct job {
	struct pull *p;
	const struct descriptor *d;
	char id[13];                 /* short id for progress */
	bool quiet;                  /* the config: no progress lines */
	bool extra;                  /* the config: beside the max_concurrent_downloads */
	bool done;
	bool active;
	int attempts, reauths;
	double not_before;
	struct blob_writer w;
	bool writer_open;
	unsigned long long resume_at;
	bool status_checked;
	bool write_failed;
	struct err werr;
	double last_progress;
	char path[DIGEST_STR_LEN + 8];
	CURL *h;
	struct curl_slist *hdrs;
	struct registry_request req;
	struct registry_response resp;
};

static size_t job_data(void *ctx, const void *data, size_t len)
{
	struct job *j = ctx;
	double t;

	if (!j->status_checked) {
		j->status_checked = true;
		/* The server ignored the Range: start the writer again. */
		if (j->resume_at > 0 && j->resp.status == 200 &&
		    blob_writer_restart(&j->w, &j->werr) < 0) {
			j->write_failed = true;
			return 0;
		}
	}
	/* A registry that sends more than the descriptor says is not trusted to stop. */
	if (j->d->size >= 0 && j->w.size + len > (unsigned long long)j->d->size) {
		err_set(&j->werr, "blob %s: the registry sent more than its %lld bytes",
			j->d->digest, j->d->size);
		j->write_failed = true;
		return 0;
	}
	if (blob_writer_write(&j->w, data, len, &j->werr) < 0) {
		j->write_failed = true;
		return 0;
	}
	t = now_ms();
	if (!j->quiet && t - j->last_progress > 100) {
		j->last_progress = t;
		progress(j->p, j->id, "Downloading", j->w.size, j->d->size);
	}
	return len;
}

static void job_close(struct job *j, CURLM *multi, bool keep_partial)
{
	if (j->active) {
		curl_multi_remove_handle(multi, j->h);
		j->active = false;
	}
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	if (j->writer_open) {
		blob_writer_close(&j->w, keep_partial);
		j->writer_open = false;
	}
	registry_response_free(&j->resp);
}

/* Start a download; 1 when the blob is (now) in the store, another process
 * having written it while we waited. */
static int job_start(struct job *j, CURLM *multi, struct err *err)
{
	int r = blob_writer_open(&j->w, j->p->root, j->d->digest, &j->resume_at, err);

	if (r != 0)
		return r;
	j->writer_open = true;
	j->status_checked = false;
	j->write_failed = false;
	snprintf(j->path, sizeof(j->path), "blobs/%s", j->d->digest);
	j->req = (struct registry_request){ .method = "GET", .path = j->path, .body_fd = -1,
					    .range_from = (long long)j->resume_at,
					    .on_data = job_data, .ctx = j };
	curl_easy_reset(j->h);
	if (registry_setup(j->p->reg, j->h, &j->req, &j->resp, &j->hdrs, err) < 0)
		return -1;
	if (curl_multi_add_handle(multi, j->h) != CURLM_OK)
		return err_set(err, "curl_multi_add_handle failed");
	j->active = true;
	if (!j->quiet)
		progress(j->p, j->id, "Downloading", j->resume_at, j->d->size);
	return 0;
}

/* A transfer ended: 0 done, 1 to be tried again, -1 failed. */
static int job_finish(struct job *j, CURLM *multi, CURLcode rc, struct err *err)
{
	long status = j->resp.status;
	char what[128];

	snprintf(what, sizeof(what), "blob %s", j->d->digest);
	if (j->write_failed) {
		*err = j->werr;
		job_close(j, multi, true);
		return -1;
	}
	if (rc == CURLE_OK && (status == 200 || status == 206)) {
		if (!j->quiet)
			progress(j->p, j->id, "Verifying Checksum", 0, -1);
		curl_multi_remove_handle(multi, j->h);
		j->active = false;
		if (blob_writer_commit(&j->w, j->d->size, err) < 0) {
			job_close(j, multi, false);
			return -1;
		}
		job_close(j, multi, false);
		return 0;
	}
	/* 401s in a row: a token that expired is renewed, one refused is not. */
	if (!(rc == CURLE_OK && status == 401))
		j->reauths = 0;
	if (rc == CURLE_OK && status == 401 && j->reauths++ < PULL_REAUTHS) {
		/* The challenge is in the response: read it before closing. */
		int r = registry_reauth(j->p->reg, &j->resp, err);

		job_close(j, multi, true);
		if (r < 0)
			return -1;
		j->not_before = 0;
		return 1;
	}
	if (rc != CURLE_OK || status >= 500 || status == 429 || status == 408) {
		if (++j->attempts >= PULL_ATTEMPTS) {
			if (rc != CURLE_OK)
				err_set(err, "%s: %s", what, curl_easy_strerror(rc));
			else
				registry_error(j->p->reg, &j->resp, what, err);
			job_close(j, multi, true);
			return -1;
		}
		job_close(j, multi, true);
		j->not_before = now_ms() + (PULL_BACKOFF_MS << (j->attempts - 1));
		if (!j->quiet) {
			int secs = ((PULL_BACKOFF_MS << (j->attempts - 1)) + 999) / 1000;
			char msg[64];

			snprintf(msg, sizeof(msg), "Retrying in %d second%s", secs, secs == 1 ? "" : "s");
			progress(j->p, j->id, msg, 0, -1);
		}
		return 1;
	}
	registry_error(j->p->reg, &j->resp, what, err);
	job_close(j, multi, true);
	return -1;
}

/* Another process holds the blob's writer lock (blob.h: .lock-<hex>, held
 * from open to close). Waiting for it inside blob_writer_open would stall
 * this pull's other transfers, so such a blob waits its turn instead. */
static bool blob_busy(const char *root, const char *digest)
{
	_cleanup_free_ char *path = xasprintf("%s/blobs/sha256/.lock-%s", root, digest_hex(digest));
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}

static bool running_any(const struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (jobs[i].active)
			return true;
	return false;
}

struct unpack;
static int unpack_tick(struct unpack *u, bool *all_done, struct err *err);
static void unpack_abort(struct unpack *u);

/* Download every job's blob, at most max at once; u (or NULL) unpacks the
 * layers meanwhile, as each arrives. */
static int jobs_run(struct job *jobs, size_t n, int max, struct unpack *u, struct err *err)
{
	CURLM *multi = curl_multi_init();
	size_t left = n;
	int active = 0, r = 0;
	bool unpacked = u == NULL;

	if (!multi)
		return err_set(err, "curl_multi_init failed");
	for (size_t i = 0; i < n; i++)
		if (jobs[i].done)
			left--;
	while ((left || !unpacked) && r == 0) {
		double t = now_ms(), wait = 1000;
		int running;
		CURLMsg *msg;

		for (size_t i = 0; i < n && r == 0; i++) {
			struct job *j = &jobs[i];

			if (j->done || j->active || j->not_before > t ||
			    (active >= max && !j->extra))
				continue;
			if (running_any(jobs, n) && blob_busy(j->p->root, j->d->digest)) {
				j->not_before = t + 100;
				continue;
			}
			r = job_start(j, multi, err);
			if (r == 1) {
				j->done = true;
				left--;
				if (!j->quiet)
					progress(j->p, j->id, "Download complete", 0, -1);
				r = 0;
			} else if (r == 0 && !j->extra) {
				active++;
			}
		}
		if (r < 0)
			break;
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &running))) {
			struct job *j = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			for (size_t i = 0; i < n; i++)
				if (jobs[i].h == msg->easy_handle && jobs[i].active)
					j = &jobs[i];
			if (!j)
				continue;
			if (!j->extra)
				active--;
			r = job_finish(j, multi, msg->data.result, err);
			if (r == 0) {
				j->done = true;
				left--;
				if (!j->quiet)
					progress(j->p, j->id, "Download complete", 0, -1);
			} else if (r == 1) {
				r = 0;
			}
			if (r < 0)
				break;
		}
		if (r == 0 && u && unpack_tick(u, &unpacked, err) < 0)
			r = -1;
		for (size_t i = 0; i < n; i++)
			if (!jobs[i].done && !jobs[i].active && jobs[i].not_before > t &&
			    jobs[i].not_before - t < wait)
				wait = jobs[i].not_before - t;
		/* Unpackers report by exiting: look again soon. */
		if (!unpacked && wait > 10)
			wait = 10;
		if (r == 0 && (left || !unpacked))
			curl_multi_poll(multi, NULL, 0, wait < 1 ? 1 : (int)wait, NULL);
	}
	if (r < 0 && u)
		unpack_abort(u);
	for (size_t i = 0; i < n; i++)
		job_close(&jobs[i], multi, true);
	curl_multi_cleanup(multi);
	return r < 0 ? -1 : 0;
}

static void jobs_free(struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (jobs[i].h)
			curl_easy_cleanup(jobs[i].h);
	free(jobs);
}

static struct job *jobs_new(struct pull *p, const struct descriptor *d, size_t n)
{
	struct job *jobs = calloc(n ? n : 1, sizeof(*jobs));

	for (size_t i = 0; jobs && i < n; i++) {
		jobs[i].p = p;
		jobs[i].d = &d[i];
		jobs[i].w.fd = jobs[i].w.lock_fd = -1;
		snprintf(jobs[i].id, sizeof(jobs[i].id), "%.12s", digest_hex(d[i].digest));
		jobs[i].h = curl_easy_init();
		if (!jobs[i].h) {
			jobs_free(jobs, n);
			return NULL;
		}
	}
	return jobs;
}

/* The image ------------------------------------------------------------------- */

/* The manifest digest ref (or, untagged, repo_digest) names in the store now. */
static bool store_has(const char *root, const char *ref, const char *repo_digest,
		      const char *manifest_digest)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", root);
	_cleanup_json_ json_t *index = NULL;
	struct err err = { 0 };
	json_t *d;
	size_t i;

	if (json_load_path(path, &index, &err) < 0)
		return false;
	json_array_foreach(json_object_get(index, "manifests"), i, d) {
		json_t *a = json_object_get(d, "annotations");
		const char *name = json_string_value(json_object_get(a, REF_ANNOTATION));
		const char *rd = json_string_value(json_object_get(a, REPO_DIGEST_ANNOTATION));
		const char *dg = json_string_value(json_object_get(d, "digest"));

		if (!dg || strcmp(dg, manifest_digest))
			continue;
		if (ref ? (name && !strcmp(name, ref)) : (rd && !strcmp(rd, repo_digest)))
			return true;
	}
	return false;
}

/* Layers are unpacked while others download, each in a child process (a
 * layer is a directory of its own, so they do not wait for each other), at
 * most UNPACK_MAX at once: the unpacking, not the loopback download, is what
 * a pull waits for. */
#define UNPACK_MAX 2

struct unpack {
	struct pull *p;
	const struct manifest *m;
	struct job *jobs;            /* [0] the config, [1..] the layers */
	size_t n;                    /* jobs */
	json_t *cfg;                 /* once the config is in */
	char *state;                 /* per job: 0 waiting, 1 unpacking, 2 done */
	pid_t pid[UNPACK_MAX];
	int fd[UNPACK_MAX];          /* the child's error message, if any */
	size_t which[UNPACK_MAX];
	size_t finished;
};

static const char *diff_id_of(struct unpack *u, size_t i)
{
	json_t *ids = json_object_get(json_object_get(u->cfg, "rootfs"), "diff_ids");

	return json_string_value(json_array_get(ids, i - 1));
}

static int unpack_start(struct unpack *u, size_t i, int slot, struct err *err)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_sys(err, errno, "fork");
	}
	if (pid == 0) {
		struct err e = { 0 };
		struct layer_info info;

		/* A killed pull takes its unpackers with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		/* The blob locks stay the parent's alone: its downloads go on. */
		for (size_t k = 0; k < u->n; k++)
			if (u->jobs[k].writer_open) {
				close(u->jobs[k].w.fd);
				close(u->jobs[k].w.lock_fd);
			}
		if (layer_unpack_blob(u->p->root, u->jobs[i].d->digest, diff_id_of(u, i), &info,
				      &e) < 0) {
			write_all(fds[1], e.msg, strlen(e.msg));
			_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	u->pid[slot] = pid;
	u->fd[slot] = fds[0];
	u->which[slot] = i;
	u->state[i] = 1;
	if (!u->jobs[i].quiet)
		progress(u->p, u->jobs[i].id, "Extracting", 0, u->jobs[i].d->size);
	return 0;
}

/* A child that ended: 0, or -1 with its message. */
static int unpack_reap(struct unpack *u, int slot, int status, struct err *err)
{
	size_t i = u->which[slot];
	char msg[sizeof(err->msg)] = "";
	ssize_t n = read_full(u->fd[slot], msg, sizeof(msg) - 1);

	close(u->fd[slot]);
	u->pid[slot] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (n > 0)
			msg[n] = 0;
		return err_set(err, "layer %s: %s", u->jobs[i].d->digest,
			       msg[0] ? msg : "the unpacking process died");
	}
	u->state[i] = 2;
	u->finished++;
	if (!u->jobs[i].quiet)
		progress(u->p, u->jobs[i].id, "Pull complete", 0, -1);
	return 0;
}

static int unpack_tick(struct unpack *u, bool *all_done, struct err *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int status;

	if (!u->cfg && u->jobs[0].done) {
		if (blob_get(u->p->root, u->m->config.digest, 16u << 20, &data, &len, err) < 0 ||
		    image_config_parse(data, len, u->m->n_layers, &u->cfg, err) < 0)
			return err_wrap(err, "image config %s", u->m->config.digest);
	}
	for (int s = 0; s < UNPACK_MAX; s++)
		if (u->pid[s] > 0 && waitpid(u->pid[s], &status, WNOHANG) == u->pid[s] &&
		    unpack_reap(u, s, status, err) < 0)
			return -1;
	for (size_t i = 1; u->cfg && i < u->n; i++) {
		int slot = -1;

		if (u->state[i] || !u->jobs[i].done)
			continue;
		/* Already unpacked (another image has it): nothing to do, or say. */
		if (layer_present(u->p->root, diff_id_of(u, i))) {
			u->state[i] = 2;
			u->finished++;
			if (!u->jobs[i].quiet)
				progress(u->p, u->jobs[i].id, "Pull complete", 0, -1);
			continue;
		}
		for (int s = 0; s < UNPACK_MAX && slot < 0; s++)
			if (u->pid[s] <= 0)
				slot = s;
		if (slot < 0)
			break;
		if (unpack_start(u, i, slot, err) < 0)
			return -1;
	}
	*all_done = u->cfg && u->finished == u->n - 1;
	return 0;
}

/* After a failure: let the unpackers finish (a layer is named only when
 * complete), so that nothing is left half written. */
static void unpack_abort(struct unpack *u)
{
	int status;

	for (int s = 0; s < UNPACK_MAX; s++)
		if (u->pid[s] > 0) {
			waitpid(u->pid[s], &status, 0);
			close(u->fd[s]);
			u->pid[s] = 0;
		}
}

/* The config and the layers, downloaded together as docker does (the config
 * beside at most max layers) and unpacked as they arrive. A layer whose
 * blob is in the store is not asked for. */
static int blobs_pull(struct pull *p, const struct manifest *m, int max, bool up_to_date,
		      json_t **cfg, struct err *err)
{
	size_t n = m->n_layers + 1;
	struct descriptor *all = calloc(n, sizeof(*all));
	struct unpack u = { .p = p, .m = m, .n = n };
	struct job *jobs = NULL;
	int r = -1;

	u.state = calloc(n, 1);
	if (!all || !u.state) {
		free(all);
		free(u.state);
		return err_sys(err, ENOMEM, "pull");
	}
	/* Shallow copies: jobs only read the digest, size and media type. */
	all[0] = m->config;
	memcpy(all + 1, m->layers, m->n_layers * sizeof(*all));
	jobs = jobs_new(p, all, n);
	if (!jobs) {
		err_set(err, "curl_easy_init failed");
		goto out;
	}
	u.jobs = jobs;
	jobs[0].quiet = jobs[0].extra = true;
	jobs[0].done = blob_exists(p->root, m->config.digest);
	for (size_t i = 1; i < n; i++) {
		if (blob_exists(p->root, all[i].digest)) {
			jobs[i].done = true;
			jobs[i].quiet = true;   /* "Already exists": no Extracting line */
			/* docker says nothing of the layers of an image that is up to date. */
			if (!up_to_date)
				progress(p, jobs[i].id, "Already exists", 0, -1);
		} else {
			progress(p, jobs[i].id, "Pulling fs layer", 0, -1);
		}
	}
	for (size_t i = 1, started = 0; i < n; i++)
		if (!jobs[i].done && started++ >= (size_t)max)
			progress(p, jobs[i].id, "Waiting", 0, -1);
	if (jobs_run(jobs, n, max, &u, err) < 0)
		goto out;
	*cfg = u.cfg;
	u.cfg = NULL;
	r = 0;
out:
	json_decref(u.cfg);
	if (jobs)
		jobs_free(jobs, n);
	free(u.state);
	free(all);
	return r;
}

static void host_kernel(char *buf, size_t size)
{
	struct kernel_info k = { 0 };

	buf[0] = 0;
	if (kernel_info_host(&k, &(struct err){ 0 }) == 0)
		kernel_version_format(&k.version, buf, size);
	kernel_info_free(&k);
}

static int store_blob(const char *root, const char *data, size_t len, struct err *err)
{
	char *digest = NULL;
	int r = blob_put(root, data, len, &digest, err);

	free(digest);
	return r;
}

static bool is_image_manifest(const char *t)
{
	return !strcmp(t, MEDIA_OCI_MANIFEST) || !strcmp(t, MEDIA_DOCKER_MANIFEST);
}

static int resolve(struct pull *p, const struct registry_ref *r, const char *what,
		   struct manifest *m, char top[DIGEST_STR_LEN], char digest[DIGEST_STR_LEN],
		   struct err *err)
{
	_cleanup_free_ char *body = NULL;
	struct platform want;
	char kernel[64];
	size_t len, idx;
	const struct descriptor *d;

	if (manifest_get(p, what, r->digest ? r->digest : r->tag, r->digest, m, &body, &len, top,
			 err) < 0)
		return -1;
	snprintf(digest, DIGEST_STR_LEN, "%s", top);
	{
		_cleanup_free_ char *from = xasprintf("Pulling from %s", r->path);
		_cleanup_free_ char *named = registry_ref_string(r);

		/* docker's id for this line: the tag, or the whole reference by digest. */
		progress(p, r->tag ? r->tag : named, from, 0, -1);
	}
	if (m->kind == MANIFEST_IMAGE)
		return store_blob(p->root, body, len, err) < 0 ? -1 : 0;
	if (platform_parse(p->o->platform, &want, err) < 0) {
		manifest_free(m);
		return -1;
	}
	host_kernel(kernel, sizeof(kernel));
	if (manifest_select(m, &want, kernel[0] ? kernel : NULL, &idx, err) < 0) {
		platform_free(&want);
		manifest_free(m);
		return -1;
	}
	platform_free(&want);
	d = &m->manifests[idx];
	snprintf(digest, DIGEST_STR_LEN, "%s", d->digest);
	if (!strcmp(d->digest, top)) {
		manifest_free(m);
		return err_set(err, "%s: the index names itself as its manifest (%s): refused",
			       what, top);
	}
	if (!is_image_manifest(d->media_type)) {
		manifest_free(m);
		return err_set(err, "%s: the index entry for this platform is a %.80s, not an "
			       "image manifest", what, d->media_type);
	}
	manifest_free(m);
	free(body);
	body = NULL;
	{
		char got[DIGEST_STR_LEN];

		if (manifest_get(p, what, digest, digest, m, &body, &len, got, err) < 0)
			return -1;
	}
	if (m->kind != MANIFEST_IMAGE) {
		manifest_free(m);
		return err_set(err, "%s: the manifest for this platform is an index: refused",
			       what);
	}
	return store_blob(p->root, body, len, err) < 0 ? -1 : 0;
}

int pull_image(const char *root, const char *ref, const struct pull_opts *o,
	       struct pull_result *res, struct err *err)
{
	struct pull p = { .root = root, .o = o };
	struct registry_ref r;
	struct manifest m = { 0 };
	_cleanup_close_ int lock = -1;
	_cleanup_json_ json_t *cfg = NULL;
	_cleanup_free_ char *what = NULL, *store_ref = NULL, *repo_digest = NULL;
	char top[DIGEST_STR_LEN], digest[DIGEST_STR_LEN];
	int max = o->hc && o->hc->max_concurrent_downloads > 0 ? o->hc->max_concurrent_downloads
							       : 3;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (registry_ref_parse(ref, &r, err) < 0)
		return -1;
	res->name = registry_ref_name(&r);
	res->ref = registry_ref_string(&r);
	res->full = r.tag ? xasprintf("%s/%s:%s", r.domain, r.path, r.tag)
			  : xasprintf("%s/%s@%s", r.domain, r.path, r.digest);
	what = xasprintf("manifest for %s", res->ref);
	if (r.tag && !r.digest)
		store_ref = xstrdup(res->ref);
	lock = image_store_lock_shared(root, err);
	if (lock < 0)
		goto out;
	if (registry_open(r.domain, r.path, false, o->hc, &p.reg, err) < 0)
		goto out;
	if (resolve(&p, &r, what, &m, top, digest, err) < 0)
		goto out;
	free(res->digest);
	res->digest = xstrdup(top);
	repo_digest = xasprintf("%s@%s", res->name, top);
	res->updated = !store_has(root, store_ref, repo_digest, digest);
	if (blobs_pull(&p, &m, max, !res->updated, &cfg, err) < 0)
		goto out;
	if (image_store_add(root, store_ref, digest, repo_digest, err) < 0)
		goto out;
	rc = 0;
out:
	manifest_free(&m);
	registry_close(p.reg);
	registry_ref_free(&r);
	if (rc < 0) {
		char *name = res->name;

		res->name = NULL;
		pull_result_free(res);
		res->name = name;
	}
	return rc;
}

int pull_list_tags(const char *ref, const struct host_config *hc, char ***tags,
		   size_t *n_tags, struct err *err)
{
	struct registry_ref r;
	struct registry *reg = NULL;
	struct registry_request req = { .method = "GET", .path = "tags/list", .body_fd = -1 };
	struct registry_response resp = { .content_length = -1 };
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *what = NULL;
	json_t *list, *t;
	size_t i;
	int rc = -1;

	*tags = NULL;
	*n_tags = 0;
	if (registry_ref_parse(ref, &r, err) < 0)
		return -1;
	what = registry_ref_name(&r);
	if (registry_open(r.domain, r.path, false, hc, &reg, err) < 0)
		goto out;
	if (registry_do(reg, &req, &resp, err) < 0)
		goto out;
	if (resp.status != 200) {
		registry_error(reg, &resp, what, err);
		goto out;
	}
	j = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	list = json_object_get(j, "tags");
	if (!json_is_array(list) || json_array_size(list) > 100000) {
		err_set(err, "%s: the registry's tag list is malformed", what);
		goto out;
	}
	*tags = calloc(json_array_size(list) + 1, sizeof(char *));
	if (!*tags) {
		err_sys(err, ENOMEM, "tags");
		goto out;
	}
	json_array_foreach(list, i, t)
		if (json_is_string(t))
			(*tags)[(*n_tags)++] = xstrdup(json_string_value(t));
	rc = 0;
out:
	registry_response_free(&resp);
	registry_close(reg);
	registry_ref_free(&r);
	return rc;
}
