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
#include "kt_desk.h"
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

typedef kt_desk_t fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    char *db = kt_db_fresh ("metrics_phrases");
    kt_shop_add (db, SHOP);
    kt_sql (db, "UPDATE shops SET name = '测试旗舰店' WHERE shop_id = 'qr-shop';"
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
    KT_EXPECT (db, 0, "phrases", "import", SHOP, path);
    unlink (path);
    //  Monday 2026-11-23, 09:00 in Shanghai.
    kt_desk_start (f, db, SHOP, "2026-11-23T01:00:00Z");
    *state = f;
    return 0;
}

#define ONLINE KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE

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
    const char *values[] = {intent};
    char *id = kt_db_query1p (f->db,
                              "SELECT phrase_id FROM routing_phrases WHERE shop_id = 'qr-shop' "
                              "AND intent = $1",
                              1, values);
    long long n = atoll (id);
    free (id);
    return n;
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
    kt_desk_presence (f, "2026-11-23T01:00:00Z", "xiaomei", ONLINE);
    kt_desk_presence (f, "2026-11-23T01:00:01Z", "ajie", ONLINE);
    kt_desk_line (f, "2026-11-23T01:01:00Z", "tb_1", NULL, "在吗？这件有现货吗");
    kt_desk_line (f, "2026-11-23T01:02:00Z", "tb_2", NULL, "在吗？这件有现货吗");
    //  xiaomei: her greeting, the stock phrase twice, and words of her own.
    kt_desk_line (f, "2026-11-23T01:03:00Z", "tb_1", "xiaomei", s_greeting ("小美"));
    kt_desk_line (f, "2026-11-23T01:04:00Z", "tb_1", "xiaomei", IN_STOCK);
    kt_desk_line (f, "2026-11-23T01:05:00Z", "tb_1", "xiaomei", "亲 这款有现货");
    kt_desk_line (f, "2026-11-23T01:06:00Z", "tb_1", "xiaomei", IN_STOCK);
    kt_metrics_settle (&f->metrics, f->db);
    //  metrics dies; the shop goes on.
    kt_metrics_kill (&f->metrics);
    kt_desk_line (f, "2026-11-23T01:07:00Z", "tb_2", "ajie", s_greeting ("阿杰"));
    kt_desk_line (f, "2026-11-23T01:08:00Z", "tb_2", "ajie", IN_STOCK);
    //  xiaomei sends ajie's greeting: not her phrase as suggested.
    kt_desk_line (f, "2026-11-23T01:09:00Z", "tb_1", "xiaomei", s_greeting ("阿杰"));
    kt_desk_start_metrics (f);
    kt_desk_line (f, "2026-11-23T02:10:00Z", "tb_2", NULL, "什么时候发货啊");
    kt_desk_line (f, "2026-11-23T02:11:00Z", "tb_2", "ajie", URGE);
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
            kt_desk_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
