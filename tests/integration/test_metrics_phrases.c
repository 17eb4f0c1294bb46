/*  test_metrics_phrases — quick-reply usage (快捷短语) counted by metrics.

    Real intake, routing and metrics (in-process, one driven clock, a
    fresh PostgreSQL) and the real kefuctl binary. Two agents, xiaomei and
    ajie, reply to two customers with the shop's phrases as suggested
    (filled in with their own names), with their own words, and with the
    other agent's greeting; metrics is killed between two of the uses
    (without draining, as kill -9 would) and started again. phrases.usage
    counts each use once, per agent and per phrase, equal to routing's
    phrase.used events read with plain SQL; the same after a rebuild from
    the event log; kefuctl phrases usage shows it as a table and CSV. */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "kt_routing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP     "qr-shop"
#define GREETING "亲 您好 我是测试旗舰店客服%s 很高兴为您服务"
#define IN_STOCK "亲 这款有现货的哦"
#define URGE     "亲 实在不好意思 我们尽量当天发货"

typedef struct {
    char *db;             //  conninfo
    kf_clock_t *clock;    //  shared driven clock
    kt_intake_t *intake;  //  intake (in-process)
    kt_routing_t routing; //  routing (in-process)
    kt_metrics_t metrics; //  metrics (in-process)
    zsock_t *gw;          //  the gateway (raw)
    char endpoint[96];    //  KEFU_METRICS_ENDPOINT=...
    int seq;              //  item ids
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("metrics_phrases");
    kt_shop_add (f->db, SHOP);
    kt_sql (f->db, "UPDATE shops SET name = '测试旗舰店' WHERE shop_id = 'qr-shop';"
                   "INSERT INTO routing_groups (shop_id, group_name, display_name) VALUES "
                   "('qr-shop', 'presales', '售前');"
                   "INSERT INTO shifts VALUES ('qr-shop', 'allday', 0, 1440);"
                   "INSERT INTO agents (shop_id, agent_id, name, capacity) VALUES "
                   "('qr-shop', 'xiaomei', '小美', 1), ('qr-shop', 'ajie', '阿杰', 1);"
                   "INSERT INTO agent_groups SELECT 'qr-shop', a, 'presales' "
                   "FROM unnest ('{xiaomei,ajie}'::text[]) a;"
                   "INSERT INTO agent_schedule (shop_id, agent_id, shift_name) "
                   "SELECT 'qr-shop', a, 'allday' FROM unnest ('{xiaomei,ajie}'::text[]) a;"
                   "INSERT INTO routing_settings (shop_id) VALUES ('qr-shop')");
    char path[128];
    snprintf (path, sizeof path, "/tmp/kefu-mp-%d.jsonl", (int) getpid ());
    FILE *lib = fopen (path, "wb");
    assert_non_null (lib);
    fputs ("{\"intent\": \"greeting\", \"text\": \"亲 您好 我是{shop_name}客服{agent_name} "
           "很高兴为您服务\"}\n"
           "{\"intent\": \"presales\", \"text\": \"" IN_STOCK "\"}\n"
           "{\"intent\": \"urge_shipping\", \"text\": \"" URGE "\"}\n",
           lib);
    fclose (lib);
    KT_EXPECT (f->db, 0, "phrases", "import", SHOP, path);
    unlink (path);
    //  Monday 2026-11-23, 09:00 in Shanghai.
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
    char routing_events[64];
    snprintf (routing_events, sizeof routing_events, "tcp://127.0.0.1:%d",
              kt_routing_port (&f->routing, "events"));
    kt_metrics_init (&f->metrics, f->db, f->intake->events_endpoint, routing_events);
    kt_metrics_start (&f->metrics, f->clock);
    snprintf (f->endpoint, sizeof f->endpoint, "KEFU_METRICS_ENDPOINT=%s", f->metrics.query);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-mp", SHOP, &welcomed);
    assert_true (welcomed);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    zsock_destroy (&f->gw);
    kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    kt_routing_stop (&f->routing);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

//  At UTC time `at` an item through the gateway, then routing decides.
static void
s_push (fixture_t *f, const char *at, Kefu__V1__InboundItem *item)
{
    int64_t when = kf_clock_parse_utc (at);
    assert_int_equal (kf_clock_set (f->clock, when), 0);
    char id[32];
    snprintf (id, sizeof id, "mp-%d", ++f->seq);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = when;
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push (f->gw, item);
    kt_routing_settle (&f->routing, f->db);
}

static void
s_online (fixture_t *f, const char *at, const char *agent)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    presence.agent_id = kt_text (agent);
    presence.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
    presence.handover_note = kt_text ("");
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &presence;
    s_push (f, at, &item);
}

