/*
 * test_rules.c — principal.c and rules.c: list parsing, normalization and
 * edits, group expansion (nested, cycles, depth limit), guests and "*",
 * expansion into accounts, filtering; and every SPEC §3 rule as a table
 * (find, join, post, manage, create, delete, invitations, history), with
 * the ethical wall winning over allowed lists and over room roles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chat/principal.h"
#include "chat/rules.h"
#include "common/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- a resolver over a fixed table of groups ------------------------------- */

struct fake_group {
	const char *name;    /* group name */
	const char *members; /* its member list */
};

static const struct fake_group groups[] = {
    {"eng", "alice,bob,group:qa"},
    {"qa", "quinn"},
    {"legal", "lena,Larry"},
    {"loop1", "x1,group:loop2"},
    {"loop2", "x2,group:loop1"},
    {"d1", "group:d2"},
    {"d2", "group:d3"},
    {"d3", "group:d4"},
    {"d4", "group:d5"},
    {"d5", "group:d6"},
    {"d6", "group:d7"},
    {"d7", "group:d8"},
    {"d8", "deep8"},
    {"d0", "group:d1"},
    {"e0", "group:d2"},
    {NULL, NULL},
};

static const char *fake_members(void *ctx, const char *name)
{
	(void)ctx;
	for (const struct fake_group *g = groups; g->name; g++)
		if (str_ieq(g->name, name))
			return g->members;
	return NULL;
}

static const struct principal_resolver res = {fake_members, NULL, true};
static const struct principal_resolver res_noguest = {fake_members, NULL, false};

/* --- principal lists --------------------------------------------------------- */

