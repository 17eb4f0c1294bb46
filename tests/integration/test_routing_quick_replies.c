/*  test_routing_quick_replies — the shop's quick-reply library (快捷短语)
    from kefuctl to the agent's desk.

    - kefuctl phrases refuses a phrase with a forbidden word (naming it),
      invalid UTF-8, over the length limit, an unknown placeholder or
      intent, and stores nothing; an import stores its good rows and names
      each bad one by line; a phrase the dictionary flags after it changed
      is listed by --flagged; export and remove.
    - Through real intake and routing (in-process, driven clock) to a
      gateway: the assign command carries the greeting and the phrases of
      the conversation's intent, filled in with the shop's and the agent's
      names; a customer's message with another intent brings a suggest
      command with that intent's phrases; a phrase added while routing runs
      is suggested at once (config.changed); the agent's reply that is a
      phrase, filled in, is published as phrase.used. */
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_routing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP "qr-shop"

//  A file with these contents; returns its path (static buffer per slot).
static const char *
s_file (int slot, const char *name, const char *contents)
{
    static char paths[4][256];
    snprintf (paths[slot], sizeof paths[slot], "/tmp/kefu-qr-%d-%s", (int) getpid (), name);
    FILE *f = fopen (paths[slot], "wb");
    assert_non_null (f);
    fputs (contents, f);
    fclose (f);
    return paths[slot];
}

static long long
s_phrases (const char *db)
{
    return kt_db_count (db, "SELECT count (*) FROM routing_phrases WHERE shop_id = '" SHOP "'");
}

static char *
s_fresh (const char *name)
{
    char *db = kt_db_fresh (name);
    kt_shop_add (db, SHOP);
    kt_sql (db, "UPDATE shops SET name = '测试旗舰店' WHERE shop_id = '" SHOP "'");
    return db;
}

//  ---------------------------------------------------------------------

