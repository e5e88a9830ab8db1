/* SPDX-License-Identifier: ISC */
/*
 * Trusted users list edits (trustedit.h).  Which line names whom is the
 * core's ostp_trust_line(), the rule ostp_trust_parse() reads the list
 * by.  Every result is parsed again with ostp_trust_parse() before it is
 * handed back, so a list the daemon would refuse is never written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ostp.h"
#include "trustedit.h"

struct line {
	size_t start;           /* first byte of the line */
	size_t next;            /* first byte after its '\n' (or len) */
	const char *name;       /* trimmed name, NULL when not a name line */
	size_t name_len;
};

/* The next line from *pos; 0 at the end of the buffer. */
static int next_line(const char *buf, size_t len, size_t *pos, struct line *l)
{
	const char *nl;
	size_t end;

	if (*pos >= len)
		return 0;
	nl = memchr(buf + *pos, '\n', len - *pos);
	end = nl ? (size_t)(nl - buf) : len;
	l->start = *pos;
	l->next = nl ? end + 1 : len;
	*pos = l->next;
	if (ostp_trust_line(buf + l->start, end - l->start, &l->name,
			    &l->name_len) != OSTP_TRUST_NAME) {
		l->name = NULL;
		l->name_len = 0;
	}
	return 1;
}

static int line_is(const struct line *l, const char *name, size_t nlen)
{
	return l->name && l->name_len == nlen && memcmp(l->name, name, nlen) == 0;
}

static int validate(const char *buf, size_t len, size_t *bad_line)
{
	ostp_trust *t = NULL;
	size_t bad = 0;
	int rc = ostp_trust_parse(&t, buf, len, &bad, NULL, NULL);

	ostp_trust_free(t);
	if (bad_line)
		*bad_line = bad;
	if (rc == OSTP_E_NOMEM)
		return TE_NOMEM;
	return rc == OSTP_OK ? TE_OK : TE_INVALID;
}

/* Common start of add and del: a valid name and a valid list. */
static int check_inputs(const char *buf, size_t len, const char *name,
			char **out, size_t *bad_line)
{
	*out = NULL;
	if (bad_line)
		*bad_line = 0;
	if (name == NULL || !ostp_username_valid(name, strnlen(name, OSTP_USER_MAX + 1)))
		return TE_BADNAME;
	return validate(buf, len, bad_line);
}

/* Hands out a result only after it parses; frees it otherwise. */
static int finish(char *res, size_t n, char **out, size_t *outlen, size_t *bad_line)
{
	int rc;

	res[n] = '\0';
	rc = validate(res, n, bad_line);
	if (rc != TE_OK) {
		free(res);
		return rc;
	}
	*out = res;
	*outlen = n;
	return TE_OK;
}

int trust_text_add(const char *buf, size_t len, const char *name,
		   char **out, size_t *outlen, size_t *bad_line)
{
	const char *eol = "\n", *nl;
	size_t pos = 0, nlen, n = 0;
	struct line l;
	char *res;
	int rc = check_inputs(buf, len, name, out, bad_line);

	if (rc != TE_OK)
		return rc;
	nlen = strlen(name);
	while (next_line(buf, len, &pos, &l))
		if (line_is(&l, name, nlen))
			return TE_PRESENT;
	/* A file written on Windows keeps its CRLF line endings. */
	nl = len ? memchr(buf, '\n', len) : NULL;
	if (nl && nl > buf && nl[-1] == '\r')
		eol = "\r\n";
	res = malloc(len + 2 * strlen(eol) + nlen + 1);
	if (res == NULL)
		return TE_NOMEM;
	if (len)
		memcpy(res, buf, len);
	n = len;
	/* The last line gets the ending it lacks, or the new name would be
	 * glued to it; a lone CR already there only needs its LF. */
	if (len > 0 && buf[len - 1] != '\n') {
		const char *fix = (buf[len - 1] == '\r' && eol[0] == '\r') ? "\n" : eol;

		memcpy(res + n, fix, strlen(fix));
		n += strlen(fix);
	}
	memcpy(res + n, name, nlen);
	n += nlen;
	memcpy(res + n, eol, strlen(eol));
	n += strlen(eol);
	return finish(res, n, out, outlen, bad_line);
}

int trust_text_del(const char *buf, size_t len, const char *name,
		   char **out, size_t *outlen, size_t *bad_line)
{
	size_t pos = 0, nlen, n = 0, removed = 0;
	struct line l;
	char *res;
	int rc = check_inputs(buf, len, name, out, bad_line);

	if (rc != TE_OK)
		return rc;
	nlen = strlen(name);
	res = malloc(len + 1);
	if (res == NULL)
		return TE_NOMEM;
	/* Every line naming the user goes: a duplicate left behind would
	 * keep the user trusted. */
	while (next_line(buf, len, &pos, &l)) {
		if (line_is(&l, name, nlen)) {
			removed++;
			continue;
		}
		memcpy(res + n, buf + l.start, l.next - l.start);
		n += l.next - l.start;
	}
	if (removed == 0) {
		free(res);
		return TE_ABSENT;
	}
	return finish(res, n, out, outlen, bad_line);
}

struct span {
	const char *p;
	size_t len, idx;
};

static int cmp_name(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	if (c == 0)
		c = (x->len > y->len) - (x->len < y->len);
	if (c == 0)
		c = (x->idx > y->idx) - (x->idx < y->idx);
	return c;
}

static int cmp_idx(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->idx > y->idx) - (x->idx < y->idx);
}

int trust_text_list(const char *buf, size_t len, char **out, size_t *outlen,
		    size_t *bad_line)
{
	struct span *s;
	size_t pos = 0, n = 0, kept = 0, o = 0;
	struct line l;
	char *res;
	int rc;

	*out = NULL;
	rc = validate(buf, len, bad_line);
	if (rc != TE_OK)
		return rc;
	/* Each name needs at least 1 byte of the input, so len + 1 spans
	 * always suffice. */
	s = malloc((len + 1) * sizeof(*s));
	res = malloc(len + 2);
	if (s == NULL || res == NULL) {
		free(s);
		free(res);
		return TE_NOMEM;
	}
	while (next_line(buf, len, &pos, &l)) {
		if (l.name) {
			s[n] = (struct span){ l.name, l.name_len, n };
			n++;
		}
	}
	/* Duplicates (which the daemon ignores with a warning) are shown
	 * once, where they first appear: sort by name, drop repeats, then
	 * restore file order. */
	if (n > 0) {
		qsort(s, n, sizeof(*s), cmp_name);
		for (size_t i = 0; i < n; i++)
			if (i == 0 || s[i].len != s[kept - 1].len ||
			    memcmp(s[i].p, s[kept - 1].p, s[i].len) != 0)
				s[kept++] = s[i];
		qsort(s, kept, sizeof(*s), cmp_idx);
	}
	for (size_t i = 0; i < kept; i++) {
		memcpy(res + o, s[i].p, s[i].len);
		o += s[i].len;
		res[o++] = '\n';
	}
	res[o] = '\0';
	free(s);
	*out = res;
	*outlen = o;
	return TE_OK;
}

const char *trust_text_strerror(int rc)
{
	switch (rc) {
	case TE_OK: return "success";
	case TE_PRESENT: return "already trusted";
	case TE_ABSENT: return "not trusted";
	case TE_BADNAME: return "invalid user name";
	case TE_INVALID: return "not a valid trusted users list";
	case TE_NOMEM: return "out of memory";
	}
	return "unknown error";
}
