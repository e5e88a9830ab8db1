/* SPDX-License-Identifier: ISC */
/*
 * Trusted users list (protocol text section 4).
 *
 * The whole list is validated before anything is kept or any warning is
 * given, so a file with one bad line is refused as a unit: the daemon keeps
 * its old list rather than running with half of a new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostp.h"

/* Bounds keep a hostile or mistaken file from costing unbounded memory. */
#define TRUST_MAX_NAMES  65536u
#define TRUST_MAX_INPUT  (4u * 1024u * 1024u)

struct ostp_trust {
	char *arena;            /* every kept name, NUL-terminated */
	const char **names;     /* sorted, unique, pointing into arena */
	size_t n;
};

/* One name line while parsing; line is kept for warnings. */
struct entry {
	const char *name;       /* in the arena */
	size_t line;
	int dup;                /* an earlier line has the same name */
};

static int name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool ostp_username_valid(const char *name, size_t len)
{
	if (name == NULL || len == 0 || len > OSTP_USER_MAX)
		return false;
	if (name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok((unsigned char)name[i]))
			return false;
	return true;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

void ostp_text_trim(const char **p, size_t *len)
{
	while (*len > 0 && is_blank(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && (is_blank((*p)[*len - 1]) || (*p)[*len - 1] == '\r'))
		(*len)--;
}

enum ostp_trust_line ostp_trust_line(const char *line, size_t len,
				     const char **name, size_t *name_len)
{
	ostp_text_trim(&line, &len);
	*name = line;
	*name_len = len;
	if (len == 0)
		return OSTP_TRUST_BLANK;
	if (len >= 2 && line[0] == '/' && line[1] == '/')
		return OSTP_TRUST_COMMENT;
	return OSTP_TRUST_NAME;
}

static size_t line_of(const char *buf, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static int cmp_entry_ptr_line(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	return (x->line > y->line) - (x->line < y->line);
}

static int cmp_name_key(const void *key, const void *elem)
{
	return strcmp(*(const char *const *)key, *(const char *const *)elem);
}

struct scan {
	struct entry *e;
	size_t n, cap;
	char *arena;
	size_t arena_used;
};

static int scan_push(struct scan *s, const char *name, size_t len, size_t line)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct entry *e = realloc(s->e, cap * sizeof(*e));

		if (e == NULL)
			return OSTP_E_NOMEM;
		s->e = e;
		s->cap = cap;
	}
	char *dst = s->arena + s->arena_used;

	memcpy(dst, name, len);
	dst[len] = '\0';
	s->arena_used += len + 1;
	s->e[s->n++] = (struct entry){ .name = dst, .line = line, .dup = 0 };
	return OSTP_OK;
}

/* Collects every name line in file order; fails on the first bad line. */
static int scan_lines(struct scan *s, const char *buf, size_t len,
		      size_t *bad_line)
{
	size_t line = 0, pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		enum ostp_trust_line kind;
		const char *p;
		size_t n;

		line++;
		kind = ostp_trust_line(buf + pos, end - pos, &p, &n);
		pos = nl ? end + 1 : len;
		if (kind != OSTP_TRUST_NAME)
			continue;
		if (!ostp_username_valid(p, n)) {
			*bad_line = line;
			return OSTP_E_SYNTAX;
		}
		int rc = scan_push(s, p, n, line);
		if (rc != OSTP_OK)
			return rc;
	}
	return OSTP_OK;
}

/* Sorts by name and marks every repeat; returns the number of unique names. */
static size_t mark_duplicates(struct entry *e, size_t n)
{
	size_t unique = 0;

	/* qsort() must not be handed a NULL array, even for zero elements. */
	if (n == 0)
		return 0;
	qsort(e, n, sizeof(*e), cmp_entry);
	for (size_t i = 0; i < n; i++) {
		e[i].dup = i > 0 && strcmp(e[i].name, e[i - 1].name) == 0;
		if (!e[i].dup)
			unique++;
	}
	return unique;
}

