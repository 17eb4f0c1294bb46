/*  test_intake_cache — a writer's memory of its customers: entries are
    copies (the name too), replaced and forgotten by key, and the memory
    stays within its bound by starting afresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake_cache.h"

static void
test_put_get_replace_forget (void **state)
{
    (void) state;
    intake_cache_t *cache = intake_cache_new (10);
    char name[32] = "小美的顾客";
    intake_cache_entry_t e = {0};
    e.customer_ref = 42;
    e.name = name;
    e.conv_id = 7;
    e.conv_last_ms = 1000;
    intake_cache_put (cache,
                      "shop\x1f"
                      "1\x1f"
                      "tb_a",
                      &e);
    strcpy (name, "changed"); //  the cache kept its own copy
    const intake_cache_entry_t *got = intake_cache_get (cache, "shop\x1f"
                                                               "1\x1f"
                                                               "tb_a");
    assert_non_null (got);
    assert_int_equal (got->customer_ref, 42);
    assert_int_equal (got->conv_id, 7);
    assert_string_equal (got->name, "小美的顾客");
    assert_null (intake_cache_get (cache, "shop\x1f"
                                          "2\x1f"
                                          "tb_a")); //  other channel

    e.name = NULL; //  a name not known
    e.conv_id = 8;
    intake_cache_put (cache,
                      "shop\x1f"
                      "1\x1f"
                      "tb_a",
                      &e);
    got = intake_cache_get (cache, "shop\x1f"
                                   "1\x1f"
                                   "tb_a");
    assert_int_equal (got->conv_id, 8);
    assert_null (got->name);
    assert_int_equal (intake_cache_size (cache), 1);

    intake_cache_forget (cache, "shop\x1f"
                                "1\x1f"
                                "tb_a");
    assert_null (intake_cache_get (cache, "shop\x1f"
                                          "1\x1f"
                                          "tb_a"));
    intake_cache_forget (cache, "never there"); //  harmless
    intake_cache_destroy (&cache);
    assert_null (cache);
}

static void
test_bounded (void **state)
{
    (void) state;
    intake_cache_t *cache = intake_cache_new (100);
    intake_cache_entry_t e = {0};
    for (int i = 0; i < 1000; i++) {
        char key[32];
        snprintf (key, sizeof key,
                  "s\x1f"
                  "1\x1f"
                  "c%d",
                  i);
        e.customer_ref = i + 1;
        e.name = key;
        intake_cache_put (cache, key, &e);
        assert_true (intake_cache_size (cache) <= 100);
        //  The key just put is always there.
        const intake_cache_entry_t *got = intake_cache_get (cache, key);
        assert_non_null (got);
        assert_int_equal (got->customer_ref, i + 1);
    }
    //  1,000 puts into 100 places: full now (it started afresh 9 times);
    //  replacing a key that is there does not start afresh.
    assert_int_equal (intake_cache_size (cache), 100);
    e.name = NULL; //  it pointed at the loop's key
    char last[32];
    snprintf (last, sizeof last,
              "s\x1f"
              "1\x1f"
              "c%d",
              999);
    intake_cache_put (cache, last, &e);
    assert_int_equal (intake_cache_size (cache), 100);
    intake_cache_destroy (&cache);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_put_get_replace_forget),
        cmocka_unit_test (test_bounded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
