/* SPDX-License-Identifier: ISC */
/*
 * The password file is validated whole before anything is kept: a daemon
 * that loaded half of a broken file would lock out the users after the bad
 * line without saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ostp.h"
#include "passwd.h"

/* Bounds keep a hostile or mistaken file from costing unbounded memory. */
#define PW_MAX_ENTRIES 65536u
#define PW_MAX_INPUT   (4u * 1024u * 1024u)
#define PW_NAME_MAX    64u
#define PW_HASH_MAX    127u    /* crypto_pwhash_STRBYTES less the NUL */

static const char argon2id_prefix[] = "$argon2id$";

struct pw_entry {
	char name[PW_NAME_MAX + 1];
	char *hash;
	size_t line;
};

struct pwfile {
	struct pw_entry *e;      /* sorted by name */
	size_t n;
};

/* What one line of the file is. */
enum line_kind { LINE_SKIP, LINE_ENTRY, LINE_BAD };

struct line_info {
	const char *user, *hash;
	size_t user_len, hash_len;
	const char *why;         /* for LINE_BAD */
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\v' || c == '\f';
}

static const char *hash_problem(const char *h, size_t len)
{
	if (len < sizeof(argon2id_prefix) - 1 ||
	    memcmp(h, argon2id_prefix, sizeof(argon2id_prefix) - 1) != 0)
		return "the hash is not an $argon2id$ hash";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];

		if (is_space((char)c))
			return "whitespace in the hash";
		if (c < 0x20 || c == 0x7f)
			return "control character in the hash";
	}
	if (len > PW_HASH_MAX)
		return "the hash is too long";
	return NULL;
}

/* Leading and trailing blanks are forgiven (editors leave them), and a
 * final '\r' so that a file saved with CRLF still loads. */
static enum line_kind classify(const char *p, size_t n, struct line_info *li)
{
	const char *colon;

	if (memchr(p, '\0', n) != NULL) {
		li->why = "NUL byte in line";
		return LINE_BAD;
	}
	while (n > 0 && is_blank(*p)) {
		p++;
		n--;
	}
	while (n > 0 && (is_blank(p[n - 1]) || p[n - 1] == '\r'))
		n--;
	if (n == 0 || p[0] == '#')
		return LINE_SKIP;
	colon = memchr(p, ':', n);
	if (colon == NULL) {
		li->why = "expected user:hash";
		return LINE_BAD;
	}
	li->user = p;
	li->user_len = (size_t)(colon - p);
	li->hash = colon + 1;
	li->hash_len = n - li->user_len - 1;
	if (!ostp_username_valid(li->user, li->user_len)) {
		li->why = "invalid user name";
		return LINE_BAD;
	}
	li->why = hash_problem(li->hash, li->hash_len);
	return li->why ? LINE_BAD : LINE_ENTRY;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct pw_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

void pwfile_free(struct pwfile *pw)
{
	if (pw == NULL)
		return;
	for (size_t i = 0; i < pw->n; i++)
		free(pw->e[i].hash);
	free(pw->e);
	free(pw);
}

int pwfile_parse(struct pwfile **out, const char *name, const char *buf, size_t len,
		 char *err, size_t errlen)
{
	struct pwfile *pw;
	size_t cap = 0, pos = 0, line = 0, dup_line = 0, first_line = 0;
	const char *dup_name = NULL;

	*out = NULL;
	if (len > PW_MAX_INPUT) {
		snprintf(err, errlen, "%s: larger than %u bytes", name, PW_MAX_INPUT);
		return -1;
	}
	pw = calloc(1, sizeof(*pw));
	if (pw == NULL)
		goto nomem;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct line_info li;
		struct pw_entry *e;

		line++;
		switch (classify(buf + pos, end - pos, &li)) {
		case LINE_SKIP:
			pos = nl ? end + 1 : len;
			continue;
		case LINE_BAD:
			snprintf(err, errlen, "%s:%zu: %s", name, line, li.why);
			pwfile_free(pw);
			return -1;
		case LINE_ENTRY:
			break;
		}
		pos = nl ? end + 1 : len;
		if (pw->n == PW_MAX_ENTRIES) {
			snprintf(err, errlen, "%s:%zu: more than %u users",
				 name, line, PW_MAX_ENTRIES);
			pwfile_free(pw);
			return -1;
		}
		if (pw->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct pw_entry *ne = realloc(pw->e, ncap * sizeof(*ne));

			if (ne == NULL)
				goto nomem;
			pw->e = ne;
			cap = ncap;
		}
		e = &pw->e[pw->n];
		memcpy(e->name, li.user, li.user_len);
		e->name[li.user_len] = '\0';
		e->line = line;
		e->hash = strndup(li.hash, li.hash_len);
		if (e->hash == NULL)
			goto nomem;
		pw->n++;
	}

