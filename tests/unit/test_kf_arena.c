/*  test_kf_arena — the bump allocator a subscriber unpacks its batch into:
    alignment, blocks and oversized allocations, reset, and protobuf-c
    unpacking through it.

    Usage:
        kf_arena_t *arena = kf_arena_new (65536);
        Kefu__V1__Event *ev = kefu__v1__event__unpack (kf_arena_allocator (arena), n, data);
        ...                        //  no free_unpacked
        kf_arena_reset (arena);    //  every event of the batch is gone
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "kefu/v1/events.pb-c.h"
#include "kf_arena.h"

static void
test_alignment_and_contents (void **state)
{
    (void) state;
    kf_arena_t *arena = kf_arena_new (256);
    char *pointers[100];
    for (int i = 0; i < 100; i++) {
        size_t size = (size_t) (i % 13) + 1; //  odd sizes, several blocks
        pointers[i] = kf_arena_alloc (arena, size);
        assert_non_null (pointers[i]);
        assert_int_equal ((uintptr_t) pointers[i] % alignof (max_align_t), 0);
        memset (pointers[i], i, size);
    }
    //  Nothing overlapped: each allocation still holds its own byte.
    for (int i = 0; i < 100; i++)
        for (size_t k = 0; k < (size_t) (i % 13) + 1; k++)
            assert_int_equal ((unsigned char) pointers[i][k], i);
    assert_true (kf_arena_used (arena) >= 100);
    kf_arena_destroy (&arena);
    assert_null (arena);
}

static void
test_larger_than_a_block (void **state)
{
    (void) state;
    kf_arena_t *arena = kf_arena_new (128);
    char *small = kf_arena_alloc (arena, 16);
    char *big = kf_arena_alloc (arena, 10000);
    char *after = kf_arena_alloc (arena, 16);
    assert_non_null (small);
    assert_non_null (big);
    assert_non_null (after);
    memset (big, 0xab, 10000);
    memset (small, 1, 16);
    memset (after, 2, 16);
    assert_int_equal ((unsigned char) big[0], 0xab);
    assert_int_equal ((unsigned char) big[9999], 0xab);
    assert_int_equal (small[15], 1);
    //  Zero bytes still get a distinct pointer.
    assert_non_null (kf_arena_alloc (arena, 0));
    kf_arena_destroy (&arena);
}

static void
test_reset_starts_over (void **state)
{
    (void) state;
    kf_arena_t *arena = kf_arena_new (1024);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 40; i++) {
            char *p = kf_arena_alloc (arena, 100);
            assert_non_null (p);
            memset (p, round, 100);
        }
        assert_int_equal (kf_arena_used (arena), 40 * ((100 + alignof (max_align_t) - 1) /
                                                       alignof (max_align_t) *
                                                       alignof (max_align_t)));
        kf_arena_reset (arena);
        assert_int_equal (kf_arena_used (arena), 0);
    }
    kf_arena_destroy (&arena);
}

static void
test_protobuf_unpack (void **state)
{
    (void) state;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.stream = "intake";
    ev.partition = 7;
    ev.seq = 123456789;
    ev.shop_id = "tmall-hzfs";
    ev.kind = "conversation.opened";
    size_t size = kefu__v1__event__get_packed_size (&ev);
    uint8_t *data = malloc (size);
    kefu__v1__event__pack (&ev, data);

    kf_arena_t *arena = kf_arena_new (512);
    for (int i = 0; i < 200; i++) {
        Kefu__V1__Event *got = kefu__v1__event__unpack (kf_arena_allocator (arena), size, data);
        assert_non_null (got);
        assert_string_equal (got->stream, "intake");
        assert_int_equal (got->partition, 7);
        assert_int_equal (got->seq, 123456789);
        assert_string_equal (got->shop_id, "tmall-hzfs");
        assert_string_equal (got->kind, "conversation.opened");
        if (i % 50 == 49)
            kf_arena_reset (arena);
    }
    //  Malformed input fails cleanly through the arena too.
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    assert_null (kefu__v1__event__unpack (kf_arena_allocator (arena), sizeof junk, junk));
    kf_arena_destroy (&arena);
    free (data);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_alignment_and_contents),
        cmocka_unit_test (test_larger_than_a_block),
        cmocka_unit_test (test_reset_starts_over),
        cmocka_unit_test (test_protobuf_unpack),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
