/*  test_intake_classify — intents, priorities and forbidden phrases from the
    shipped dictionary, and the loader's answer to broken dictionaries.

    The messages below are what Taobao/Tmall customers actually type; each
    intent has Chinese and English cases, English in mixed case. Bad
    dictionaries are written to a private temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intake_classify.h"

#define INTENT(x)   KEFU__V1__INTENT__INTENT_##x
#define PRIORITY(x) KEFU__V1__PRIORITY__PRIORITY_##x

//  The dictionary shipped in deploy/dictionaries, loaded once for the group.
static int
s_setup (void **state)
{
    char path[PATH_MAX], why[256];
    const char *source = getenv ("KEFU_SOURCE_DIR"); //  set by ctest
    if (source && *source)
        snprintf (path, sizeof path, "%s/deploy/dictionaries/intents.json", source);
    else if (!intake_classify_default_path (path, sizeof path))
        return -1;
    intake_classify_t *dict = intake_classify_load (path, why, sizeof why);
    if (!dict)
        fprintf (stderr, "cannot load %s: %s\n", path, why);
    *state = dict;
    return dict ? 0 : -1;
}

static int
s_teardown (void **state)
{
    intake_classify_t *dict = *state;
    intake_classify_destroy (&dict);
    assert_null (dict);
    intake_classify_destroy (&dict); //  idempotent
    return 0;
}

//  Classify a NUL-terminated message and check intent and priority.
static void
s_expect (const intake_classify_t *dict, const char *text, Kefu__V1__Intent intent,
          Kefu__V1__Priority priority)
{
    Kefu__V1__Intent got_intent = INTENT (UNSPECIFIED);
    Kefu__V1__Priority got_priority = PRIORITY (UNSPECIFIED);
    intake_classify_message (dict, text, strlen (text), &got_intent, &got_priority);
    if (got_intent != intent || got_priority != priority)
        fail_msg ("'%s': intent %d priority %d, expected %d and %d", text, got_intent, got_priority,
                  intent, priority);
}

static void
test_presales (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "在吗？这款还有货吗", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "身高165体重110斤穿多大码", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "这个面料会起球吗", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "洗了会掉色吗", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "亲，你们默认发什么快递", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "Is this in STOCK?", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "What Size should I get for 175cm?", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "Is it Genuine leather?", INTENT (PRESALES), PRIORITY (NORMAL));
}

static void
test_bargaining (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "能便宜点吗", INTENT (BARGAINING), PRIORITY (NORMAL));
    s_expect (dict, "有没有优惠券可以领", INTENT (BARGAINING), PRIORITY (NORMAL));
    s_expect (dict, "两件包邮吗", INTENT (BARGAINING), PRIORITY (NORMAL));
    s_expect (dict, "老顾客了，抹个零呗", INTENT (BARGAINING), PRIORITY (NORMAL));
    s_expect (dict, "Any DISCOUNT if I buy two?", INTENT (BARGAINING), PRIORITY (NORMAL));
    s_expect (dict, "Do you have a Coupon", INTENT (BARGAINING), PRIORITY (NORMAL));
    s_expect (dict, "can you make it cheaper", INTENT (BARGAINING), PRIORITY (NORMAL));
}

static void
test_urge_shipping (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "拍了三天了怎么还没发", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "今天能发吗？急用", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "麻烦快点发货", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "什么时候发货啊", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "When will you SHIP my order?", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "It has Not Shipped after 5 days", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "please Hurry Up", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
}

static void
test_delivery_time (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "发到北京几天到", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
    s_expect (dict, "下单后多久能收到", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
    s_expect (dict, "明天能到吗", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
    s_expect (dict, "广州什么时候能到", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
    s_expect (dict, "When will it ARRIVE in Shanghai?", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
    s_expect (dict, "How Many Days to Chengdu", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
    s_expect (dict, "how long will it take", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
}

static void
test_logistics (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "我的快递到哪了", INTENT (LOGISTICS), PRIORITY (HIGH));
    s_expect (dict, "物流三天没更新了", INTENT (LOGISTICS), PRIORITY (HIGH));
    s_expect (dict, "显示签收了但是我没收到", INTENT (LOGISTICS), PRIORITY (HIGH));
    s_expect (dict, "麻烦给个快递单号", INTENT (LOGISTICS), PRIORITY (HIGH));
    s_expect (dict, "Where is my PACKAGE?", INTENT (LOGISTICS), PRIORITY (HIGH));
    s_expect (dict, "the Tracking number does not work", INTENT (LOGISTICS), PRIORITY (HIGH));
    s_expect (dict, "I haven't Received anything", INTENT (LOGISTICS), PRIORITY (HIGH));
}

static void
test_return_refund (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "我要退货", INTENT (RETURN_REFUND), PRIORITY (HIGH));
    s_expect (dict, "太小了，能换大一码吗", INTENT (RETURN_REFUND), PRIORITY (HIGH));
    s_expect (dict, "退款什么时候到账", INTENT (RETURN_REFUND), PRIORITY (HIGH));
    s_expect (dict, "收到的杯子是坏的", INTENT (RETURN_REFUND), PRIORITY (HIGH));
    s_expect (dict, "I want a REFUND", INTENT (RETURN_REFUND), PRIORITY (HIGH));
    s_expect (dict, "Can I Exchange it for a bigger one", INTENT (RETURN_REFUND), PRIORITY (HIGH));
    s_expect (dict, "the item arrived Damaged", INTENT (RETURN_REFUND), PRIORITY (HIGH));
}

static void
test_complaint (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "我要投诉你们", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "再不处理我就打12315", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "找你们领导来跟我说", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "你们这是卖假货，我去消协", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "I will COMPLAIN to the platform", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "this shop is a Scam", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "let me talk to your Manager", INTENT (COMPLAINT), PRIORITY (URGENT));
}

static void
test_negative_review (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "不处理就给差评", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
    s_expect (dict, "我要打一星", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
    s_expect (dict, "给个中评算了", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
    s_expect (dict, "这种质量不会给好评的", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
    s_expect (dict, "I'll leave a BAD REVIEW", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
    s_expect (dict, "One Star, nothing more", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
    s_expect (dict, "giving you a 1-star rating", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
}

//  The first intent in the file's order wins, wherever its keyword sits.
static void
test_precedence (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "我要投诉，退款", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "退款！不然投诉", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "不给退款就差评", INTENT (NEGATIVE_REVIEW), PRIORITY (URGENT));
    s_expect (dict, "I want a refund or I complain", INTENT (COMPLAINT), PRIORITY (URGENT));
    s_expect (dict, "还没收到退款", INTENT (RETURN_REFUND), PRIORITY (HIGH));
    s_expect (dict, "还没发货，物流信息都没有", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "在吗，快递到哪了", INTENT (LOGISTICS), PRIORITY (HIGH));
    s_expect (dict, "发什么快递，几天到", INTENT (DELIVERY_TIME), PRIORITY (NORMAL));
    //  A near-miss: a week (一星期) is not a star (一星).
    s_expect (dict, "等了一星期了", INTENT (OTHER), PRIORITY (NORMAL));
    //  More keywords left out on purpose (deploy/dictionaries/README.md).
    s_expect (dict, "订单号是2315789012345678901", INTENT (OTHER), PRIORITY (NORMAL));
    s_expect (dict, "工商银行卡能付款吗", INTENT (OTHER), PRIORITY (NORMAL));
    s_expect (dict, "急坏了，怎么还没发", INTENT (URGE_SHIPPING), PRIORITY (HIGH));
    s_expect (dict, "实物有色差吗", INTENT (PRESALES), PRIORITY (NORMAL));
    s_expect (dict, "Free Shipping to Hangzhou?", INTENT (BARGAINING), PRIORITY (NORMAL));
    //  Negation is out of scope: this still mentions a refund.
    s_expect (dict, "不退款了，谢谢", INTENT (RETURN_REFUND), PRIORITY (HIGH));
}

static void
test_other (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect (dict, "谢谢", INTENT (OTHER), PRIORITY (NORMAL));
    s_expect (dict, "好的", INTENT (OTHER), PRIORITY (NORMAL));
    s_expect (dict, "嗯嗯[微笑]", INTENT (OTHER), PRIORITY (NORMAL));
    s_expect (dict, "OK thanks!", INTENT (OTHER), PRIORITY (NORMAL));
    s_expect (dict, "", INTENT (OTHER), PRIORITY (NORMAL));
    Kefu__V1__Intent intent;
    Kefu__V1__Priority priority;
    intake_classify_message (dict, NULL, 0, &intent, &priority);
    assert_int_equal (intent, INTENT (OTHER));
    assert_true (intake_classify_keyword_count (dict) > 200);
    assert_true (intake_classify_phrase_count (dict) >= 6);
}

//  QA: an agent's reply with flags, n of them expected, in the file's order.
static void
s_expect_flags (const intake_classify_t *dict, const char *reply, int max, int n, ...)
{
    const char *flags[16] = {NULL};
    assert_true (max <= 16);
    int got = intake_classify_qa (dict, reply, strlen (reply), flags, max);
    if (got != n)
        fail_msg ("'%s': %d flags, expected %d", reply, got, n);
    va_list args;
    va_start (args, n);
    for (int i = 0; i < n; i++)
        assert_string_equal (flags[i], va_arg (args, const char *));
    va_end (args);
    if (n < max)
        assert_null (flags[n]); //  nothing written past the count
}

static void
test_qa_flags (void **state)
{
    const intake_classify_t *dict = *state;
    s_expect_flags (dict, "这个不可以的亲", 8, 1, "bu_ke_yi");
    s_expect_flags (dict, "我也没办法", 8, 1, "mei_ban_fa");
    s_expect_flags (dict, "这不是我们的问题，你去问快递", 8, 1, "bu_shi_wo_men_de_wen_ti");
    s_expect_flags (dict, "That is NOT MY PROBLEM", 8, 1, "not_my_problem");
    //  Several at once, in the file's order, each once however often it occurs.
    s_expect_flags (dict, "不知道，你自己看详情页，爱买不买，不知道", 8, 3, "bu_zhi_dao",
                    "ni_zi_ji_kan", "ai_mai_bu_mai");
    s_expect_flags (dict, "没办法，这是规定，不可以退", 8, 3, "bu_ke_yi", "mei_ban_fa",
                    "zhe_shi_gui_ding");
    //  A polite reply has none.
    s_expect_flags (dict, "亲，非常抱歉给您带来不便，已经为您登记补发，今天下午就安排发出哦～", 8,
                    0);
    s_expect_flags (dict, "Sorry for the trouble, we will send a replacement today.", 8, 0);
    //  max is respected: the first ones in the file's order are kept.
    s_expect_flags (dict, "不知道，你自己看详情页，爱买不买", 2, 2, "bu_zhi_dao", "ni_zi_ji_kan");
    s_expect_flags (dict, "不知道，你自己看详情页，爱买不买", 1, 1, "bu_zhi_dao");
    assert_int_equal (intake_classify_qa (dict, "不可以", strlen ("不可以"), NULL, 0), 0);
    assert_int_equal (intake_classify_qa (dict, NULL, 0, NULL, 0), 0);
}

//  len is the length; bytes after it are never read. The heap copy has no
//  NUL and no slack, so ASan catches any read past len.
static void
test_not_nul_terminated (void **state)
{
    const intake_classify_t *dict = *state;
    const char text[] = "好的退款不可以";
    size_t ok_len = strlen ("好的");
    char *body = malloc (ok_len);
    assert_non_null (body);
    memcpy (body, text, ok_len);
    Kefu__V1__Intent intent;
    Kefu__V1__Priority priority;
    intake_classify_message (dict, body, ok_len, &intent, &priority);
    assert_int_equal (intent, INTENT (OTHER));
    const char *flags[4];
    assert_int_equal (intake_classify_qa (dict, body, ok_len, flags, 4), 0);
    free (body);

    //  The keyword straddles len: the first two bytes of 退 are not enough.
    intake_classify_message (dict, text, ok_len + 2, &intent, &priority);
    assert_int_equal (intent, INTENT (OTHER));
    intake_classify_message (dict, text, strlen ("好的退款"), &intent, &priority);
    assert_int_equal (intent, INTENT (RETURN_REFUND));
    assert_int_equal (intake_classify_qa (dict, text, strlen (text) - 1, flags, 4), 0);
    assert_int_equal (intake_classify_qa (dict, text, strlen (text), flags, 4), 1);
}

//  Exactly 8 KiB and 64 KiB, with the keyword in the last bytes (found) or
//  nowhere (OTHER); the buffers are exact-size heap blocks.
static void
test_large_bodies (void **state)
{
    const intake_classify_t *dict = *state;
    const size_t sizes[] = {8 * 1024, 64 * 1024};
    const char *tail = "投诉"; //  6 bytes
    for (size_t i = 0; i < 2; i++) {
        size_t size = sizes[i];
        char *body = malloc (size);
        assert_non_null (body);
        for (size_t k = 0; k < size; k++)
            body[k] = "aB3 ,."[k % 6];
        Kefu__V1__Intent intent;
        Kefu__V1__Priority priority;
        intake_classify_message (dict, body, size, &intent, &priority);
        assert_int_equal (intent, INTENT (OTHER));
        memcpy (body + size - strlen (tail), tail, strlen (tail));
        intake_classify_message (dict, body, size, &intent, &priority);
        assert_int_equal (intent, INTENT (COMPLAINT));
        memcpy (body + size - strlen ("没办法"), "没办法", strlen ("没办法"));
        const char *flags[2];
        assert_int_equal (intake_classify_qa (dict, body, size, flags, 2), 1);
        assert_string_equal (flags[0], "mei_ban_fa");
        free (body);
    }
}

//  ---------------------------------------------------------------------------
//  Dictionaries written for the test

typedef struct {
    char dir[64];        //  private temporary directory
    char path[PATH_MAX]; //  the file inside it
} s_tmp_t;

static void
s_write (s_tmp_t *tmp, const char *content)
{
    FILE *file = fopen (tmp->path, "wb");
    assert_non_null (file);
    assert_int_equal (fwrite (content, 1, strlen (content), file), strlen (content));
    assert_int_equal (fclose (file), 0);
}

//  Loading content fails and the reason contains `expect`.
static void
s_expect_bad (s_tmp_t *tmp, const char *content, const char *expect)
{
    s_write (tmp, content);
    char why[256] = "";
    intake_classify_t *dict = intake_classify_load (tmp->path, why, sizeof why);
    if (dict) {
        intake_classify_destroy (&dict);
        fail_msg ("loaded, expected failure '%s' for: %s", expect, content);
    }
    if (!strstr (why, expect))
        fail_msg ("reason '%s', expected '%s'", why, expect);
    assert_null (strchr (why, '\n'));
    assert_null (strchr (why, '"'));
}

static int
s_tmp_setup (void **state)
{
    s_tmp_t *tmp = calloc (1, sizeof *tmp);
    if (!tmp)
        return -1;
    snprintf (tmp->dir, sizeof tmp->dir, "/tmp/kefu-classify-XXXXXX");
    if (!mkdtemp (tmp->dir)) {
        free (tmp);
        return -1;
    }
    snprintf (tmp->path, sizeof tmp->path, "%s/intents.json", tmp->dir);
    *state = tmp;
    return 0;
}

static int
s_tmp_teardown (void **state)
{
    s_tmp_t *tmp = *state;
    unlink (tmp->path);
    rmdir (tmp->dir);
    free (tmp);
    return 0;
}

#define INTENTS(list) "{\"intents\": [" list "]}"
#define REFUND(keywords)                                                                           \
    INTENTS ("{\"intent\": \"return_refund\", \"priority\": \"high\", \"keywords\": [" keywords    \
             "]}")

static void
test_bad_dictionaries (void **state)
{
    s_tmp_t *tmp = *state;
    char why[256];
    assert_null (intake_classify_load ("/nonexistent/intents.json", why, sizeof why));
    assert_non_null (strstr (why, "No such file"));
    assert_null (intake_classify_load (NULL, why, sizeof why));
    assert_null (intake_classify_load (tmp->path, NULL, 0)); //  no file yet, no reason wanted

    s_expect_bad (tmp, "{\"intents\": [", "invalid JSON at line 1");
    s_expect_bad (tmp, "", "invalid JSON");
    s_expect_bad (tmp, "[]", "top level");
    s_expect_bad (tmp, "{}", "'intents' is missing");
    s_expect_bad (tmp, "{\"intents\": [], \"intnets\": []}", "unknown key 'intnets'");
    s_expect_bad (tmp, "{\"intents\": [], \"intents\": []}", "duplicate");
    s_expect_bad (tmp,
                  INTENTS ("{\"intent\": \"refunds\", \"priority\": \"high\", \"keywords\": []}"),
                  "unknown intent 'refunds'");
    s_expect_bad (tmp, INTENTS ("{\"intent\": \"other\", \"priority\": \"low\", \"keywords\": []}"),
                  "'other'");
    s_expect_bad (
        tmp, INTENTS ("{\"intent\": \"complaint\", \"priority\": \"critical\", \"keywords\": []}"),
        "unknown priority 'critical'");
    s_expect_bad (tmp, "{\"default_priority\": \"meh\", \"intents\": []}",
                  "unknown priority 'meh'");
    s_expect_bad (tmp, REFUND ("\"退款\", \"\""), "intent 'return_refund': keyword 2 is empty");
    s_expect_bad (tmp, REFUND ("\"退款\", 7"), "keyword 2 is missing or not a string");
    s_expect_bad (tmp, REFUND ("\"退\xff\xfe款\""), "not valid UTF-8 at line 1");
    s_expect_bad (tmp, REFUND ("\"退\xe6\xac\""), "not valid UTF-8");
    s_expect_bad (tmp, REFUND ("\"\\ud800\""), "invalid JSON"); //  lone surrogate escape
    s_expect_bad (tmp, REFUND ("\"退款 \""), "starts or ends with a space");
    s_expect_bad (tmp, REFUND ("\"a\\tb\""), "control character");
    s_expect_bad (tmp, REFUND ("\"退款\", \"Refund\", \"REFUND\""),
                  "keyword 'REFUND' is listed twice (under return_refund and return_refund)");
    s_expect_bad (tmp,
                  INTENTS ("{\"intent\": \"complaint\", \"priority\": \"urgent\", \"keywords\": "
                           "[\"投诉\"]}, {\"intent\": \"logistics\", \"priority\": \"high\", "
                           "\"keywords\": [\"物流\", \"投诉\"]}"),
                  "listed twice (under complaint and logistics)");
    s_expect_bad (tmp,
                  INTENTS ("{\"intent\": \"complaint\", \"priority\": \"urgent\", \"keywords\": "
                           "[]}, {\"intent\": \"complaint\", \"priority\": \"high\", "
                           "\"keywords\": []}"),
                  "appears twice");
    s_expect_bad (
        tmp,
        "{\"intents\": [], \"forbidden_phrases\": [{\"id\": \"Bu Ke Yi\", \"text\": \"不可以\"}]}",
        "'id' must be");
    s_expect_bad (
        tmp,
        "{\"intents\": [], \"forbidden_phrases\": [{\"id\": \"a\", \"text\": \"不可以\"}, "
        "{\"id\": \"a\", \"text\": \"没办法\"}]}",
        "id 'a' appears twice");
    s_expect_bad (tmp,
                  "{\"intents\": [], \"forbidden_phrases\": [{\"id\": \"a\", \"text\": \"\"}]}",
                  "text is empty");

    //  Too many: 2049 distinct keywords.
    size_t size = 64 + 2049 * 8;
    char *big = malloc (size);
    assert_non_null (big);
    size_t at = (size_t) snprintf (big, size,
                                   "{\"intents\": [{\"intent\": \"presales\", "
                                   "\"priority\": \"normal\", \"keywords\": [");
    for (int i = 0; i < 2049; i++)
        at += (size_t) snprintf (big + at, size - at, "%s\"k%d\"", i ? "," : "", i);
    snprintf (big + at, size - at, "]}]}");
    s_expect_bad (tmp, big, "too many keywords");
    free (big);
}

//  A small dictionary of our own: default priority, notes, no phrases.
static void
test_custom_dictionary (void **state)
{
    s_tmp_t *tmp = *state;
    s_write (tmp, "{\"_note\": \"test\", \"default_priority\": \"low\", \"intents\": ["
                  "{\"intent\": \"logistics\", \"priority\": \"urgent\", \"keywords\": [\"快递\", "
                  "\"Where Is\"], \"_why\": \"bare 快递 on purpose\"},"
                  "{\"intent\": \"presales\", \"priority\": \"normal\", \"keywords\": [\"发什么\"]}"
                  "]}");
    char why[256];
    intake_classify_t *dict = intake_classify_load (tmp->path, why, sizeof why);
    if (!dict)
        fail_msg ("%s", why);
    assert_int_equal (intake_classify_keyword_count (dict), 3);
    assert_int_equal (intake_classify_phrase_count (dict), 0);
    s_expect (dict, "你好", INTENT (OTHER), PRIORITY (LOW));
    s_expect (dict, "发什么快递", INTENT (LOGISTICS), PRIORITY (URGENT)); //  file order wins
    s_expect (dict, "WHERE IS it", INTENT (LOGISTICS), PRIORITY (URGENT));
    s_expect (dict, "发什么", INTENT (PRESALES), PRIORITY (NORMAL));
    const char *flags[1];
    assert_int_equal (intake_classify_qa (dict, "不可以", strlen ("不可以"), flags, 1), 0);
    intake_classify_destroy (&dict);

    //  Suffix matches inside other keywords: "he" ends inside "she", "hers".
    s_write (tmp, "{\"intents\": [], \"forbidden_phrases\": [{\"id\": \"he\", \"text\": \"he\"},"
                  "{\"id\": \"she\", \"text\": \"she\"}, {\"id\": \"his\", \"text\": \"his\"},"
                  "{\"id\": \"hers\", \"text\": \"hers\"}]}");
    dict = intake_classify_load (tmp->path, why, sizeof why);
    if (!dict)
        fail_msg ("%s", why);
    const char *four[4];
    assert_int_equal (intake_classify_qa (dict, "uSHErs", 6, four, 4), 3);
    assert_string_equal (four[0], "he");
    assert_string_equal (four[1], "she");
    assert_string_equal (four[2], "hers");
    s_expect (dict, "she", INTENT (OTHER), PRIORITY (NORMAL));
    intake_classify_destroy (&dict);
}

static void
test_default_path (void **state)
{
    (void) state;
    char buf[PATH_MAX];
    setenv ("KEFU_INTAKE_DICTIONARY", "/etc/kefu/shop-42.json", 1);
    assert_ptr_equal (intake_classify_default_path (buf, sizeof buf), buf);
    assert_string_equal (buf, "/etc/kefu/shop-42.json");
    char small[8];
    assert_null (intake_classify_default_path (small, sizeof small)); //  does not fit
    assert_string_equal (small, "");

    //  Empty counts as unset: the installed file, else the source tree's.
    setenv ("KEFU_INTAKE_DICTIONARY", "", 1);
    assert_non_null (intake_classify_default_path (buf, sizeof buf));
    const char *suffix = "/dictionaries/intents.json";
    assert_string_equal (buf + strlen (buf) - strlen (suffix), suffix);
    unsetenv ("KEFU_INTAKE_DICTIONARY");
    char again[PATH_MAX];
    assert_non_null (intake_classify_default_path (again, sizeof again));
    assert_string_equal (again, buf);
}

int
main (void)
{
    const struct CMUnitTest shipped[] = {
        cmocka_unit_test (test_presales),      cmocka_unit_test (test_bargaining),
        cmocka_unit_test (test_urge_shipping), cmocka_unit_test (test_delivery_time),
        cmocka_unit_test (test_logistics),     cmocka_unit_test (test_return_refund),
        cmocka_unit_test (test_complaint),     cmocka_unit_test (test_negative_review),
        cmocka_unit_test (test_precedence),    cmocka_unit_test (test_other),
        cmocka_unit_test (test_qa_flags),      cmocka_unit_test (test_not_nul_terminated),
        cmocka_unit_test (test_large_bodies),
    };
    const struct CMUnitTest files[] = {
        cmocka_unit_test (test_bad_dictionaries),
        cmocka_unit_test (test_custom_dictionary),
        cmocka_unit_test (test_default_path),
    };
    int failed = cmocka_run_group_tests_name ("shipped dictionary", shipped, s_setup, s_teardown);
    failed += cmocka_run_group_tests_name ("dictionary files", files, s_tmp_setup, s_tmp_teardown);
    return failed ? 1 : 0;
}
