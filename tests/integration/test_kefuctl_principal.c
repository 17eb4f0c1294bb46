/*  test_kefuctl_principal — the gateway ids of `kefuctl principal`.

    A gateway id (part of intake's de-duplication key) belongs to one
    principal: a gateway key gets its own id unless --gateway-id names
    others; an id of another active principal is refused (exit 3, nothing
    added); `bind` gives an existing key more ids and takes over those of a
    disabled principal (a new key for the same gateway); roles that send no
    items get none; bad ids and unknown principals exit 2 and 4. */
#include "kt_db.h"
#include "kt_kefuctl.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "tmall-hzfs"

//  The gateway ids of principal id as "a,b" (from principal list --json).
static char *
s_gateway_ids (const char *url, const char *id)
{
    KT_EXPECT (url, 0, "principal", "list", "--json");
    json_error_t error;
    json_t *list = json_loads (kt_kefuctl_last.out, 0, &error);
    if (!json_is_array (list))
        fail_msg ("principal list --json: %s\n%s", error.text, kt_kefuctl_last.out);
    char out[512] = "";
    bool found = false;
    size_t i;
    json_t *p;
    json_array_foreach (list, i, p)
    {
        if (strcmp (json_string_value (json_object_get (p, "principal_id")), id) != 0)
            continue;
        found = true;
        size_t g;
        json_t *gw;
        json_array_foreach (json_object_get (p, "gateway_ids"), g, gw)
        {
            size_t used = strlen (out);
            snprintf (out + used, sizeof out - used, "%s%s", g ? "," : "", json_string_value (gw));
        }
    }
    json_decref (list);
    if (!found)
        fail_msg ("principal %s is not listed", id);
    return strdup (out);
}

static void
s_expect_ids (const char *url, const char *id, const char *expected)
{
    char *ids = s_gateway_ids (url, id);
    assert_string_equal (ids, expected);
    free (ids);
}

static void
test_a_gateway_id_belongs_to_one_principal (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("kefuctl_principal");
    KT_EXPECT (url, 0, "shop", "add", SHOP, "--name", "杭州服饰旗舰店");
    //  By default a gateway key says its own id.
    KT_EXPECT (url, 0, "principal", "add", "qianniu-1", "--role", "gateway", "--shops", SHOP);
    s_expect_ids (url, "qianniu-1", "qianniu-1");
    //  Another key may not take it while its owner is active; nothing is added.
    KT_EXPECT (url, 3, "principal", "add", "qianniu-2", "--role", "gateway", "--shops", SHOP,
               "--gateway-id", "qianniu-1");
    assert_non_null (strstr (kt_kefuctl_last.err, "belongs to active principal qianniu-1"));
    assert_int_equal (
        kt_db_count (url, "SELECT count(*) FROM principals WHERE principal_id = 'qianniu-2'"), 0);
    //  Several ids of its own.
    KT_EXPECT (url, 0, "principal", "add", "qianniu-2", "--role", "gateway", "--shops", SHOP,
               "--gateway-id", "qn-b", "--gateway-id", "qn a");
    s_expect_ids (url, "qianniu-2", "qn a,qn-b");
    KT_EXPECT (url, 3, "principal", "bind", "qianniu-2", "--gateway-id", "qianniu-1");
    s_expect_ids (url, "qianniu-1", "qianniu-1");
    //  A new key for the same gateway: the old one disabled, its id moves.
    KT_EXPECT (url, 0, "principal", "disable", "qianniu-1");
    KT_EXPECT (url, 0, "principal", "bind", "qianniu-2", "--gateway-id", "qianniu-1");
    assert_non_null (strstr (kt_kefuctl_last.out, "qianniu-1 (from qianniu-1)"));
    s_expect_ids (url, "qianniu-2", "qianniu-1,qn a,qn-b");
    s_expect_ids (url, "qianniu-1", "");
    KT_EXPECT (url, 0, "principal", "list");
    assert_non_null (strstr (kt_kefuctl_last.out, "qianniu-1,qn a,qn-b"));
    free (url);
}

static void
test_only_keys_that_send_items_have_gateway_ids (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("kefuctl_principal_roles");
    KT_EXPECT (url, 0, "shop", "add", SHOP, "--name", "杭州服饰旗舰店");
    KT_EXPECT (url, 0, "principal", "add", "lead-li", "--role", "supervisor", "--shops", SHOP);
    s_expect_ids (url, "lead-li", "");
    KT_EXPECT (url, 2, "principal", "add", "lead-wang", "--role", "supervisor", "--shops", SHOP,
               "--gateway-id", "gw");
    KT_EXPECT (url, 2, "principal", "bind", "lead-li", "--gateway-id", "gw");
    KT_EXPECT (url, 0, "principal", "add", "ops", "--role", "admin", "--all-shops");
    s_expect_ids (url, "ops", "ops");
    //  Bad ids (intake's rules for Hello.gateway_id), unknown principals.
    KT_EXPECT (url, 2, "principal", "bind", "ops", "--gateway-id", " padded");
    KT_EXPECT (url, 2, "principal", "bind", "ops", "--gateway-id", "tab\there");
    KT_EXPECT (url, 2, "principal", "bind", "ops");
    KT_EXPECT (url, 4, "principal", "bind", "nobody", "--gateway-id", "gw");
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM principal_gateways"), 1);
    free (url);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_gateway_id_belongs_to_one_principal),
        cmocka_unit_test (test_only_keys_that_send_items_have_gateway_ids),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