static void test_normalize(void **state)
{
	static const struct {
		const char *in;  /* input */
		const char *out; /* normalized, or NULL when refused */
		const char *bad; /* text the error must name */
	} cases[] = {
	    {"alice, group:eng, *", "alice,group:eng,*", NULL},
	    {"", "", NULL},
	    {" , ,", "", NULL},
	    {"Alice,alice,ALICE", "Alice", NULL},
	    {"GROUP:Eng,group:eng", "group:Eng", NULL},
	    {"*,*", "*", NULL},
	    {"\talice\t,bob ", "alice,bob", NULL},
	    {"alice,b@d", NULL, "b@d"},
	    {"group:", NULL, "group:"},
	    {"group:e ng", NULL, "group:e ng"},
	    {"1abc", NULL, "1abc"},
	    {"pchat", NULL, "pchat"},
	    {"**", NULL, "**"},
	    {"+bob", NULL, "+bob"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out;

		err[0] = '\0';
		out = principal_list_normalize(cases[i].in, err, sizeof err);
		if (cases[i].out) {
			assert_non_null(out);
			assert_string_equal(out, cases[i].out);
		} else {
			assert_null(out);
			assert_non_null(strstr(err, cases[i].bad));
		}
		free(out);
	}
}

static void test_normalize_too_long(void **state)
{
	size_t n = PRINCIPAL_LIST_MAX + 10;
	char *big = malloc(n);
	char err[256];

	(void)state;
	memset(big, 'a', n - 1);
	big[n - 1] = '\0';
	assert_null(principal_list_normalize(big, err, sizeof err));
	assert_non_null(strstr(err, "longer"));
	free(big);
}

static void test_edit(void **state)
{
	static const struct {
		const char *cur;  /* current list */
		const char *spec; /* --members value */
		const char *out;  /* result, NULL when refused */
	} cases[] = {
	    {"alice,bob", "+carol", "alice,bob,carol"},
	    {"alice,bob", "-alice", "bob"},
	    {"alice,bob", "-ALICE,+Bob,+dave", "bob,dave"},
	    {"alice,bob", "-nobody", "alice,bob"},
	    {"alice,bob", "carol,dave", "carol,dave"},
	    {"alice,bob", "", ""},
	    {"alice", "+group:eng,+*", "alice,group:eng,*"},
	    {"alice,bob", "+carol,dave", NULL},
	    {"alice,bob", "+c@rol", NULL},
	    {"alice,bob", "-", NULL},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = principal_list_edit(cases[i].cur, cases[i].spec, err, sizeof err);

		if (cases[i].out) {
			assert_non_null(out);
			assert_string_equal(out, cases[i].out);
		} else {
			assert_null(out);
			assert_true(strlen(err) > 0);
		}
		free(out);
	}
}

static void test_has(void **state)
{
	static const struct {
		const char *list;    /* the list */
		const char *account; /* who */
		bool guest;          /* a guest */
		bool expect;         /* covered */
	} cases[] = {
	    {"alice,bob", "alice", false, true},
	    {"alice,bob", "ALICE", false, true},
	    {"alice,bob", "carol", false, false},
	    {"", "alice", false, false},
	    {"*", "anyone", false, true},
	    {"*", "guest1", true, true},
	    {"alice", "alice", true, false},         /* a guest never matches by name */
	    {"group:eng", "alice", false, true},     /* direct member */
	    {"group:eng", "quinn", false, true},     /* nested group */
	    {"group:eng", "lena", false, false},     /* another group */
	    {"group:legal", "larry", false, true},   /* case-insensitive */
	    {"group:nosuch", "alice", false, false}, /* unknown group */
	    {"group:eng", "alice", true, false},     /* guests are in no group */
	    {"group:loop1", "x2", false, true},      /* cycle: still finds */
	    {"group:loop1", "nobody", false, false}, /* cycle: ends */
	    {"group:d1", "deep8", false, true},      /* 8 levels */
	    {"group:d0", "deep8", false, false},     /* 9 levels: too deep */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(
		    principal_list_has(cases[i].list, cases[i].account, cases[i].guest, &res),
		    cases[i].expect);
	assert_false(principal_list_has("*", "guest1", true, &res_noguest));
	assert_true(principal_list_has("*", "alice", false, &res_noguest));
	assert_false(principal_list_has("group:eng", "alice", false, NULL));
	assert_true(principal_list_has("alice", "alice", false, NULL));
	assert_false(principal_list_has("*", "guest1", true, NULL));
}

static void test_group_check(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(principal_group_check("eng", &res, err, sizeof err), 0);
	assert_int_equal(principal_group_check("nosuch", &res, err, sizeof err), 0);
	assert_int_equal(principal_group_check("d1", &res, err, sizeof err), 0);
	assert_int_equal(principal_group_check("loop1", &res, err, sizeof err), -1);
	assert_non_null(strstr(err, "group:loop1 -> group:loop2 -> group:loop1"));
	assert_int_equal(principal_group_check("d0", &res, err, sizeof err), -1);
	assert_non_null(strstr(err, "8 levels"));
}

static void test_items_expand(void **state)
{
	static const char *const accounts[] = {"alice", "bob", "carol", "quinn", "lena"};
	struct ptrvec v = {0};

	(void)state;
	principal_list_items("bob, GROUP:eng ,b@d,*", &v);
	assert_int_equal(v.n, 3);
	assert_string_equal(v.v[0], "bob");
	assert_string_equal(v.v[1], "group:eng");
	assert_string_equal(v.v[2], "*");
	for (size_t i = 0; i < v.n; i++)
		free(v.v[i]);
	ptrvec_free(&v);

	assert_int_equal(principal_list_expand("group:eng,lena", accounts, 5, &res, &v), 4);
	assert_string_equal(v.v[0], "alice");
	assert_string_equal(v.v[1], "bob");
	assert_string_equal(v.v[2], "quinn");
	assert_string_equal(v.v[3], "lena");
	ptrvec_free(&v);
	assert_int_equal(principal_list_expand("*", accounts, 5, &res, &v), 5);
	ptrvec_free(&v);
	assert_int_equal(principal_list_expand("", accounts, 5, &res, &v), 0);
	ptrvec_free(&v);
}

static bool keep_not_b(void *ctx, const char *item)
{
	(void)ctx;
	return item[0] != 'b';
}

static void test_filter(void **state)
{
	char *dropped = NULL;
	char *kept =
	    principal_list_filter("alice,bob,carol,bert,alice", keep_not_b, NULL, &dropped);

	(void)state;
	assert_string_equal(kept, "alice,carol");
	assert_string_equal(dropped, "bob,bert");
	free(kept);
	free(dropped);
	kept = principal_list_filter("", keep_not_b, NULL, &dropped);
	assert_string_equal(kept, "");
	assert_string_equal(dropped, "");
	free(kept);
	free(dropped);
}

/* --- rules ------------------------------------------------------------------- */

/* The category of the rule tables: everyone but legal, creators eng. */
static const struct rules_category cat = {
    .allowed = "*",
    .denied = "group:legal,mallory",
    .creators = "group:eng",
    .invitations = true,
    .file_upload = false,
    .history = true,
};

/* A category with a narrow scope and no guests. */
static const struct rules_category cat_eng = {
    .allowed = "group:eng", .denied = "", .creators = "", .history = false};

static struct rules_room room_of(int privacy, int type, bool disabled)
{
	struct rules_room r = {
	    .privacy = privacy,
	    .type = type,
	    .members = "carol,mallory,lena",
	    .managers = "mike",
	    .presenters = "pat",
	    .disabled = disabled,
	    .invitations_off = false,
	};
	return r;
}

enum { OPEN = RULES_PRIVACY_OPEN, CLOSED = RULES_PRIVACY_CLOSED, SECRET = RULES_PRIVACY_SECRET };
enum { NORMAL = RULES_ROOM_NORMAL, AUDI = RULES_ROOM_AUDITORIUM };

struct rule_case {
	int privacy;     /* room privacy */
	int type;        /* room type */
	bool disabled;   /* room disabled */
	const char *who; /* account or guest nick */
	bool guest;      /* a guest */
	bool admin;      /* an administrator */
	bool find;       /* expected rules_can_find */
	bool join;       /* expected rules_can_join */
	bool post;       /* expected rules_can_post */
	bool manage;     /* expected rules_can_manage */
};

static const struct rule_case rule_cases[] = {
    /* open: anyone in scope finds, joins, posts */
    {OPEN, NORMAL, false, "zed", false, false, true, true, true, false},
    {OPEN, NORMAL, false, "guest7", true, false, true, true, true, false},
    {OPEN, NORMAL, false, "carol", false, false, true, true, true, false},
    {OPEN, NORMAL, false, "mike", false, false, true, true, true, true},
    /* the ethical wall: denied wins over allowed "*" and over membership */
    {OPEN, NORMAL, false, "lena", false, false, false, false, false, false},
    {OPEN, NORMAL, false, "mallory", false, false, false, false, false, false},
    {CLOSED, NORMAL, false, "mallory", false, false, false, false, false, false},
    {SECRET, NORMAL, false, "lena", false, false, false, false, false, false},
    /* closed: found by the scope, joined by members/managers/presenters */
    {CLOSED, NORMAL, false, "zed", false, false, true, false, false, false},
    {CLOSED, NORMAL, false, "guest7", true, false, true, false, false, false},
    {CLOSED, NORMAL, false, "carol", false, false, true, true, true, false},
    {CLOSED, NORMAL, false, "pat", false, false, true, true, true, false},
    {CLOSED, NORMAL, false, "mike", false, false, true, true, true, true},
    /* secret: found and joined by members only */
    {SECRET, NORMAL, false, "zed", false, false, false, false, false, false},
    {SECRET, NORMAL, false, "carol", false, false, true, true, true, false},
    {SECRET, NORMAL, false, "mike", false, false, true, true, true, true},
    {SECRET, NORMAL, false, "pat", false, false, true, true, true, false},
    /* administrators find and manage everything, join by the same rules */
    {SECRET, NORMAL, false, "root", false, true, true, false, false, true},
    {OPEN, NORMAL, false, "root", false, true, true, true, true, true},
    /* auditorium: presenters and managers post */
    {OPEN, AUDI, false, "zed", false, false, true, true, false, false},
    {CLOSED, AUDI, false, "carol", false, false, true, true, false, false},
    {CLOSED, AUDI, false, "pat", false, false, true, true, true, false},
    {CLOSED, AUDI, false, "mike", false, false, true, true, true, true},
    /* disabled: nobody finds or joins; administrators find and manage */
    {OPEN, NORMAL, true, "zed", false, false, false, false, false, false},
    {CLOSED, NORMAL, true, "carol", false, false, false, false, false, false},
    {CLOSED, NORMAL, true, "mike", false, false, false, false, false, false},
    {CLOSED, NORMAL, true, "root", false, true, true, false, false, true},
};

static void test_rule_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
		const struct rule_case *c = &rule_cases[i];
		struct rules_room r = room_of(c->privacy, c->type, c->disabled);
		struct rules_user u = {c->who, c->guest, c->admin};

		print_message("case %zu: %s\n", i, c->who);
		assert_int_equal(rules_can_find(&cat, &r, &u, &res), c->find);
		assert_int_equal(rules_can_join(&cat, &r, &u, &res), c->join);
		assert_int_equal(rules_can_post(&cat, &r, &u, &res), c->post);
		assert_int_equal(rules_can_manage(&cat, &r, &u, &res), c->manage);
	}
}

