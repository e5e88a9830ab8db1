/* SPDX-License-Identifier: ISC */
/*
 * The password file is validated whole before anything is kept: a daemon
 * that loaded half of a broken file would lock out the users after the bad
 * line without saying why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomicfile.h"
#include "ostp.h"
#include "passwd.h"
#include "textfile.h"

/* Bounds keep a hostile or mistaken file from costing unbounded memory. */
#define PW_MAX_ENTRIES 65536u
#define PW_MAX_INPUT   (4u * 1024u * 1024u)
#define PW_HASH_MAX    127u    /* crypto_pwhash_STRBYTES less the NUL */

static const char argon2id_prefix[] = "$argon2id$";

struct pw_entry {
	char name[OSTP_USER_MAX + 1];
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
	ostp_text_trim(&p, &n);
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
	size_t cap = 0, pos = 0, line = 0, dup_line = 0, first_line = 0, n;
	const char *dup_name = NULL, *lp;

	*out = NULL;
	if (len > PW_MAX_INPUT) {
		snprintf(err, errlen, "%s: larger than %u bytes", name, PW_MAX_INPUT);
		return -EFBIG;
	}
	pw = calloc(1, sizeof(*pw));
	if (pw == NULL)
		goto nomem;
	while (text_next_line(buf, len, &pos, &lp, &n)) {
		struct line_info li;
		struct pw_entry *e;

		line++;
		switch (classify(lp, n, &li)) {
		case LINE_SKIP:
			continue;
		case LINE_BAD:
			snprintf(err, errlen, "%s:%zu: %s", name, line, li.why);
			pwfile_free(pw);
			return -EINVAL;
		case LINE_ENTRY:
			break;
		}
		/* -EFBIG as for too many bytes, and as trust_file_load()
		 * answers for too many names. */
		if (pw->n == PW_MAX_ENTRIES) {
			snprintf(err, errlen, "%s:%zu: more than %u users",
				 name, line, PW_MAX_ENTRIES);
			pwfile_free(pw);
			return -EFBIG;
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
		return -EINVAL;
	}
	*out = pw;
	return 0;

nomem:
	snprintf(err, errlen, "%s: out of memory", name);
	pwfile_free(pw);
	return -ENOMEM;
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

static void file_error(char *err, size_t errlen, const char *path, int rc)
{
	if (rc == -EFBIG)
		snprintf(err, errlen, "%s: larger than %u bytes", path, PW_MAX_INPUT);
	else if (rc == -EINVAL)
		snprintf(err, errlen, "%s: not a regular file", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
}

int pwfile_load(struct pwfile **out, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	rc = read_text_file(path, PW_MAX_INPUT, &buf, &len, &st);
	if (rc < 0) {
		file_error(err, errlen, path, rc);
		return rc;
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
	size_t pos = 0, ulen = strlen(user), n;
	const char *lp;

	while (text_next_line(buf, len, &pos, &lp, &n)) {
		struct line_info li;

		if (classify(lp, n, &li) == LINE_ENTRY &&
		    li.user_len == ulen && memcmp(li.user, user, ulen) == 0) {
			*start = (size_t)(lp - buf);
			*end = *start + n;
			if (*end > *start && buf[*end - 1] == '\r')
				(*end)--;
			return 1;
		}
	}
	return 0;
}

int pwfile_set(const char *path, const char *user, const char *hash, char *err, size_t errlen)
{
	struct pwfile *pw = NULL;
	struct stat st, lst;
	char *buf = NULL, *out = NULL, *p;
	const char *why = NULL;
	size_t len = 0, start = 0, end = 0, ulen, hlen, outlen;
	int exists = 1, rc, found, need_nl;

	if (user == NULL || !ostp_username_valid(user, strlen(user))) {
		snprintf(err, errlen, "invalid user name");
		return -EINVAL;
	}
	if (hash == NULL || (why = hash_problem(hash, strlen(hash))) != NULL) {
		snprintf(err, errlen, "%s", why ? why : "no hash");
		return -EINVAL;
	}
	/* rename() would replace a symlink with a file and leave the real
	 * password file, which the daemon may read, unchanged.  Checked here
	 * too (atomic_replace checks again) so that it is the error reported
	 * before anything is read through the link. */
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		snprintf(err, errlen, "%s: is a symbolic link; give the file it points to",
			 path);
		return -ELOOP;   /* as atomic_replace() refuses it */
	}
	rc = read_text_file(path, PW_MAX_INPUT, &buf, &len, &st);
	if (rc < 0) {
		if (rc != -ENOENT) {
			file_error(err, errlen, path, rc);
			return rc;
		}
		exists = 0;
	}
	/* Rewriting a file the daemon would refuse anyway hides the problem;
	 * the operator is pointed at the bad line instead. */
	if (exists && (rc = pwfile_parse(&pw, path, buf, len, err, errlen)) < 0)
		goto out;

	found = exists && find_user_line(buf, len, user, &start, &end);
	if (!found && pw != NULL && pw->n >= PW_MAX_ENTRIES) {
		snprintf(err, errlen, "%s: already holds %u users", path, PW_MAX_ENTRIES);
		rc = -EFBIG;
		goto out;
	}

	/* The new contents: the user's line replaced in place, or appended
	 * after a newline for a last line that lacks one. */
	ulen = strlen(user);
	hlen = strlen(hash);
	need_nl = !found && len > 0 && buf[len - 1] != '\n';
	if (found) {
		outlen = start + ulen + 1 + hlen + (len - end);
	} else {
		outlen = len + (size_t)need_nl + ulen + 1 + hlen + 1;
		if (outlen > PW_MAX_INPUT) {
			snprintf(err, errlen, "%s: would grow past %u bytes",
				 path, PW_MAX_INPUT);
			rc = -EFBIG;
			goto out;
		}
	}
	out = malloc(outlen);
	if (out == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	p = out;
	if (buf != NULL) {
		memcpy(p, buf, found ? start : len);
		p += found ? start : len;
	}
	if (need_nl)
		*p++ = '\n';
	memcpy(p, user, ulen);
	p += ulen;
	*p++ = ':';
	memcpy(p, hash, hlen);
	p += hlen;
	if (found)
		memcpy(p, buf + end, len - end);
	else
		*p = '\n';

	/* A new file stays 0600, as mkostemp creates it: the hashes are
	 * never readable by others. */
	rc = atomic_replace(path, out, outlen, exists ? &st : NULL, 0600, err, errlen);

out:
	free(out);
	free(buf);
	pwfile_free(pw);
	return rc;
}