//  A customer's message (agent NULL) or an agent's reply.
static void
s_line (fixture_t *f, const char *at, const char *customer, const char *agent, const char *text)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    if (!agent) {
        msg.customer_id = kt_text (customer);
        msg.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
        item.customer_message = &msg;
    } else {
        reply.customer_id = kt_text (customer);
        reply.agent_id = kt_text (agent);
        reply.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
        item.agent_reply = &reply;
    }
    s_push (f, at, &item);
}

static const char *
s_greeting (const char *name)
{
    static char text[256];
    snprintf (text, sizeof text, GREETING, name);
    return text;
}

//  The row of phrases.usage (grouped) whose key is key.
static json_t *
s_row (json_t *answer, const char *key)
{
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get (answer, "rows"), i, row)
    {
        if (strcmp (json_string_value (json_object_get (row, "key")), key) == 0)
            return row;
    }
    fail_msg ("no row %s", key);
    return NULL;
}

//  phrases.usage of the day grouped by.
static json_t *
s_usage (fixture_t *f, const char *by)
{
    return kt_metrics_json (f->metrics.query, "phrases.usage", SHOP, 0, 0, by,
                            "{\"from\": \"2026-11-23\", \"to\": \"2026-11-23\"}");
}

static long long
s_phrase_id (fixture_t *f, const char *intent)
{
    char sql[160];
    snprintf (sql, sizeof sql,
              "SELECT phrase_id FROM routing_phrases WHERE shop_id = 'qr-shop' AND intent = '%s'",
              intent);
    return kt_db_count (f->db, sql);
}

//  What the record says: routing's phrase.used events of the shop.
static long long
s_events (fixture_t *f)
{
    return kt_db_count (f->db, "SELECT count (*) FROM events WHERE stream = 'routing' "
                               "AND kind = 'phrase.used' AND shop_id = 'qr-shop'");
}

static void
s_expect_counts (fixture_t *f)
{
    json_t *a = s_usage (f, "agent");
    assert_int_equal (kt_json_num (a, "total.uses"), 6);
    assert_int_equal (kt_json_num (a, "total.uses"), s_events (f));
    assert_int_equal (kt_json_num (a, "total.agents"), 2);
    assert_int_equal (kt_json_num (a, "total.phrases"), 3);
    assert_int_equal (json_array_size (json_object_get (a, "rows")), 2);
    assert_int_equal (kt_json_num (s_row (a, "xiaomei"), "uses"), 3);
    assert_int_equal (kt_json_num (s_row (a, "xiaomei"), "phrases"), 2);
    assert_int_equal (kt_json_num (s_row (a, "ajie"), "uses"), 3);
    assert_int_equal (kt_json_num (s_row (a, "ajie"), "phrases"), 3);
    json_decref (a);

    a = s_usage (f, "phrase");
    char greeting[24], in_stock[24], urge[24];
    snprintf (greeting, sizeof greeting, "%lld", s_phrase_id (f, "greeting"));
    snprintf (in_stock, sizeof in_stock, "%lld", s_phrase_id (f, "presales"));
    snprintf (urge, sizeof urge, "%lld", s_phrase_id (f, "urge_shipping"));
    assert_int_equal (kt_json_num (s_row (a, greeting), "uses"), 2);
    assert_int_equal (kt_json_num (s_row (a, greeting), "agents"), 2);
    assert_string_equal (json_string_value (json_object_get (s_row (a, greeting), "intent")),
                         "greeting");
    assert_int_equal (kt_json_num (s_row (a, in_stock), "uses"), 3);
    assert_string_equal (json_string_value (json_object_get (s_row (a, in_stock), "intent")),
                         "presales");
    assert_int_equal (kt_json_num (s_row (a, urge), "uses"), 1);
    assert_int_equal (kt_json_num (s_row (a, urge), "agents"), 1);
    json_decref (a);

    //  Per agent and phrase, as the day was lived.
    a = s_usage (f, NULL);
    static const struct {
        const char *agent, *intent;
        int uses;
    } want[] = {{"ajie", "greeting", 1},
                {"ajie", "presales", 1},
                {"ajie", "urge_shipping", 1},
                {"xiaomei", "greeting", 1},
                {"xiaomei", "presales", 2}};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        json_t *row = json_array_get (json_object_get (a, "rows"), w);
        assert_string_equal (json_string_value (json_object_get (row, "agent_id")), want[w].agent);
        assert_string_equal (json_string_value (json_object_get (row, "intent")), want[w].intent);
        assert_int_equal (kt_json_num (row, "phrase_id"), s_phrase_id (f, want[w].intent));
        assert_int_equal (kt_json_num (row, "uses"), want[w].uses);
    }
    assert_int_equal (json_array_size (json_object_get (a, "rows")), 5);
    json_decref (a);
}

