/*  test_kf_valid — UTF-8, NUL, length, id, shop id, enum and timestamp checks.

    Everything that arrives from a gateway passes through kf_valid before it
    is stored, so each rejected class is named here with the exact bytes, and
    each accepted class (CJK, emoji, combining marks) too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kf_valid.h"

//  A bytes field over a literal (the length excludes the literal's NUL).
#define BIN(lit) ((ProtobufCBinaryData){sizeof (lit) - 1, (uint8_t *) (lit)})

//  Expect kf_valid_utf8 to reject `lit` at byte offset `at`.
#define ASSERT_BAD_UTF8(lit, at)                                                                   \
    do {                                                                                           \
        size_t bad_at_ = 9999;                                                                     \
        assert_int_equal (kf_valid_utf8 ((const uint8_t *) (lit), sizeof (lit) - 1, &bad_at_),     \
                          -1);                                                                     \
        assert_int_equal (bad_at_, (at));                                                          \
    } while (0)

#define ASSERT_GOOD_UTF8(lit)                                                                      \
    do {                                                                                           \
        size_t bad_at_ = 9999;                                                                     \
        assert_int_equal (kf_valid_utf8 ((const uint8_t *) (lit), sizeof (lit) - 1, &bad_at_), 0); \
    } while (0)

//  The error has `code` and its reason names `field`.
static void
s_assert_error (const kf_error_t *err, Kefu__V1__ErrorCode code, const char *field)
{
    assert_int_equal (err->code, code);
    assert_non_null (strstr (err->reason, field));
}

static void
test_utf8_overlong (void **state)
{
    (void) state;
    ASSERT_BAD_UTF8 ("\xC0\x80", 0);         //  NUL in two bytes
    ASSERT_BAD_UTF8 ("\xC1\xBF", 0);         //  U+007F in two bytes
    ASSERT_BAD_UTF8 ("\xE0\x80\x80", 0);     //  NUL in three bytes
    ASSERT_BAD_UTF8 ("\xE0\x9F\xBF", 0);     //  U+07FF in three bytes
    ASSERT_BAD_UTF8 ("\xF0\x80\x80\x80", 0); //  NUL in four bytes
    ASSERT_BAD_UTF8 ("\xF0\x8F\xBF\xBF", 0); //  U+FFFF in four bytes
    ASSERT_BAD_UTF8 ("ok\xC0\xAF", 2);       //  overlong '/' after ASCII
}

static void
test_utf8_surrogates (void **state)
{
    (void) state;
    ASSERT_BAD_UTF8 ("\xED\xA0\x80", 0);  //  U+D800
    ASSERT_BAD_UTF8 ("\xED\xBF\xBF", 0);  //  U+DFFF
    ASSERT_BAD_UTF8 ("a\xED\xB0\x80", 1); //  U+DC00 after ASCII
    //  CESU-8 style pair for U+1F600
    ASSERT_BAD_UTF8 ("\xED\xA0\xBD\xED\xB8\x80", 0);
    //  Just outside the surrogate range on both sides is fine.
    ASSERT_GOOD_UTF8 ("\xED\x9F\xBF"); //  U+D7FF
    ASSERT_GOOD_UTF8 ("\xEE\x80\x80"); //  U+E000
}

static void
test_utf8_truncated (void **state)
{
    (void) state;
    //  At the end of the input.
    ASSERT_BAD_UTF8 ("\xC3", 0);
    ASSERT_BAD_UTF8 ("abc\xE4\xBD", 3);
    ASSERT_BAD_UTF8 ("\xF0\x9F\x98", 0);
    ASSERT_BAD_UTF8 ("x\xF0", 1);
    //  In the middle: a lead byte followed by ASCII or another lead.
    ASSERT_BAD_UTF8 ("\xE4\xBD"
                     "abc",
                     0);
    ASSERT_BAD_UTF8 ("ab\xC3"
                     "c",
                     2);
    ASSERT_BAD_UTF8 ("\xF0\x9F\x98\xF0\x9F\x98\x80", 0);
    ASSERT_BAD_UTF8 ("\xE4\xBD\xA0\xE5\xA5", 3); //  你 then half of 好
}

static void
test_utf8_lone_continuation (void **state)
{
    (void) state;
    ASSERT_BAD_UTF8 ("\x80", 0);
    ASSERT_BAD_UTF8 ("\xBF", 0);
    ASSERT_BAD_UTF8 ("abc\x80", 3);
    ASSERT_BAD_UTF8 ("\xE4\xBD\xA0\xA0", 3); //  你 plus one continuation too many
}

static void
test_utf8_beyond_unicode (void **state)
{
    (void) state;
    ASSERT_BAD_UTF8 ("\xF4\x90\x80\x80", 0); //  U+110000
    ASSERT_BAD_UTF8 ("\xF5\x80\x80\x80", 0);
    ASSERT_BAD_UTF8 ("\xF7\xBF\xBF\xBF", 0);
    ASSERT_BAD_UTF8 ("\xF8\x88\x80\x80\x80", 0);
    ASSERT_BAD_UTF8 ("\xFC\x84\x80\x80\x80\x80", 0);
    ASSERT_BAD_UTF8 ("a\xFE", 1);
    ASSERT_BAD_UTF8 ("a\xFF", 1);
    //  Every lead byte F5..FF, alone and followed by continuations.
    for (int lead = 0xF5; lead <= 0xFF; lead++) {
        uint8_t buf[4] = {(uint8_t) lead, 0x80, 0x80, 0x80};
        size_t bad_at = 9999;
        assert_int_equal (kf_valid_utf8 (buf, sizeof buf, &bad_at), -1);
        assert_int_equal (bad_at, 0);
    }
}

static void
test_utf8_accepted (void **state)
{
    (void) state;
    ASSERT_GOOD_UTF8 ("");
    ASSERT_GOOD_UTF8 ("Hello, is the size M in stock?");
    ASSERT_GOOD_UTF8 ("亲，在吗？这件衣服有M码吗");
    ASSERT_GOOD_UTF8 ("\xF0\x9F\x98\x80"); //  😀 U+1F600
    ASSERT_GOOD_UTF8 ("好评👍🏻谢谢");
    ASSERT_GOOD_UTF8 ("e\xCC\x81");        //  e + U+0301 combining acute
    ASSERT_GOOD_UTF8 ("\xF4\x8F\xBF\xBF"); //  U+10FFFF, the last code point
    ASSERT_GOOD_UTF8 ("\xEF\xBF\xBD");     //  U+FFFD replacement character
    ASSERT_GOOD_UTF8 ("\xC2\x80");         //  U+0080, shortest two-byte
    ASSERT_GOOD_UTF8 ("\xE0\xA0\x80");     //  U+0800, shortest three-byte
    ASSERT_GOOD_UTF8 ("\xF0\x90\x80\x80"); //  U+10000, shortest four-byte
    ASSERT_GOOD_UTF8 ("\x7F");
    //  kf_valid_utf8 allows NUL; kf_valid_text is the one that refuses it.
    const uint8_t nul[] = {'a', 0, 'b'};
    assert_int_equal (kf_valid_utf8 (nul, sizeof nul, NULL), 0);
    //  bad_at may be NULL on failure too.
    assert_int_equal (kf_valid_utf8 ((const uint8_t *) "\xFF", 1, NULL), -1);
}

static void
test_text_errors (void **state)
{
    (void) state;
    kf_error_t err;

    kf_error_clear (&err);
    ProtobufCBinaryData v = BIN ("a\0b");
    assert_int_equal (kf_valid_text (&v, "body", 100, true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_CONTAINS_NUL, "body");
    assert_non_null (strstr (err.reason, "offset 1"));

    kf_error_clear (&err);
    v = BIN ("亲\xC0\x80");
    assert_int_equal (kf_valid_text (&v, "customer_name", 100, false, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8, "customer_name");
    assert_non_null (strstr (err.reason, "byte 3"));

    //  Required and empty, or absent.
    kf_error_clear (&err);
    v = BIN ("");
    assert_int_equal (kf_valid_text (&v, "body", 100, true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "body");
    kf_error_clear (&err);
    assert_int_equal (kf_valid_text (NULL, "order_id", 100, true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "order_id");
    //  Optional and empty is fine.
    kf_error_clear (&err);
    assert_int_equal (kf_valid_text (&v, "order_id", 100, false, &err), 0);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);
    assert_int_equal (kf_valid_text (NULL, "order_id", 100, false, &err), 0);
    //  err may be NULL.
    assert_int_equal (kf_valid_text (&v, "body", 100, true, NULL), -1);
}

static void
test_text_length_limit (void **state)
{
    (void) state;
    kf_error_t err;
    //  "亲，在吗" is 12 bytes (4 characters of 3 bytes): the limit counts bytes.
    ProtobufCBinaryData v = BIN ("亲，在吗");
    assert_int_equal (v.len, 12);
    kf_error_clear (&err);
    assert_int_equal (kf_valid_text (&v, "body", 12, true, &err), 0);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);
    assert_int_equal (kf_valid_text (&v, "body", 11, true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG, "body");
    assert_non_null (strstr (err.reason, "12"));
    assert_non_null (strstr (err.reason, "11"));

    //  A large body: exactly at 8 KiB passes, one byte more does not.
    uint8_t big[8193];
    memset (big, 'x', sizeof big);
    ProtobufCBinaryData b = {8192, big};
    kf_error_clear (&err);
    assert_int_equal (kf_valid_text (&b, "body", 8192, true, &err), 0);
    b.len = 8193;
    assert_int_equal (kf_valid_text (&b, "body", 8192, true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG, "body");
}

static void
test_id (void **state)
{
    (void) state;
    kf_error_t err;
    ProtobufCBinaryData v;

    v = BIN ("msg-0001");
    kf_error_clear (&err);
    assert_int_equal (kf_valid_id (&v, "gateway_msg_id", KF_ID_MAX, &err), 0);
    v = BIN ("买家小王");
    assert_int_equal (kf_valid_id (&v, "customer_id", KF_ID_MAX, &err), 0);
    v = BIN ("a b"); //  inner spaces are allowed
    assert_int_equal (kf_valid_id (&v, "customer_id", KF_ID_MAX, &err), 0);

    const char *bad_control[] = {"a\tb", "a\nb", "\rab", "ab\x1b", "a\x7f", "\x01"};
    for (size_t i = 0; i < sizeof bad_control / sizeof bad_control[0]; i++) {
        ProtobufCBinaryData c = {strlen (bad_control[i]), (uint8_t *) bad_control[i]};
        kf_error_clear (&err);
        assert_int_equal (kf_valid_id (&c, "agent_id", KF_ID_MAX, &err), -1);
        s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE, "agent_id");
    }
    const char *bad_space[] = {" a", "a ", " ", "  x  "};
    for (size_t i = 0; i < sizeof bad_space / sizeof bad_space[0]; i++) {
        ProtobufCBinaryData c = {strlen (bad_space[i]), (uint8_t *) bad_space[i]};
        kf_error_clear (&err);
        assert_int_equal (kf_valid_id (&c, "customer_id", KF_ID_MAX, &err), -1);
        s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE, "customer_id");
    }
    //  Required, and the text checks come first.
    v = BIN ("");
    kf_error_clear (&err);
    assert_int_equal (kf_valid_id (&v, "gateway_msg_id", KF_ID_MAX, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "gateway_msg_id");
    v = BIN ("id\0x");
    assert_int_equal (kf_valid_id (&v, "gateway_msg_id", KF_ID_MAX, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_CONTAINS_NUL, "gateway_msg_id");
    v = BIN ("id\xFF");
    assert_int_equal (kf_valid_id (&v, "gateway_msg_id", KF_ID_MAX, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8, "gateway_msg_id");

    //  Length: exactly KF_ID_MAX passes, one more does not.
    uint8_t id[KF_ID_MAX + 1];
    memset (id, 'k', sizeof id);
    ProtobufCBinaryData l = {KF_ID_MAX, id};
    assert_int_equal (kf_valid_id (&l, "gateway_msg_id", KF_ID_MAX, &err), 0);
    l.len = KF_ID_MAX + 1;
    assert_int_equal (kf_valid_id (&l, "gateway_msg_id", KF_ID_MAX, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG, "gateway_msg_id");
}

static void
test_name (void **state)
{
    (void) state;
    assert_true (kf_valid_name ("intake", 31, ""));
    assert_true (kf_valid_name ("routing_2", 31, ""));
    assert_true (kf_valid_name ("test-metrics.a", 63, ".-"));
    assert_true (kf_valid_name ("abcdefghijklmnopqrstuvwxyz01234", 31, "")); //  31 bytes
    assert_false (kf_valid_name ("abcdefghijklmnopqrstuvwxyz012345", 31, ""));
    assert_false (kf_valid_name ("", 31, ""));
    assert_false (kf_valid_name (NULL, 31, ""));
    assert_false (kf_valid_name ("Intake", 31, ""));
    assert_false (kf_valid_name ("1intake", 31, ""));
    assert_false (kf_valid_name ("_intake", 31, ""));
    assert_false (kf_valid_name ("in-take", 31, ""));
    assert_false (kf_valid_name ("in take", 63, ".-"));
    assert_false (kf_valid_name ("in'take", 63, ".-"));
}

static void
test_shop_id (void **state)
{
    (void) state;
    kf_error_t err;
    const char *good[] = {"tmall-hzfs", "a", "0shop", "jd_1.flagship", "z9-_."};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        kf_error_clear (&err);
        assert_int_equal (kf_valid_shop_id (good[i], strlen (good[i]), &err), 0);
        assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);
    }
    const char *bad[] = {"Tmall",  "-shop", "_shop", ".shop", "shop id",
                         "shop/x", "店铺",  "shop'", "a;b",   "A"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kf_error_clear (&err);
        assert_int_equal (kf_valid_shop_id (bad[i], strlen (bad[i]), &err), -1);
        s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP, "shop_id");
    }
    //  A NUL inside the given length is a bad character, not an end.
    kf_error_clear (&err);
    assert_int_equal (kf_valid_shop_id ("ab\0c", 4, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP, "shop_id");

    kf_error_clear (&err);
    assert_int_equal (kf_valid_shop_id ("", 0, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "shop_id");

    char id[KF_SHOP_ID_MAX + 2];
    memset (id, 'a', sizeof id);
    kf_error_clear (&err);
    assert_int_equal (kf_valid_shop_id (id, KF_SHOP_ID_MAX, &err), 0);
    assert_int_equal (kf_valid_shop_id (id, KF_SHOP_ID_MAX + 1, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG, "shop_id");
}

//  Agent ids: one rule for intake, routing and kefuctl (the agents table's).
static void
test_agent_ids_follow_the_agents_table_rule (void **state)
{
    (void) state;
    kf_error_t err;
    const char *good[] = {"xiaomei", "A", "0", "li.na@tmall", "a_b-c.d@e"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        kf_error_clear (&err);
        assert_int_equal (kf_valid_agent_id (good[i], strlen (good[i]), "agent_id", &err), 0);
        assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);
    }
    const char *bad[] = {"小美", "-a", "_a", "@a", "a b", "a:b", "a/b", "a'", "a\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kf_error_clear (&err);
        assert_int_equal (kf_valid_agent_id (bad[i], strlen (bad[i]), "agent_id", &err), -1);
        s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE, "agent_id");
    }
    kf_error_clear (&err);
    assert_int_equal (kf_valid_agent_id ("", 0, "to_agent_id", &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "to_agent_id");
    char id[KF_ID_MAX + 1];
    memset (id, 'a', sizeof id);
    kf_error_clear (&err);
    assert_int_equal (kf_valid_agent_id (id, KF_ID_MAX, "agent_id", &err), 0);
    assert_int_equal (kf_valid_agent_id (id, KF_ID_MAX + 1, "agent_id", &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG, "agent_id");
}

static void
test_enum (void **state)
{
    (void) state;
    kf_error_t err;
    const ProtobufCEnumDescriptor *ch = &kefu__v1__channel__descriptor;

    kf_error_clear (&err);
    assert_int_equal (kf_valid_enum (ch, KEFU__V1__CHANNEL__CHANNEL_WECHAT, "channel", false, &err),
                      0);
    assert_int_equal (kf_valid_enum (ch, KEFU__V1__CHANNEL__CHANNEL_PHONE, "channel", false, &err),
                      0);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);

    //  0 (UNSPECIFIED): missing unless allowed.
    assert_int_equal (kf_valid_enum (ch, 0, "channel", false, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "channel");
    kf_error_clear (&err);
    assert_int_equal (kf_valid_enum (ch, 0, "channel", true, &err), 0);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);

    //  Values the descriptor does not know, including negative ones and
    //  the first value past the end.
    const int unknown[] = {99, 6, -1, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        kf_error_clear (&err);
        assert_int_equal (kf_valid_enum (ch, unknown[i], "channel", true, &err), -1);
        s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM, "channel");
    }
    assert_non_null (strstr (err.reason, "2147483647"));

    //  Another enum: agent status 1..4.
    const ProtobufCEnumDescriptor *st = &kefu__v1__agent_status__descriptor;
    assert_int_equal (kf_valid_enum (st, 4, "status", false, &err), 0);
    assert_int_equal (kf_valid_enum (st, 5, "status", false, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM, "status");
}

static void
test_timestamp (void **state)
{
    (void) state;
    kf_error_t err;
    const int64_t now = 1795422600000; //  2026-11-23T08:30:00Z
    const int64_t past = 7 * 86400000LL, future = 5 * 60000LL;

    kf_error_clear (&err);
    assert_int_equal (kf_valid_timestamp (now, now, past, future, "sent_at_ms", true, &err), 0);
    //  Window edges: exactly inside passes, one millisecond outside fails.
    assert_int_equal (kf_valid_timestamp (now - past, now, past, future, "sent_at_ms", true, &err),
                      0);
    assert_int_equal (
        kf_valid_timestamp (now + future, now, past, future, "sent_at_ms", true, &err), 0);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);

    assert_int_equal (
        kf_valid_timestamp (now - past - 1, now, past, future, "sent_at_ms", true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW, "sent_at_ms");
    assert_non_null (strstr (err.reason, "past"));
    kf_error_clear (&err);
    assert_int_equal (
        kf_valid_timestamp (now + future + 1, now, past, future, "sent_at_ms", true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW, "sent_at_ms");
    assert_non_null (strstr (err.reason, "future"));

    //  Extremes must not overflow into the window (UBSan checks the arithmetic).
    kf_error_clear (&err);
    assert_int_equal (kf_valid_timestamp (INT64_MIN, now, past, future, "sent_at_ms", true, &err),
                      -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW, "sent_at_ms");
    kf_error_clear (&err);
    assert_int_equal (kf_valid_timestamp (INT64_MAX, now, past, future, "sent_at_ms", true, &err),
                      -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW, "sent_at_ms");
    kf_error_clear (&err);
    assert_int_equal (kf_valid_timestamp (INT64_MIN, INT64_MAX, past, future, "t", true, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW);
    kf_error_clear (&err);
    assert_int_equal (kf_valid_timestamp (INT64_MAX, INT64_MIN, past, future, "t", true, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW);
    //  The largest distances a window can express are still inside it, and
    //  one more is not (the distance INT64_MIN..INT64_MAX is 2^64 - 1).
    assert_int_equal (kf_valid_timestamp (INT64_MIN + 1, 0, INT64_MAX, 0, "t", true, &err), 0);
    assert_int_equal (kf_valid_timestamp (INT64_MAX, 0, 0, INT64_MAX, "t", true, &err), 0);
    assert_int_equal (kf_valid_timestamp (INT64_MIN, 0, INT64_MAX, 0, "t", true, &err), -1);
    assert_int_equal (kf_valid_timestamp (INT64_MAX, -1, 0, INT64_MAX, "t", true, &err), -1);
    assert_int_equal (
        kf_valid_timestamp (INT64_MIN, INT64_MAX, INT64_MAX, INT64_MAX, "t", true, &err), -1);
    assert_int_equal (kf_valid_timestamp (-1, now, INT64_MAX, 0, "t", true, &err), 0);

    //  0 is "missing" when required, fine otherwise.
    kf_error_clear (&err);
    assert_int_equal (kf_valid_timestamp (0, now, past, future, "sent_at_ms", true, &err), -1);
    s_assert_error (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "sent_at_ms");
    kf_error_clear (&err);
    assert_int_equal (kf_valid_timestamp (0, now, past, future, "sent_at_ms", false, &err), 0);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);
}

static void
test_strdup (void **state)
{
    (void) state;
    ProtobufCBinaryData v = BIN ("亲，在吗");
    char *s = kf_valid_strdup (&v);
    assert_non_null (s);
    assert_string_equal (s, "亲，在吗");
    free (s);
    s = kf_valid_strdup (NULL);
    assert_non_null (s);
    assert_string_equal (s, "");
    free (s);
    ProtobufCBinaryData empty = {0, NULL};
    s = kf_valid_strdup (&empty);
    assert_string_equal (s, "");
    free (s);
}

static void
test_error_names (void **state)
{
    (void) state;
    //  The short names follow the proto enum order.
    assert_string_equal (kf_error_code_name (KEFU__V1__ERROR_CODE__ERROR_NONE), "none");
    assert_string_equal (kf_error_code_name (KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8),
                         "invalid_utf8");
    assert_string_equal (kf_error_code_name (KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW),
                         "timestamp_out_of_window");
    assert_string_equal (kf_error_code_name (KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE),
                         "store_unavailable");
    assert_string_equal (kf_error_code_name (KEFU__V1__ERROR_CODE__ERROR_INTERNAL), "internal");
    assert_string_equal (kf_error_code_name (KEFU__V1__ERROR_CODE__ERROR_LIMIT_EXCEEDED),
                         "limit_exceeded");
    assert_string_equal (kf_error_code_name (-1), "unknown");
    assert_string_equal (kf_error_code_name (1000), "unknown");
    //  Every code the descriptor knows has a name other than "unknown".
    const ProtobufCEnumDescriptor *d = &kefu__v1__error_code__descriptor;
    for (unsigned i = 0; i < d->n_values; i++)
        assert_string_not_equal (kf_error_code_name (d->values[i].value), "unknown");
    assert_true (kf_error_is_retryable (KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE));
    assert_true (kf_error_is_retryable (KEFU__V1__ERROR_CODE__ERROR_OVERLOADED));
    assert_false (kf_error_is_retryable (KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8));
    assert_false (kf_error_is_retryable (KEFU__V1__ERROR_CODE__ERROR_INTERNAL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_utf8_overlong),
        cmocka_unit_test (test_utf8_surrogates),
        cmocka_unit_test (test_utf8_truncated),
        cmocka_unit_test (test_utf8_lone_continuation),
        cmocka_unit_test (test_utf8_beyond_unicode),
        cmocka_unit_test (test_utf8_accepted),
        cmocka_unit_test (test_text_errors),
        cmocka_unit_test (test_text_length_limit),
        cmocka_unit_test (test_id),
        cmocka_unit_test (test_shop_id),
        cmocka_unit_test (test_agent_ids_follow_the_agents_table_rule),
        cmocka_unit_test (test_enum),
        cmocka_unit_test (test_name),
        cmocka_unit_test (test_timestamp),
        cmocka_unit_test (test_strdup),
        cmocka_unit_test (test_error_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