static void test_scope(void **state)
{
	struct rules_user alice = {"alice", false, false};
	struct rules_user quinn = {"quinn", false, false};
	struct rules_user zed = {"zed", false, false};
	struct rules_user guest = {"guest1", true, false};
	struct rules_user lena = {"lena", false, false};
	struct rules_category both = {.allowed = "group:eng,lena", .denied = "group:qa,lena"};
	struct rules_category none = {0};

	(void)state;
	assert_true(rules_in_scope(&cat_eng, &alice, &res));
	assert_true(rules_in_scope(&cat_eng, &quinn, &res));
	assert_false(rules_in_scope(&cat_eng, &zed, &res));
	assert_false(rules_in_scope(&cat_eng, &guest, &res));
	assert_true(rules_in_scope(&cat, &guest, &res));
	assert_false(rules_in_scope(&cat, &guest, &res_noguest));
	assert_false(rules_in_scope(&cat, &lena, &res));
	/* denied wins over allowed, even through a nested group */
	assert_true(rules_in_scope(&both, &alice, &res));
	assert_false(rules_in_scope(&both, &quinn, &res));
	assert_false(rules_in_scope(&both, &lena, &res));
	/* NULL lists cover nobody */
	assert_false(rules_in_scope(&none, &alice, &res));
}