	if (pw->n > 0)
		qsort(pw->e, pw->n, sizeof(pw->e[0]), cmp_entry);
	/* The repeat an operator meets first reading top-down is the one
	 * reported, whatever order the sort left the names in. */
	for (size_t i = 1; i < pw->n; i++) {
		if (strcmp(pw->e[i].name, pw->e[i - 1].name) != 0)
			continue;
		/* Equal names sort by line, so the smallest repeat line
		 * belongs to a second occurrence and e[i - 1] is the first. */
		if (dup_name == NULL || pw->e[i].line < dup_line) {
			dup_name = pw->e[i].name;
			dup_line = pw->e[i].line;
			first_line = pw->e[i - 1].line;
		}
	}
	if (dup_name != NULL) {
		snprintf(err, errlen, "%s:%zu: duplicate user \"%s\" (first on line %zu)",
			 name, dup_line, dup_name, first_line);
		pwfile_free(pw);
		return -1;
	}
	*out = pw;
	return 0;

nomem:
	snprintf(err, errlen, "%s: out of memory", name);
	pwfile_free(pw);
	return -1;
}

static int cmp_name_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct pw_entry *)elem)->name);
}

const char *pwfile_lookup(const struct pwfile *pw, const char *user)
{
	const struct pw_entry *e;

	if (pw == NULL || user == NULL || pw->n == 0)
		return NULL;
	e = bsearch(user, pw->e, pw->n, sizeof(pw->e[0]), cmp_name_key);
	return e ? e->hash : NULL;
}

/* Reads a whole regular file of at most PW_MAX_INPUT bytes.  Returns 0,
 * -1 with errno set (ENOENT for a missing file, EFBIG when too large). */
