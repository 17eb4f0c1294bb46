/*  test_routing_phrases — what a quick reply (快捷短语) may hold, and how its
    placeholders are filled in: one test per rule, and the usage example of
    routing_phrases. */
#include "routing_phrases.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

//  The reason routing_phrase_check gives for text, "" when it passes.
static const char *
s_check (const char *text, size_t len)
{
    static char why[256];
    why[0] = '\0';
    if (routing_phrase_check (text, len, why, sizeof why) == 0)
        return "";
    assert_true (why[0] != '\0');
    return why;
}

#define S_CHECK(text) s_check (text, strlen (text))

static void
test_a_shops_phrases_with_known_placeholders_pass (void **state)
{
    (void) state;
    assert_string_equal (S_CHECK ("亲 您好 我是{shop_name}客服{agent_name} 很高兴为您服务"), "");
    assert_string_equal (S_CHECK ("{customer_name}，订单{order_id}已发出\n请留意物流 😊"), "");
    //  Braces that are no placeholder are text.
    assert_string_equal (S_CHECK ("满{100}减10 {} { a } {"), "");
}

static void
test_an_unknown_placeholder_is_refused_by_name (void **state)
{
    (void) state;
    assert_non_null (
        strstr (S_CHECK ("亲 {agentname} 为您服务"), "unknown placeholder {agentname}"));
    assert_non_null (strstr (S_CHECK ("{order_id} {coupon_code}"), "{coupon_code}"));
}

static void
test_invalid_utf8_is_refused_with_where (void **state)
{
    (void) state;
    const char bad[] = "亲\xff您好";
    assert_non_null (strstr (s_check (bad, sizeof bad - 1), "not valid UTF-8 (at byte 3)"));
    const char cut[] = "亲\xe4\xbd";
    assert_non_null (strstr (s_check (cut, sizeof cut - 1), "UTF-8"));
}

static void
test_a_phrase_over_the_length_limit_is_refused (void **state)
{
    (void) state;
    char text[ROUTING_PHRASE_MAX + 2];
    memset (text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_non_null (strstr (S_CHECK (text), "501 bytes, over the limit of 500"));
    text[ROUTING_PHRASE_MAX] = '\0';
    assert_string_equal (S_CHECK (text), "");
}

static void
test_control_characters_blank_text_and_too_many_placeholders_are_refused (void **state)
{
    (void) state;
    assert_non_null (strstr (S_CHECK ("亲\t您好"), "control character (0x09)"));
    assert_non_null (strstr (s_check ("a\0b", 3), "control character (0x00)"));
    assert_string_equal (S_CHECK (" \n "), "empty");
    assert_string_equal (S_CHECK (""), "empty");
    assert_non_null (
        strstr (S_CHECK ("{order_id}{order_id}{order_id}{order_id}{order_id}"), "more than 4"));
}

static void
test_placeholders_are_filled_in_and_a_missing_value_fails (void **state)
{
    (void) state;
    routing_phrase_values_t v = {"小美", "测试旗舰店", "tb_buyer", NULL};
    char out[ROUTING_PHRASE_FILLED_MAX];
    assert_int_equal (
        routing_phrase_fill ("亲 我是{shop_name}客服{agent_name} {x} {", &v, out, sizeof out), 0);
    assert_string_equal (out, "亲 我是测试旗舰店客服小美 {x} {");
    assert_int_equal (routing_phrase_fill ("订单{order_id}", &v, out, sizeof out), -1);
    v.order_id = "";
    assert_int_equal (routing_phrase_fill ("订单{order_id}", &v, out, sizeof out), -1);
    v.order_id = "123";
    assert_int_equal (routing_phrase_fill ("订单{order_id}", &v, out, sizeof out), 0);
    assert_string_equal (out, "订单123");
    //  Too small a buffer fails instead of cutting.
    char small[8];
    assert_int_equal (routing_phrase_fill ("订单{order_id}", &v, small, sizeof small), -1);
}

static void
test_keys_are_the_greeting_and_the_intents (void **state)
{
    (void) state;
    assert_int_equal (routing_phrase_key ("greeting"), ROUTING_PHRASE_GREETING);
    assert_int_equal (routing_phrase_key ("urge_shipping"), 4);
    assert_int_equal (routing_phrase_key ("negative_review"), 9);
    assert_int_equal (routing_phrase_key ("unspecified"), -1);
    for (int k = 0; k < ROUTING_PHRASE_KEYS; k++)
        assert_int_equal (routing_phrase_key (routing_phrase_key_name (k)), k);
    assert_null (routing_phrase_key_name (ROUTING_PHRASE_KEYS));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_shops_phrases_with_known_placeholders_pass),
        cmocka_unit_test (test_an_unknown_placeholder_is_refused_by_name),
        cmocka_unit_test (test_invalid_utf8_is_refused_with_where),
        cmocka_unit_test (test_a_phrase_over_the_length_limit_is_refused),
        cmocka_unit_test (test_control_characters_blank_text_and_too_many_placeholders_are_refused),
        cmocka_unit_test (test_placeholders_are_filled_in_and_a_missing_value_fails),
        cmocka_unit_test (test_keys_are_the_greeting_and_the_intents),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
