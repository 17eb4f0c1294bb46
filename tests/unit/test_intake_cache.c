/*  test_intake_cache — the writers' memory of their customers: entries are
    copies (the name too, both ways), replaced and forgotten by key, the
    memory stays within its bound by starting afresh, two threads can use
    it at once, and unknown customers are presumed new until that is wrong
    (then not for a growing while). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
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
    intake_cache_entry_t got;
    assert_true (intake_cache_get (cache,
                                   "shop\x1f"
                                   "1\x1f"
                                   "tb_a",
                                   &got));
    assert_int_equal (got.customer_ref, 42);
    assert_int_equal (got.conv_id, 7);
    assert_string_equal (got.name, "小美的顾客");
    got.name[0] = 'X'; //  a copy: the cache's stays
    intake_cache_entry_clear (&got);
    assert_true (intake_cache_get (cache,
                                   "shop\x1f"
                                   "1\x1f"
                                   "tb_a",
                                   &got));
    assert_string_equal (got.name, "小美的顾客");
    intake_cache_entry_clear (&got);
    assert_false (intake_cache_get (cache,
                                    "shop\x1f"
                                    "2\x1f"
                                    "tb_a",
                                    &got)); //  other channel
    assert_int_equal (got.customer_ref, 0);
    assert_null (got.name);

    e.name = NULL; //  a name not known
    e.conv_id = 8;
    intake_cache_put (cache,
                      "shop\x1f"
                      "1\x1f"
                      "tb_a",
                      &e);
    assert_true (intake_cache_get (cache,
                                   "shop\x1f"
                                   "1\x1f"
                                   "tb_a",
                                   &got));
    assert_int_equal (got.conv_id, 8);
    assert_null (got.name);
    assert_int_equal (intake_cache_size (cache), 1);

    intake_cache_forget (cache, "shop\x1f"
                                "1\x1f"
                                "tb_a");
    assert_false (intake_cache_get (cache,
                                    "shop\x1f"
                                    "1\x1f"
                                    "tb_a",
                                    &got));
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
        intake_cache_entry_t got;
        assert_true (intake_cache_get (cache, key, &got));
        assert_int_equal (got.customer_ref, i + 1);
        assert_string_equal (got.name, key);
        intake_cache_entry_clear (&got);
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

//  Learning after a commit keeps what the batch did not carry: the stored
//  name when the batch had none, a VIP flag once seen.
static void
test_learn_keeps_name_and_vip (void **state)
{
    (void) state;
    intake_cache_t *cache = intake_cache_new (10);
    intake_cache_entry_t e = {0};
    e.customer_ref = 7;
    e.name = "老王";
    e.vip = true;
    intake_cache_learn (cache, "k", &e);
    e.name = NULL;
    e.vip = false;
    e.conv_id = 3;
    intake_cache_learn (cache, "k", &e);
    intake_cache_entry_t got;
    assert_true (intake_cache_get (cache, "k", &got));
    assert_string_equal (got.name, "老王");
    assert_true (got.vip);
    assert_int_equal (got.conv_id, 3);
    intake_cache_entry_clear (&got);
    e.name = "王先生"; //  a new name replaces the old one
    intake_cache_learn (cache, "k", &e);
    assert_true (intake_cache_get (cache, "k", &got));
    assert_string_equal (got.name, "王先生");
    intake_cache_entry_clear (&got);
    intake_cache_put (cache, "k", &(intake_cache_entry_t){.customer_ref = 7}); //  put replaces
    assert_true (intake_cache_get (cache, "k", &got));
    assert_null (got.name);
    assert_false (got.vip);
    intake_cache_destroy (&cache);
}

//  A wrong presumption stops it for 16 calls, then 32 if wrong again...;
//  a right one makes the next wrong one pause for 16 again.
static void
test_presume_new_backs_off (void **state)
{
    (void) state;
    intake_cache_t *cache = intake_cache_new (10);
    intake_cache_set_complete (cache);
    assert_true (intake_cache_presume_new (cache));
    intake_cache_presumed (cache, true);
    assert_true (intake_cache_presume_new (cache));
    intake_cache_presumed (cache, false); //  wrong: pause 16
    for (int i = 0; i < 16; i++)
        assert_false (intake_cache_presume_new (cache));
    assert_true (intake_cache_presume_new (cache));
    intake_cache_presumed (cache, false); //  wrong again: pause 32
    for (int i = 0; i < 32; i++)
        assert_false (intake_cache_presume_new (cache));
    assert_true (intake_cache_presume_new (cache));
    for (int i = 0; i < 20; i++) //  keeps being wrong: at most 4,096
        intake_cache_presumed (cache, false);
    int paused = 0;
    while (!intake_cache_presume_new (cache))
        paused++;
    assert_int_equal (paused, 4096);
    intake_cache_presumed (cache, true); //  right: the next pause is short
    intake_cache_presumed (cache, false);
    paused = 0;
    while (!intake_cache_presume_new (cache))
        paused++;
    assert_int_equal (paused, 16);
    intake_cache_destroy (&cache);
}

//  The filter of stored keys: until the record's keys are loaded nothing
//  is presumed new and every key may be stored; then a key put, learned or
//  marked stays "stored" even after the entries are purged or forgotten,
//  and keys never stored are (almost all) known to be new.
static void
test_stored_keys_outlive_the_entries (void **state)
{
    (void) state;
    intake_cache_t *cache = intake_cache_new (4);
    assert_false (intake_cache_presume_new (cache));
    assert_true (intake_cache_maybe_stored (cache, "shop-a\x1f"
                                                   "1\x1f"
                                                   "nobody"));
    intake_cache_mark_stored (cache, "shop-a\x1f"
                                     "1\x1f"
                                     "from-the-record");
    intake_cache_set_complete (cache);
    assert_true (intake_cache_presume_new (cache));
    intake_cache_entry_t e = {.customer_ref = 7};
    char key[64];
    for (int i = 0; i < 10; i++) { //  past the bound of 4: purged
        snprintf (key, sizeof key,
                  "shop-a\x1f"
                  "1\x1f"
                  "tb_%d",
                  i);
        intake_cache_learn (cache, key, &e);
    }
    intake_cache_forget (cache, key);
    assert_true (intake_cache_size (cache) < 10);
    for (int i = 0; i < 10; i++) {
        snprintf (key, sizeof key,
                  "shop-a\x1f"
                  "1\x1f"
                  "tb_%d",
                  i);
        assert_true (intake_cache_maybe_stored (cache, key));
    }
    assert_true (intake_cache_maybe_stored (cache, "shop-a\x1f"
                                                   "1\x1f"
                                                   "from-the-record"));
    int looks_stored = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf (key, sizeof key,
                  "shop-b\x1f"
                  "2\x1f"
                  "new_%d",
                  i);
        looks_stored += intake_cache_maybe_stored (cache, key) ? 1 : 0;
    }
    assert_int_equal (looks_stored, 0); //  12 keys in 2^25 bits
    intake_cache_destroy (&cache);
}

typedef struct {
    intake_cache_t *cache;
    int writer;
} s_writer_arg_t;

//  One writer's keys: put, read back, replace, forget some.
static void *
s_writer (void *arg_)
{
    s_writer_arg_t *arg = arg_;
    for (int i = 0; i < 20000; i++) {
        char key[64];
        snprintf (key, sizeof key,
                  "s\x1f%d\x1f"
                  "c%d",
                  arg->writer, i % 500);
        intake_cache_entry_t e = {0};
        e.customer_ref = i + 1;
        e.name = key;
        intake_cache_put (arg->cache, key, &e);
        intake_cache_entry_t got;
        //  The cache may have started afresh (another writer's put), but a
        //  key this writer owns never holds another writer's entry.
        if (intake_cache_get (arg->cache, key, &got)) {
            if (got.customer_ref != i + 1 || strcmp (got.name, key) != 0)
                return (void *) 1;
            intake_cache_entry_clear (&got);
        }
        if (i % 7 == 0)
            intake_cache_forget (arg->cache, key);
    }
    return NULL;
}

//  The writers share one cache (each with keys of its own).
static void
test_shared_by_threads (void **state)
{
    (void) state;
    intake_cache_t *cache = intake_cache_new (600);
    pthread_t threads[3];
    s_writer_arg_t args[3];
    for (int t = 0; t < 3; t++) {
        args[t] = (s_writer_arg_t){cache, t + 1};
        assert_int_equal (pthread_create (&threads[t], NULL, s_writer, &args[t]), 0);
    }
    for (int t = 0; t < 3; t++) {
        void *failed = NULL;
        pthread_join (threads[t], &failed);
        assert_null (failed);
    }
    assert_true (intake_cache_size (cache) <= 600);
    intake_cache_destroy (&cache);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_put_get_replace_forget),
        cmocka_unit_test (test_learn_keeps_name_and_vip),
        cmocka_unit_test (test_presume_new_backs_off),
        cmocka_unit_test (test_stored_keys_outlive_the_entries),
        cmocka_unit_test (test_shared_by_threads),
        cmocka_unit_test (test_bounded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