static void warn_entry(const struct entry *e, ostp_trust_warn_fn warn,
		       void *ctx)
{
	char msg[160];

	if (e->dup) {
		snprintf(msg, sizeof(msg),
			 "duplicate trusted user \"%s\" ignored", e->name);
		warn(ctx, e->line, msg);
	} else if (strcmp(e->name, "root") == 0) {
		warn(ctx, e->line, "root is listed as a trusted user");
	}
}

/* Warnings come out in file order, which is what an operator reads. */
static int warn_all(const struct entry *e, size_t n, ostp_trust_warn_fn warn,
		    void *ctx)
{
	const struct entry **order;

	if (warn == NULL || n == 0)
		return OSTP_OK;
	order = malloc(n * sizeof(*order));
	if (order == NULL)
		return OSTP_E_NOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = &e[i];
	qsort(order, n, sizeof(*order), cmp_entry_ptr_line);
	for (size_t i = 0; i < n; i++)
		warn_entry(order[i], warn, ctx);
	free(order);
	return OSTP_OK;
}

static int build_trust(ostp_trust **out, struct scan *s, size_t unique)
{
	ostp_trust *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return OSTP_E_NOMEM;
	/* calloc(0) may return NULL; one spare slot keeps that case simple. */
	t->names = calloc(unique + 1, sizeof(*t->names));
	if (t->names == NULL) {
		free(t);
		return OSTP_E_NOMEM;
	}
	for (size_t i = 0; i < s->n; i++)
		if (!s->e[i].dup)
			t->names[t->n++] = s->e[i].name;
	t->arena = s->arena;
	s->arena = NULL;
	*out = t;
	return OSTP_OK;
}

static int check_input(const char *buf, size_t len, size_t *bad_line)
{
	const char *nul;

	if (len > TRUST_MAX_INPUT)
		return OSTP_E_LONG;
	nul = len ? memchr(buf, '\0', len) : NULL;
	if (nul != NULL) {
		*bad_line = line_of(buf, (size_t)(nul - buf));
		return OSTP_E_SYNTAX;
	}
	return OSTP_OK;
}

int ostp_trust_parse(ostp_trust **out, const char *buf, size_t len,
		     size_t *bad_line, ostp_trust_warn_fn warn, void *ctx)
{
	struct scan s = { 0 };
	size_t unused_line, unique = 0;
	int rc;

	if (out == NULL || (buf == NULL && len > 0))
		return OSTP_E_INVAL;
	*out = NULL;
	if (bad_line == NULL)
		bad_line = &unused_line;
	*bad_line = 0;
	rc = check_input(buf, len, bad_line);
	if (rc != OSTP_OK)
		return rc;
	/* Names plus their terminators never outgrow the input plus one. */
	s.arena = malloc(len + 1);
	if (s.arena == NULL)
		return OSTP_E_NOMEM;
	rc = scan_lines(&s, buf, len, bad_line);
	if (rc == OSTP_OK) {
		unique = mark_duplicates(s.e, s.n);
		rc = unique > TRUST_MAX_NAMES ? OSTP_E_LONG : OSTP_OK;
	}
	if (rc == OSTP_OK)
		rc = warn_all(s.e, s.n, warn, ctx);
	if (rc == OSTP_OK)
		rc = build_trust(out, &s, unique);
	free(s.e);
	free(s.arena);
	return rc;
}

bool ostp_trust_contains(const ostp_trust *t, const char *user)
{
	if (t == NULL || user == NULL || t->n == 0)
		return false;
	/* Too long to be valid: no need to search. */
	if (strnlen(user, OSTP_USER_MAX + 1) > OSTP_USER_MAX)
		return false;
	return bsearch(&user, t->names, t->n, sizeof(*t->names),
		       cmp_name_key) != NULL;
}

size_t ostp_trust_count(const ostp_trust *t)
{
	return t ? t->n : 0;
}

const char *ostp_trust_name(const ostp_trust *t, size_t i)
{
	if (t == NULL || i >= t->n)
		return NULL;
	return t->names[i];
}

void ostp_trust_free(ostp_trust *t)
{
	if (t == NULL)
		return;
	free(t->names);
	free(t->arena);
	free(t);
}