static void
test_phrase_uses_are_counted_once_per_agent_and_phrase_across_a_crash (void **state)
{
    fixture_t *f = *state;
    s_online (f, "2026-11-23T01:00:00Z", "xiaomei");
    s_online (f, "2026-11-23T01:00:01Z", "ajie");
    s_line (f, "2026-11-23T01:01:00Z", "tb_1", NULL, "在吗？这件有现货吗");
    s_line (f, "2026-11-23T01:02:00Z", "tb_2", NULL, "在吗？这件有现货吗");
    //  xiaomei: her greeting, the stock phrase twice, and words of her own.
    s_line (f, "2026-11-23T01:03:00Z", "tb_1", "xiaomei", s_greeting ("小美"));
    s_line (f, "2026-11-23T01:04:00Z", "tb_1", "xiaomei", IN_STOCK);
    s_line (f, "2026-11-23T01:05:00Z", "tb_1", "xiaomei", "亲 这款有现货");
    s_line (f, "2026-11-23T01:06:00Z", "tb_1", "xiaomei", IN_STOCK);
    kt_metrics_settle (&f->metrics, f->db);
    //  metrics dies; the shop goes on.
    kt_metrics_kill (&f->metrics);
    s_line (f, "2026-11-23T01:07:00Z", "tb_2", "ajie", s_greeting ("阿杰"));
    s_line (f, "2026-11-23T01:08:00Z", "tb_2", "ajie", IN_STOCK);
    //  xiaomei sends ajie's greeting: not her phrase as suggested.
    s_line (f, "2026-11-23T01:09:00Z", "tb_1", "xiaomei", s_greeting ("阿杰"));
    kt_metrics_start (&f->metrics, f->clock);
    s_line (f, "2026-11-23T02:10:00Z", "tb_2", NULL, "什么时候发货啊");
    s_line (f, "2026-11-23T02:11:00Z", "tb_2", "ajie", URGE);
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_counts (f);

    //  kefuctl: a table per agent, CSV per phrase, refused groupings.
    kt_run_t *r = &kt_kefuctl_last;
    KT_EXPECT (f->db, 0, f->endpoint, "phrases", "usage", SHOP, "--from", "2026-11-23", "--to",
               "2026-11-23", "--by", "agent");
    assert_non_null (strstr (r->out, "6 uses of 3 phrases by 2 agents"));
    assert_non_null (strstr (r->out, "xiaomei"));
    KT_EXPECT (f->db, 0, f->endpoint, "phrases", "usage", SHOP, "--from", "2026-11-23", "--to",
               "2026-11-23", "--by", "phrase", "--csv");
    char line[96];
    snprintf (line, sizeof line, "\n%lld,urge_shipping,1,1\n", s_phrase_id (f, "urge_shipping"));
    assert_non_null (strstr (r->out, line));
    assert_true (strncmp (r->out, "phrase_id,intent,uses,agents\n", 29) == 0);
    KT_EXPECT (f->db, 0, f->endpoint, "phrases", "usage", SHOP, "--from", "2026-11-23", "--to",
               "2026-11-23", "--agent", "ajie", "--csv");
    assert_non_null (strstr (r->out, "ajie,"));
    assert_null (strstr (r->out, "xiaomei"));
    KT_EXPECT (f->db, 2, f->endpoint, "phrases", "usage", SHOP, "--by", "group");
    assert_non_null (strstr (r->err, "invalid_value"));
    //  Another day has none.
    json_t *a = kt_metrics_json (f->metrics.query, "phrases.usage", SHOP, 0, 0, NULL,
                                 "{\"from\": \"2026-11-24\", \"to\": \"2026-11-24\"}");
    assert_int_equal (kt_json_num (a, "total.uses"), 0);
    json_decref (a);

    //  Rebuilt from the event log: the same counts.
    char *reply = kt_metrics_command (&f->metrics, "REBUILD");
    assert_string_equal (reply, "OK");
    free (reply);
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_counts (f);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_phrase_uses_are_counted_once_per_agent_and_phrase_across_a_crash, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