static void test_wall_over_roles(void **state)
{
	/* mallory is denied yet manager, presenter and member: nothing */
	struct rules_room r = {.privacy = OPEN,
	                       .type = AUDI,
	                       .members = "mallory",
	                       .managers = "mallory",
	                       .presenters = "mallory"};
	struct rules_user m = {"mallory", false, false};

	(void)state;
	assert_true(rules_is_listed(&r, &m, &res));
	assert_false(rules_can_find(&cat, &r, &m, &res));
	assert_false(rules_can_join(&cat, &r, &m, &res));
	assert_false(rules_can_post(&cat, &r, &m, &res));
	assert_false(rules_can_manage(&cat, &r, &m, &res));
}

static void test_create_delete(void **state)
{
	struct rules_user alice = {"alice", false, false};
	struct rules_user quinn = {"quinn", false, false};
	struct rules_user zed = {"zed", false, false};
	struct rules_user root = {"root", false, true};
	struct rules_user guest = {"guest1", true, false};
	struct rules_category walled = cat;

	(void)state;
	assert_true(rules_can_create(&cat, &alice, &res));
	assert_true(rules_can_create(&cat, &quinn, &res));
	assert_false(rules_can_create(&cat, &zed, &res));
	assert_false(rules_can_create(&cat, &guest, &res));
	assert_true(rules_can_create(&cat, &root, &res));
	assert_false(rules_can_create(&cat_eng, &alice, &res)); /* no creators */
	walled.denied = "group:qa";
	assert_false(rules_can_create(&walled, &quinn, &res)); /* creator behind the wall */
	assert_true(rules_can_delete(&root));
	assert_false(rules_can_delete(&alice));
	assert_false(rules_can_delete(&guest));
}

static void test_flags(void **state)
{
	struct rules_category on = {.invitations = true, .history = true};
	struct rules_category off = {.invitations = false, .history = false};
	struct rules_room inherit = {.invitations_off = false};
	struct rules_room roff = {.invitations_off = true};

	(void)state;
	assert_true(rules_invitations_on(&on, &inherit));
	assert_false(rules_invitations_on(&on, &roff));
	assert_false(rules_invitations_on(&off, &inherit));
	assert_false(rules_invitations_on(&off, &roff));
	assert_true(rules_keeps_history(&on));
	assert_false(rules_keeps_history(&off));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),     cmocka_unit_test(test_normalize_too_long),
	    cmocka_unit_test(test_edit),          cmocka_unit_test(test_has),
	    cmocka_unit_test(test_group_check),   cmocka_unit_test(test_items_expand),
	    cmocka_unit_test(test_filter),        cmocka_unit_test(test_rule_table),
	    cmocka_unit_test(test_scope),         cmocka_unit_test(test_wall_over_roles),
	    cmocka_unit_test(test_create_delete), cmocka_unit_test(test_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