static void
test_a_refused_phrase_is_named_and_nothing_is_stored (void **state)
{
    (void) state;
    char *db = s_fresh ("qr_refused");
    KT_EXPECT (db, 0, "phrases", "add", SHOP, "--intent", "greeting", "--text",
               "亲 您好 我是{shop_name}客服{agent_name} 很高兴为您服务");
    assert_int_equal (s_phrases (db), 1);
    assert_int_equal (kt_db_count (db, "SELECT count (*) FROM events WHERE stream = 'admin' AND "
                                       "kind = 'config.changed'"),
                      1);
    //  A forbidden phrase (服务禁忌), named with its id and text.
    KT_EXPECT (db, 2, "phrases", "add", SHOP, "--intent", "bargaining", "--text",
               "亲 这个价格真的没办法再低了");
    assert_non_null (strstr (kt_kefuctl_last.err, "forbidden phrase mei_ban_fa (没办法)"));
    KT_EXPECT (db, 2, "phrases", "add", SHOP, "--intent", "presales", "--text", "亲\xff您好");
    assert_non_null (strstr (kt_kefuctl_last.err, "not valid UTF-8"));
    char long_text[600];
    memset (long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    KT_EXPECT (db, 2, "phrases", "add", SHOP, "--intent", "presales", "--text", long_text);
    assert_non_null (strstr (kt_kefuctl_last.err, "599 bytes, over the limit of 500"));
    KT_EXPECT (db, 2, "phrases", "add", SHOP, "--intent", "presales", "--text",
               "亲 {agentname} 为您服务");
    assert_non_null (strstr (kt_kefuctl_last.err, "unknown placeholder {agentname}"));
    KT_EXPECT (db, 2, "phrases", "add", SHOP, "--intent", "shipping", "--text", "亲");
    assert_non_null (strstr (kt_kefuctl_last.err, "unknown intent \"shipping\""));
    assert_int_equal (s_phrases (db), 1);
    assert_int_equal (kt_db_count (db, "SELECT count (*) FROM events WHERE stream = 'admin'"), 1);
    //  The same text again is the phrase already there.
    KT_EXPECT (db, 3, "phrases", "add", SHOP, "--intent", "greeting", "--text",
               "亲 您好 我是{shop_name}客服{agent_name} 很高兴为您服务");
    KT_EXPECT (db, 4, "phrases", "add", "no-such-shop", "--intent", "greeting", "--text", "亲");
    free (db);
}

static void
test_an_import_stores_the_good_rows_and_names_each_bad_one (void **state)
{
    (void) state;
    char *db = s_fresh ("qr_import");
    const char *jsonl = s_file (
        0, "p.jsonl",
        "{\"intent\": \"urge_shipping\", \"text\": \"亲 实在不好意思 我们最近的发货量比较大\"}\n"
        "{\"intent\": \"bargaining\", \"text\": \"不可以便宜\"}\n"
        "\n"
        "{\"intent\": \"logistics\", \"text\": \"亲 订单{order_id}的物流我帮您查\", \"id\": 7}\n"
        "not json\n"
        "{\"intent\": \"logistics\"}\n");
    KT_EXPECT (db, 2, "phrases", "import", SHOP, jsonl);
    assert_non_null (strstr (kt_kefuctl_last.err, "line 2: text contains the forbidden phrase "
                                                  "bu_ke_yi (不可以)"));
    assert_non_null (strstr (kt_kefuctl_last.err, "line 5: not JSON"));
    assert_non_null (strstr (kt_kefuctl_last.err, "line 6: needs"));
    assert_null (strstr (kt_kefuctl_last.err, "line 4"));
    assert_non_null (strstr (kt_kefuctl_last.out, "2 phrases imported, 0 already there, 3 rows"));
    assert_int_equal (s_phrases (db), 2);
    const char *csv = s_file (1, "p.csv",
                              "intent,text\r\n"
                              "presales,\"亲 有现货的哦, 今天下单今天发\"\r\n"
                              "presales,亲 {coupon} 可以用\r\n"
                              "greeting,\"亲 您好\n我是{agent_name}\"\r\n"
                              "urge_shipping,亲 实在不好意思 我们最近的发货量比较大\r\n");
    KT_EXPECT (db, 2, "phrases", "import", SHOP, csv);
    assert_non_null (strstr (kt_kefuctl_last.err, "line 3: text unknown placeholder {coupon}"));
    assert_non_null (strstr (kt_kefuctl_last.out, "2 phrases imported, 1 already there, 1 rows"));
    assert_int_equal (s_phrases (db), 4);
    assert_int_equal (kt_db_count (db, "SELECT count (*) FROM routing_phrases WHERE text = "
                                       "E'亲 您好\\n我是{agent_name}'"),
                      1);
    //  Export gives back what import takes.
    KT_EXPECT (db, 0, "phrases", "export", SHOP, "--format", "csv");
    assert_non_null (
        strstr (kt_kefuctl_last.out, "intent,text\ngreeting,\"亲 您好\n我是{agent_name}\""));
    assert_non_null (strstr (kt_kefuctl_last.out, "presales,\"亲 有现货的哦, 今天下单今天发\""));
    const char *again = s_file (2, "again.csv", kt_kefuctl_last.out);
    KT_EXPECT (db, 0, "phrases", "import", SHOP, again);
    assert_non_null (strstr (kt_kefuctl_last.out, "0 phrases imported, 4 already there, 0 rows"));
    KT_EXPECT (db, 0, "phrases", "export", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "{\"intent\":\"logistics\",\"text\":\"亲 订单"
                                                  "{order_id}的物流我帮您查\"}\n"));
    unlink (jsonl);
    unlink (csv);
    unlink (again);
    //  The demo shop's library (scripts/run --demo) goes in whole.
    char sample[512];
    snprintf (sample, sizeof sample, "%s/deploy/samples/quick-replies.csv",
              getenv ("KEFU_SOURCE_DIR"));
    KT_EXPECT (db, 0, "phrases", "import", SHOP, sample);
    assert_non_null (strstr (kt_kefuctl_last.out, "13 phrases imported, 0 already there, 0 rows"));
    free (db);
}