static int read_small_file(const char *path, char **buf, size_t *len, struct stat *st)
{
	char *b = NULL;
	size_t used = 0, cap;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	/* One byte past the size (or the limit) is how end of file, or a
	 * file over the limit, shows up without trusting st_size. */
	cap = 4096;
	if (st->st_size >= (off_t)cap)
		cap = (size_t)st->st_size < PW_MAX_INPUT ?
		      (size_t)st->st_size + 1 : PW_MAX_INPUT + 1;
	b = malloc(cap);
	if (b == NULL)
		goto fail;
	for (;;) {
		ssize_t n;

		if (used == cap) {
			size_t ncap = cap * 2 > PW_MAX_INPUT + 1 ? PW_MAX_INPUT + 1 : cap * 2;
			char *nb;

			if (used > PW_MAX_INPUT) {
				errno = EFBIG;
				goto fail;
			}
			nb = realloc(b, ncap);
			if (nb == NULL)
				goto fail;
			b = nb;
			cap = ncap;
		}
		n = read(fd, b + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > PW_MAX_INPUT) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	*buf = b;
	*len = used;
	return 0;
fail:
	saved = errno;
	free(b);
	close(fd);
	errno = saved;
	return -1;
}

static void file_error(char *err, size_t errlen, const char *path)
{
	if (errno == EFBIG)
		snprintf(err, errlen, "%s: larger than %u bytes", path, PW_MAX_INPUT);
	else if (errno == EINVAL)
		snprintf(err, errlen, "%s: not a regular file", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
}

int pwfile_load(struct pwfile **out, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (read_small_file(path, &buf, &len, &st) < 0) {
		file_error(err, errlen, path);
		return -1;
	}
	rc = pwfile_parse(out, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* Where the user's line is, if the file has one: [start, end) without the
 * line terminator, so a CRLF line keeps its "\r\n". */
static int find_user_line(const char *buf, size_t len, const char *user,
			  size_t *start, size_t *end)
{
	size_t pos = 0, ulen = strlen(user);

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t e = nl ? (size_t)(nl - buf) : len;
		struct line_info li;

		if (classify(buf + pos, e - pos, &li) == LINE_ENTRY &&
		    li.user_len == ulen && memcmp(li.user, user, ulen) == 0) {
			*start = pos;
			*end = e;
			if (*end > *start && buf[*end - 1] == '\r')
				(*end)--;
			return 1;
		}
		pos = nl ? e + 1 : len;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory entry reaches the disk. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int pwfile_set(const char *path, const char *user, const char *hash, char *err, size_t errlen)
{
	struct pwfile *pw = NULL;
	struct stat st, lst;
	char *buf = NULL, *dir = NULL, *tmp = NULL;
	const char *why = NULL, *base;
	size_t len = 0, start = 0, end = 0, dirlen;
	int exists = 1, fd = -1, rc = -1, found;

	if (user == NULL || !ostp_username_valid(user, strlen(user))) {
		snprintf(err, errlen, "invalid user name");
		return -1;
	}
	if (hash == NULL || (why = hash_problem(hash, strlen(hash))) != NULL) {
		snprintf(err, errlen, "%s", why ? why : "no hash");
		return -1;
	}
	/* rename() would replace a symlink with a file and leave the real
	 * password file, which the daemon may read, unchanged. */
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		snprintf(err, errlen, "%s: is a symbolic link; give the file it points to",
			 path);
		return -1;
	}
	if (read_small_file(path, &buf, &len, &st) < 0) {
		if (errno != ENOENT) {
			file_error(err, errlen, path);
			return -1;
		}
		exists = 0;
	}
	/* Rewriting a file the daemon would refuse anyway hides the problem;
	 * the operator is pointed at the bad line instead. */
	if (exists && pwfile_parse(&pw, path, buf, len, err, errlen) < 0)
		goto out;

	found = exists && find_user_line(buf, len, user, &start, &end);
	if (!found && pw != NULL && pw->n >= PW_MAX_ENTRIES) {
		snprintf(err, errlen, "%s: already holds %u users", path, PW_MAX_ENTRIES);
		goto out;
	}

	base = strrchr(path, '/');
	if (base == NULL) {
		dir = strdup(".");
		base = path;
	} else {
		dirlen = base == path ? 1 : (size_t)(base - path);
		dir = strndup(path, dirlen);
		base++;
	}
	if (dir == NULL || asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* mkostemp creates the file 0600, so the hashes are never readable by
	 * others, not even between creation and the fchmod below. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (exists) {
		/* Owner first: a chown can clear mode bits set before it. */
		if (fchown(fd, st.st_uid, st.st_gid) < 0) {
			struct stat tst;

			/* Not being allowed to give the file away is only
			 * an error if it would actually change owner. */
			if (fstat(fd, &tst) < 0 || tst.st_uid != st.st_uid ||
			    tst.st_gid != st.st_gid) {
				snprintf(err, errlen, "%s: cannot keep owner: %s",
					 path, strerror(errno));
				goto out;
			}
		}
		if (fchmod(fd, st.st_mode & 07777) < 0) {
			snprintf(err, errlen, "%s: cannot keep mode: %s", path,
				 strerror(errno));
			goto out;
		}
	}

	{
		size_t ulen = strlen(user), hlen = strlen(hash);
		int ok;

		if (found) {
			ok = write_all(fd, buf, start) == 0 &&
			     write_all(fd, user, ulen) == 0 &&
			     write_all(fd, ":", 1) == 0 &&
			     write_all(fd, hash, hlen) == 0 &&
			     write_all(fd, buf + end, len - end) == 0;
		} else {
			int need_nl = len > 0 && buf[len - 1] != '\n';

			if (len + (size_t)need_nl + ulen + 1 + hlen + 1 > PW_MAX_INPUT) {
				snprintf(err, errlen, "%s: would grow past %u bytes",
					 path, PW_MAX_INPUT);
				goto out;
			}
			ok = write_all(fd, buf, len) == 0 &&
			     (!need_nl || write_all(fd, "\n", 1) == 0) &&
			     write_all(fd, user, ulen) == 0 &&
			     write_all(fd, ":", 1) == 0 &&
			     write_all(fd, hash, hlen) == 0 &&
			     write_all(fd, "\n", 1) == 0;
		}
		if (!ok || fsync(fd) < 0) {
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			goto out;
		}
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	sync_dir(dir);
	rc = 0;

out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	free(buf);
	pwfile_free(pw);
	return rc;
}
