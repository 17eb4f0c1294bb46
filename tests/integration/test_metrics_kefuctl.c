/*  test_metrics_kefuctl — kefuctl kpi and kefuctl now as a supervisor runs
    them: the real kefuctl binary asking a running kefu-metrics (CURVE,
    keys made with kefuctl principal add --generate), never its tables.

    The rollups and the state metrics would have built are written into
    its tables before it starts (what they count is test_metrics_exact's
    business); here the point is what kefuctl asks and shows: a summary for
    people, a table by agent, CSV and JSON for tools, the shop's scope, bad
    usage, and who is online and who waits right now. */
#include "kt_db.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct {
    char *db;             //  conninfo
    kf_clock_t *clock;    //  driven clock
    kt_metrics_t metrics; //  metrics (in-process, secure)
    char dir[64];         //  key files
    char endpoint[96];    //  KEFU_METRICS_ENDPOINT=...
    char server_key[160]; //  KEFU_METRICS_SERVER_KEY=...
    char key_file[160];   //  KEFU_KEY_FILE=...
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("metrics_kefuctl");
    snprintf (f->dir, sizeof f->dir, "/tmp/kt_metrics_kefuctl_XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    //  Monday 2026-11-23 in Shanghai: 9 customers (2 after hours) over two
    //  hours, xiaomei and ajie answering; one customer waits right now.
    kt_metrics_seed_day (f->db, "tb_lily88");
    KT_EXPECT (f->db, 0, "principal", "add", "metrics", "--role", "service", "--all-shops",
               "--generate", f->dir);
    KT_EXPECT (f->db, 0, "principal", "add", "sup1", "--role", "supervisor", "--shops", "demo-shop",
               "--generate", f->dir);
    //  10:05 in Shanghai.
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T02:05:00Z"));
    kt_metrics_init (&f->metrics, f->db, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9");
    f->metrics.config.insecure = false;
    char path[160];
    snprintf (path, sizeof path, "%s/metrics.key_secret", f->dir);
    free (f->metrics.config.secret_key_file);
    f->metrics.config.secret_key_file = strdup (path);
    free (f->metrics.config.intake_key_file);
    f->metrics.config.intake_key_file = strdup (path);
    free (f->metrics.config.routing_key_file);
    f->metrics.config.routing_key_file = strdup (path);
    kt_metrics_start (&f->metrics, f->clock);
    snprintf (f->endpoint, sizeof f->endpoint, "KEFU_METRICS_ENDPOINT=%s", f->metrics.query);
    snprintf (f->server_key, sizeof f->server_key, "KEFU_METRICS_SERVER_KEY=%s/metrics.key",
              f->dir);
    snprintf (f->key_file, sizeof f->key_file, "KEFU_KEY_FILE=%s/sup1.key_secret", f->dir);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    const char *files[] = {"metrics.key", "metrics.key_secret", "sup1.key", "sup1.key_secret"};
    for (int i = 0; i < 4; i++) {
        char path[160];
        snprintf (path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink (path);
    }
    rmdir (f->dir);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

#define KPI(code, ...) KT_EXPECT (f->db, code, f->endpoint, f->server_key, f->key_file, __VA_ARGS__)

static void
test_kpi_shows_a_shops_numbers_for_people_and_tools (void **state)
{
    fixture_t *f = *state;
    kt_run_t *r = &kt_kefuctl_last;
    KPI (0, "kpi", "demo-shop", "--from", "2026-11-23", "--to", "2026-11-23");
    assert_non_null (strstr (r->out, "9 opened by customers (2 after hours)"));
    //  接线率: 7 answered of 7 in-hours customer-opened conversations.
    assert_non_null (strstr (r->out, "接线率             100.0% answered"));
    assert_non_null (strstr (r->out, "first response    7: mean 21.4s"));
    assert_non_null (strstr (r->out, "4 ratings, CSAT 75.0%"));
    //  By agent, as a table.
    KPI (0, "kpi", "demo-shop", "--from", "2026-11-23", "--by", "agent");
    assert_non_null (strstr (r->out, "xiaomei"));
    assert_non_null (strstr (r->out, "ajie"));
    //  CSV: a header, the total, one row per agent (and the shop's own).
    KPI (0, "kpi", "demo-shop", "--from", "2026-11-23", "--to", "2026-11-23", "--by", "agent",
         "--csv");
    assert_true (strncmp (r->out, "agent,conversations,answered,answer_rate,", 41) == 0);
    assert_non_null (strstr (r->out, "\ntotal,9,7,1,"));
    assert_non_null (strstr (r->out, "\nxiaomei,0,4,,15,"));
    //  JSON: kefu-metrics' own answer.
    KPI (0, "kpi", "demo-shop", "--from", "2026-11-23", "--to", "2026-11-23", "--json");
    json_error_t jerr;
    json_t *root = json_loads (r->out, 0, &jerr);
    assert_non_null (root);
    assert_int_equal (kt_json_num (root, "total.conversations.customer_opened"), 9);
    assert_int_equal (kt_json_num (root, "total.response.rounds"), 13);
    json_decref (root);
}

static void
test_kpi_refuses_what_the_supervisor_may_not_see_or_ask (void **state)
{
    fixture_t *f = *state;
    kt_run_t *r = &kt_kefuctl_last;
    KPI (1, "kpi", "other-shop");
    assert_non_null (strstr (r->err, "shop_out_of_scope"));
    assert_null (strstr (r->out, "99"));
    KPI (2, "kpi", "demo-shop", "--by", "customer");
    assert_non_null (strstr (r->err, "invalid_value"));
    KPI (2, "kpi", "demo-shop", "--from", "2020-01-01", "--to", "2026-11-23");
    assert_non_null (strstr (r->err, "limit_exceeded"));
    KPI (2, "kpi", "Bad Shop!");
    //  Without the key pair kefuctl cannot ask at all.
    KT_EXPECT (f->db, 2, f->endpoint, f->server_key, "kpi", "demo-shop");
    assert_non_null (strstr (r->err, "KEFU_KEY_FILE"));
}

static void
test_now_shows_who_is_online_and_who_waits (void **state)
{
    fixture_t *f = *state;
    kt_run_t *r = &kt_kefuctl_last;
    KPI (0, "now", "demo-shop");
    assert_non_null (strstr (r->out, "1 open, 0 queued, 1 waiting for a reply"));
    assert_non_null (strstr (r->out, "xiaomei"));
    assert_non_null (strstr (r->out, "online"));
    assert_non_null (strstr (r->out, "tb_lily88"));
    //  tb_lily88 has waited since 09:00: 1 h 05 min at 10:05.
    assert_non_null (strstr (r->out, "1h05m"));
    KPI (0, "now", "demo-shop", "--json");
    json_error_t jerr;
    json_t *root = json_loads (r->out, 0, &jerr);
    assert_non_null (root);
    assert_int_equal (kt_json_num (root, "waiting.count"), 1);
    assert_int_equal (kt_json_num (root, "agents.agents.#1.load"), 1);
    json_decref (root);
    KPI (1, "now", "other-shop");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_kpi_shows_a_shops_numbers_for_people_and_tools,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_kpi_refuses_what_the_supervisor_may_not_see_or_ask,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_now_shows_who_is_online_and_who_waits, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