static void
test_a_dictionary_change_flags_stored_phrases (void **state)
{
    (void) state;
    char *db = s_fresh ("qr_flagged");
    KT_EXPECT (db, 0, "phrases", "add", SHOP, "--intent", "bargaining", "--text",
               "亲 这已经是最低价了");
    KT_EXPECT (db, 0, "phrases", "list", SHOP, "--flagged");
    assert_non_null (strstr (kt_kefuctl_last.out, "no flagged phrases"));
    //  The supervisor adds 最低价 to the forbidden phrases (广告法).
    char path[512];
    snprintf (path, sizeof path, "%s/deploy/dictionaries/intents.json", getenv ("KEFU_SOURCE_DIR"));
    FILE *f = fopen (path, "rb");
    assert_non_null (f);
    static char dict[65536];
    size_t n = fread (dict, 1, sizeof dict - 1, f);
    fclose (f);
    dict[n] = '\0';
    char *at = strstr (dict, "\"forbidden_phrases\": [");
    assert_non_null (at);
    static char edited[65600];
    at += strlen ("\"forbidden_phrases\": [");
    snprintf (edited, sizeof edited, "%.*s{\"id\": \"zui_di_jia\", \"text\": \"最低价\"}, %s",
              (int) (at - dict), dict, at);
    setenv ("KEFU_INTAKE_DICTIONARY", s_file (3, "dict.json", edited), 1);
    KT_EXPECT (db, 0, "phrases", "list", SHOP, "--flagged");
    assert_non_null (strstr (kt_kefuctl_last.out, "zui_di_jia (最低价)"));
    assert_non_null (strstr (kt_kefuctl_last.out, "亲 这已经是最低价了"));
    KT_EXPECT (db, 0, "phrases", "list", SHOP, "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"flagged\": \"zui_di_jia (最低价)\""));
    //  Now refused when added.
    KT_EXPECT (db, 2, "phrases", "add", SHOP, "--intent", "bargaining", "--text", "全网最低价");
    unlink (getenv ("KEFU_INTAKE_DICTIONARY"));
    unsetenv ("KEFU_INTAKE_DICTIONARY");
    long long id = kt_db_count (db, "SELECT phrase_id FROM routing_phrases");
    char id_text[32];
    snprintf (id_text, sizeof id_text, "%lld", id);
    KT_EXPECT (db, 0, "phrases", "remove", SHOP, id_text);
    assert_int_equal (s_phrases (db), 0);
    KT_EXPECT (db, 4, "phrases", "remove", SHOP, id_text);
    free (db);
}

//  ---------------------------------------------------------------------
//  At the agent's desk

typedef struct {
    char *db;             //  conninfo
    kf_clock_t *clock;    //  shared driven clock
    kt_intake_t *intake;  //  intake (in-process)
    kt_routing_t routing; //  routing (in-process)
    zsock_t *gw;          //  the gateway
    int seq;              //  item ids
    zlist_t *early;       //  frames that arrived while waiting for an ack
} fixture_t;

//  Send an item and wait for its ACCEPTED ack; commands that arrive
//  meanwhile are kept for s_next.
static void
s_item (fixture_t *f, Kefu__V1__InboundItem *item)
{
    char id[32];
    snprintf (id, sizeof id, "qr-%d", ++f->seq);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = kf_clock_now_ms (f->clock);
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push_keep (f->gw, item, f->early);
}

//  Routing has applied every admin event (kefuctl's changes): SYNC until
//  its offset reaches the stream's end (fails after 20 s).
static void
s_settle_admin (fixture_t *f)
{
    for (int tries = 0; tries < 2000; tries++) {
        zstr_send (f->routing.actor, "SYNC");
        free (zstr_recv (f->routing.actor));
        if (kt_db_count (f->db, "SELECT coalesce (sum (last_seq), 0) FROM consumer_offsets "
                                "WHERE consumer = 'routing' AND stream = 'admin'") >=
            kt_db_count (f->db, "SELECT coalesce (sum (last_seq), 0) FROM event_sequences "
                                "WHERE stream = 'admin'"))
            return;
        zclock_sleep (10);
    }
    fail_msg ("routing did not apply the admin events");
}

