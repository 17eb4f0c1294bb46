/*  test_kf_batch — rows collected as PostgreSQL binary arrays (array_send
    format), checked byte by byte. The round trip through a real server is
    in tests/integration/test_kf_store.c.

    Usage:
        kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8};
        kf_batch_t *batch = kf_batch_new (2, types);
        kf_batch_str (batch, 0, "tmall-hzfs");  kf_batch_int (batch, 1, 42);
        kf_params_t params;  kf_params_init (&params);
        kf_batch_params (batch, &params);   //  $1::text[], $2::int8[]
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kf_batch.h"

static uint32_t
s_get32 (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

//  Check the array header of parameter i: one dimension of `count`
//  elements, lower bound 1, element type `oid`, has-nulls `flags`.
static void
s_assert_header (const kf_params_t *params, int i, uint32_t oid, uint32_t count, uint32_t flags)
{
    assert_int_equal (params->formats[i], 1);
    assert_true (params->lengths[i] >= 20);
    const uint8_t *p = (const uint8_t *) params->values[i];
    assert_int_equal (s_get32 (p), 1);          //  ndim
    assert_int_equal (s_get32 (p + 4), flags);  //  has nulls
    assert_int_equal (s_get32 (p + 8), oid);    //  element type
    assert_int_equal (s_get32 (p + 12), count); //  dimension size
    assert_int_equal (s_get32 (p + 16), 1);     //  lower bound
}

static void
test_rows_and_reset (void **state)
{
    (void) state;
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_BOOL};
    kf_batch_t *batch = kf_batch_new (3, types);
    assert_non_null (batch);
    assert_int_equal (kf_batch_rows (batch), 0);
    kf_batch_str (batch, 0, "a");
    kf_batch_int (batch, 1, 1);
    kf_batch_bool (batch, 2, true);
    assert_int_equal (kf_batch_rows (batch), 1);
    //  A row counts once every column has its value.
    kf_batch_str (batch, 0, "b");
    assert_int_equal (kf_batch_rows (batch), 1);
    kf_batch_null (batch, 1);
    assert_int_equal (kf_batch_rows (batch), 1);
    kf_batch_bool (batch, 2, false);
    assert_int_equal (kf_batch_rows (batch), 2);
    kf_batch_reset (batch);
    assert_int_equal (kf_batch_rows (batch), 0);
    kf_batch_str (batch, 0, "c");
    kf_batch_int (batch, 1, 3);
    kf_batch_bool (batch, 2, true);
    assert_int_equal (kf_batch_rows (batch), 1);
    kf_batch_destroy (&batch);
    assert_null (batch);
    kf_batch_destroy (&batch);
    kf_batch_destroy (NULL);
}

static void
test_text_encoding (void **state)
{
    (void) state;
    kf_col_type_t types[] = {KF_COL_TEXT};
    kf_batch_t *batch = kf_batch_new (1, types);
    kf_batch_str (batch, 0, "ab");
    kf_batch_text (batch, 0, "亲\0x", 3); //  length given: only 亲
    kf_batch_text (batch, 0, "", 0);
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    assert_int_equal (params.count, 1);
    s_assert_header (&params, 0, 25, 3, 0);
    static const uint8_t expected[] = {
        0, 0, 0, 1, 0,    0,    0,    0, 0, 0, 0, 25, 0, 0, 0, 3, 0, 0, 0, 1, //  header
        0, 0, 0, 2, 'a',  'b',                                                //  "ab"
        0, 0, 0, 3, 0xE4, 0xBA, 0xB2,                                         //  "亲"
        0, 0, 0, 0,                                                           //  ""
    };
    assert_int_equal (params.lengths[0], sizeof expected);
    assert_memory_equal (params.values[0], expected, sizeof expected);
    kf_batch_destroy (&batch);
}

static void
test_all_types (void **state)
{
    (void) state;
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_BYTEA, KF_COL_INT8,
                             KF_COL_INT4, KF_COL_INT2,  KF_COL_BOOL};
    kf_batch_t *batch = kf_batch_new (6, types);
    kf_batch_str (batch, 0, "x");
    kf_batch_text (batch, 1, "\x00\xFF", 2);
    kf_batch_int (batch, 2, -2);
    kf_batch_int (batch, 3, 0x01020304);
    kf_batch_int (batch, 4, -1);
    kf_batch_bool (batch, 5, true);
    kf_batch_null (batch, 0);
    kf_batch_null (batch, 1);
    kf_batch_int (batch, 2, INT64_MAX);
    kf_batch_int (batch, 3, INT32_MIN);
    kf_batch_null (batch, 4);
    kf_batch_bool (batch, 5, false);
    assert_int_equal (kf_batch_rows (batch), 2);

    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, "before"); //  arrays are appended after existing parameters
    kf_batch_params (batch, &params);
    assert_int_equal (params.count, 7);
    const uint32_t oids[] = {25, 17, 20, 23, 21, 16};
    const uint32_t nulls[] = {1, 1, 0, 0, 1, 0};
    for (int i = 0; i < 6; i++)
        s_assert_header (&params, i + 1, oids[i], 2, nulls[i]);

    const uint8_t *text = (const uint8_t *) params.values[1] + 20;
    static const uint8_t text_els[] = {0, 0, 0, 1, 'x', 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal (params.lengths[1], 20 + sizeof text_els);
    assert_memory_equal (text, text_els, sizeof text_els);

    const uint8_t *bytea = (const uint8_t *) params.values[2] + 20;
    static const uint8_t bytea_els[] = {0, 0, 0, 2, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal (params.lengths[2], 20 + sizeof bytea_els);
    assert_memory_equal (bytea, bytea_els, sizeof bytea_els);

    static const uint8_t int8_els[] = {0, 0, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
                                       0, 0, 0, 8, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal (params.lengths[3], 20 + sizeof int8_els);
    assert_memory_equal ((const uint8_t *) params.values[3] + 20, int8_els, sizeof int8_els);

    static const uint8_t int4_els[] = {0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 4, 0x80, 0, 0, 0};
    assert_int_equal (params.lengths[4], 20 + sizeof int4_els);
    assert_memory_equal ((const uint8_t *) params.values[4] + 20, int4_els, sizeof int4_els);

    static const uint8_t int2_els[] = {0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal (params.lengths[5], 20 + sizeof int2_els);
    assert_memory_equal ((const uint8_t *) params.values[5] + 20, int2_els, sizeof int2_els);

    static const uint8_t bool_els[] = {0, 0, 0, 1, 1, 0, 0, 0, 1, 0};
    assert_int_equal (params.lengths[6], 20 + sizeof bool_els);
    assert_memory_equal ((const uint8_t *) params.values[6] + 20, bool_els, sizeof bool_els);

    //  After reset the has-nulls flag and the count start over.
    kf_batch_reset (batch);
    kf_batch_str (batch, 0, "y");
    kf_batch_text (batch, 1, "z", 1);
    kf_batch_int (batch, 2, 1);
    kf_batch_int (batch, 3, 1);
    kf_batch_int (batch, 4, 1);
    kf_batch_bool (batch, 5, true);
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    for (int i = 0; i < 6; i++)
        s_assert_header (&params, i, oids[i], 1, 0);
    assert_int_equal (params.lengths[0], 20 + 5);
    kf_batch_destroy (&batch);
}

static void
test_empty_batch (void **state)
{
    (void) state;
    //  No rows: arrays with no dimensions (12 bytes), which unnest to no rows.
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT4};
    kf_batch_t *batch = kf_batch_new (2, types);
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    assert_int_equal (params.count, 2);
    static const uint8_t empty_text[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25};
    static const uint8_t empty_int4[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23};
    assert_int_equal (params.lengths[0], 12);
    assert_memory_equal (params.values[0], empty_text, 12);
    assert_int_equal (params.lengths[1], 12);
    assert_memory_equal (params.values[1], empty_int4, 12);
    assert_int_equal (params.formats[1], 1);

    //  Rows added after an empty flush get a proper one-dimension header.
    kf_batch_str (batch, 0, "a");
    kf_batch_int (batch, 1, 5);
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    s_assert_header (&params, 0, 25, 1, 0);
    s_assert_header (&params, 1, 23, 1, 0);
    kf_batch_destroy (&batch);
}

static void
test_many_rows (void **state)
{
    (void) state;
    //  Enough rows to grow the buffers many times; every element is found
    //  where the format says.
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8};
    kf_batch_t *batch = kf_batch_new (2, types);
    const int rows = 20000;
    char value[32];
    size_t text_bytes = 0;
    for (int r = 0; r < rows; r++) {
        int n = snprintf (value, sizeof value, "行%d", r);
        kf_batch_text (batch, 0, value, (size_t) n);
        kf_batch_int (batch, 1, (int64_t) r * 1000003);
        text_bytes += 4 + (size_t) n;
    }
    assert_int_equal (kf_batch_rows (batch), rows);
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    s_assert_header (&params, 0, 25, (uint32_t) rows, 0);
    assert_int_equal (params.lengths[0], 20 + text_bytes);
    assert_int_equal (params.lengths[1], 20 + rows * 12);
    const uint8_t *p = (const uint8_t *) params.values[0] + 20;
    for (int r = 0; r < rows; r++) {
        int n = snprintf (value, sizeof value, "行%d", r);
        assert_int_equal (s_get32 (p), n);
        assert_memory_equal (p + 4, value, (size_t) n);
        p += 4 + n;
    }
    const uint8_t *q = (const uint8_t *) params.values[1] + 20 + (rows - 1) * 12;
    assert_int_equal (s_get32 (q), 8);
    uint64_t last = (uint64_t) s_get32 (q + 4) << 32 | s_get32 (q + 8);
    assert_int_equal (last, (uint64_t) (rows - 1) * 1000003);
    kf_batch_destroy (&batch);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_rows_and_reset), cmocka_unit_test (test_text_encoding),
        cmocka_unit_test (test_all_types),      cmocka_unit_test (test_empty_batch),
        cmocka_unit_test (test_many_rows),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