static void
s_customer (fixture_t *f, const char *body)
{
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "", "tb_buyer_1", body, 0);
    s_item (f, &item);
}

static void
s_reply (fixture_t *f, const char *body)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentReply r = KEFU__V1__AGENT_REPLY__INIT;
    r.customer_id = kt_text ("tb_buyer_1");
    r.agent_id = kt_text ("xiaomei");
    r.body = kt_text (body);
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
    item.agent_reply = &r;
    s_item (f, &item);
}

//  The next command of this kind (others are acked and dropped); fails
//  after 10 s. Caller frees the frame.
static Kefu__V1__IntakeFrame *
s_next (fixture_t *f, Kefu__V1__Command__KindCase kind)
{
    while (true) {
        Kefu__V1__IntakeFrame *in =
            zlist_size (f->early) > 0 ? zlist_pop (f->early) : kt_gw_recv (f->gw);
        if (in->body_case != KEFU__V1__INTAKE_FRAME__BODY_COMMAND) {
            kefu__v1__intake_frame__free_unpacked (in, NULL);
            continue;
        }
        kt_gw_ack_command (f->gw, in->command->command_id);
        if (in->command->kind_case == kind)
            return in;
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
}

static void
s_expect_suggestion (Kefu__V1__Suggestion *s, int intent, const char *text)
{
    assert_int_equal (s->intent, intent);
    assert_true (s->phrase_id > 0);
    char got[1600];
    snprintf (got, sizeof got, "%.*s", (int) s->text.len, (const char *) s->text.data);
    assert_string_equal (got, text);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->early = zlist_new ();
    f->db = s_fresh ("qr_desk");
    kt_routing_setup (f->db, SHOP, "presales=售前,aftersales=售后", "allday=0-1440",
                      (kt_agent_t[]){{"xiaomei", "小美", 3, "presales,aftersales", "allday"}, {0}},
                      NULL);
    const char *lib = s_file (
        0, "desk.jsonl",
        "{\"intent\": \"greeting\", \"text\": \"亲 您好 我是{shop_name}客服{agent_name} "
        "很高兴为您服务\"}\n"
        "{\"intent\": \"presales\", \"text\": \"亲 这款有现货的哦\"}\n"
        "{\"intent\": \"presales\", \"text\": \"亲 订单{order_id}我帮您看看\"}\n"
        "{\"intent\": \"presales\", \"text\": \"亲 尺码表在详情页最下面哦\"}\n"
        "{\"intent\": \"presales\", \"text\": \"亲 还有什么可以帮您的吗\"}\n"
        "{\"intent\": \"urge_shipping\", \"text\": \"亲 实在不好意思 我们最近的发货量比较大 "
        "我们尽量当天发货 最晚第二天发货\"}\n");
    KT_EXPECT (f->db, 0, "phrases", "import", SHOP, lib);
    unlink (lib);
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-qr", SHOP, &welcomed);
    assert_true (welcomed);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentPresence p = KEFU__V1__AGENT_PRESENCE__INIT;
    p.agent_id = kt_text ("xiaomei");
    p.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &p;
    s_item (f, &item);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    Kefu__V1__IntakeFrame *early;
    while ((early = zlist_pop (f->early)))
        kefu__v1__intake_frame__free_unpacked (early, NULL);
    zlist_destroy (&f->early);
    zsock_destroy (&f->gw);
    kt_routing_stop (&f->routing);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

#define PRESALES KEFU__V1__INTENT__INTENT_PRESALES
#define URGE     KEFU__V1__INTENT__INTENT_URGE_SHIPPING

static void
test_the_assignment_and_a_new_intent_bring_the_shops_phrases_filled_in (void **state)
{
    fixture_t *f = *state;
    s_customer (f, "在吗？这件有现货吗");
    Kefu__V1__IntakeFrame *in = s_next (f, KEFU__V1__COMMAND__KIND_ASSIGN);
    Kefu__V1__AssignCommand *a = in->command->assign;
    assert_int_equal (a->n_suggestions, 3); //  KEFU_ROUTING_SUGGESTIONS' default
    s_expect_suggestion (a->suggestions[0], 0, "亲 您好 我是测试旗舰店客服小美 很高兴为您服务");
    s_expect_suggestion (a->suggestions[1], PRESALES, "亲 这款有现货的哦");
    //  No order mentioned: that phrase is skipped.
    s_expect_suggestion (a->suggestions[2], PRESALES, "亲 尺码表在详情页最下面哦");
    int64_t conversation = a->conversation_id;
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  The customer urges shipping: the owner gets those phrases.
    s_customer (f, "什么时候发货啊");
    in = s_next (f, KEFU__V1__COMMAND__KIND_SUGGEST);
    Kefu__V1__SuggestCommand *s = in->command->suggest;
    assert_int_equal (s->conversation_id, conversation);
    assert_int_equal (s->intent, URGE);
    assert_int_equal (s->agent_id.len, strlen ("xiaomei"));
    assert_int_equal (s->n_suggestions, 1);
    s_expect_suggestion (s->suggestions[0], URGE,
                         "亲 实在不好意思 我们最近的发货量比较大 我们尽量当天发货 最晚第二天发货");
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    kt_routing_settle (&f->routing, f->db);
    assert_int_equal (kt_db_count (f->db, "SELECT count (*) FROM outbound_commands "
                                          "WHERE kind = 'suggest'"),
                      1);

    //  A phrase added while routing runs is suggested at the next change.
    KT_EXPECT (f->db, 0, "phrases", "add", SHOP, "--intent", "logistics", "--text",
               "{customer_name} 亲 物流信息我帮您查一下");
    s_settle_admin (f);
    s_customer (f, "物流怎么一直不动");
    in = s_next (f, KEFU__V1__COMMAND__KIND_SUGGEST);
    s = in->command->suggest;
    assert_int_equal (s->n_suggestions, 1);
    s_expect_suggestion (s->suggestions[0], KEFU__V1__INTENT__INTENT_LOGISTICS,
                         "tb_buyer_1 亲 物流信息我帮您查一下");
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  The agent sends the greeting as suggested: phrase.used on routing's
    //  stream, with the agent and the phrase; a reply of her own is none.
    s_reply (f, "亲 您好 我是测试旗舰店客服小美 很高兴为您服务");
    s_reply (f, "亲 您好 我是小美");
    kt_routing_settle (&f->routing, f->db);
    assert_int_equal (kt_db_count (f->db, "SELECT count (*) FROM events WHERE stream = 'routing' "
                                          "AND kind = 'phrase.used'"),
                      1);
    char *payload = kt_db_query1 (f->db, "SELECT encode (payload, 'hex') FROM events "
                                         "WHERE kind = 'phrase.used'");
    size_t len = strlen (payload) / 2;
    uint8_t bytes[512];
    assert_true (len <= sizeof bytes);
    for (size_t i = 0; i < len; i++)
        sscanf (payload + 2 * i, "%2hhx", &bytes[i]);
    free (payload);
    Kefu__V1__Event *ev = kefu__v1__event__unpack (NULL, len, bytes);
    assert_non_null (ev);
    assert_int_equal (ev->payload_case, KEFU__V1__EVENT__PAYLOAD_PHRASE_USED);
    assert_string_equal (ev->phrase_used->agent_id, "xiaomei");
    assert_int_equal (ev->phrase_used->conversation_id, conversation);
    assert_int_equal (ev->phrase_used->intent, 0);
    assert_int_equal (ev->phrase_used->phrase_id,
                      kt_db_count (f->db, "SELECT phrase_id FROM routing_phrases "
                                          "WHERE intent = 'greeting'"));
    kefu__v1__event__free_unpacked (ev, NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_refused_phrase_is_named_and_nothing_is_stored),
        cmocka_unit_test (test_an_import_stores_the_good_rows_and_names_each_bad_one),
        cmocka_unit_test (test_a_dictionary_change_flags_stored_phrases),
        cmocka_unit_test_setup_teardown (
            test_the_assignment_and_a_new_intent_bring_the_shops_phrases_filled_in, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
