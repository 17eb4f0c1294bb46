/*  test_metrics_http — kefu-metrics' dashboard over HTTP(S): logins with
    the tokens kefuctl prints, the shop's scope on every request, the JSON
    API answering as the ZeroMQ endpoint does, CSV, /metrics parsed as
    Prometheus would, and what a hostile request gets (no token, a wrong
    or another shop's token, failed logins from one source, path
    traversal, bodies, huge headers, plain HTTP to the HTTPS port).

    Metrics runs in-process on a driven clock with its HTTP on
    127.0.0.1:0, over the shop day of kt_metrics_seed_day. */
#include "kt_db.h"
#include "kt_http.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "metrics_http.h"

#include <ctype.h>
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
    kt_metrics_t metrics; //  metrics with HTTP
    char sup1[64];        //  token of a supervisor of demo-shop
    char sup2[64];        //  token of a supervisor of other-shop
    int port;             //  HTTP port
} fixture_t;

//  A new token for principal id (kefuctl principal token).
static void
s_token (fixture_t *f, const char *id, char *out, size_t size)
{
    KT_EXPECT (f->db, 0, "principal", "token", id);
    assert_int_equal (strcspn (kt_kefuctl_last.out, "\n"), 52);
    snprintf (out, size, "%.52s", kt_kefuctl_last.out);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("metrics_http");
    kt_metrics_seed_day (f->db, "<script>alert(1)</script>");
    KT_EXPECT (f->db, 0, "principal", "add", "sup1", "--role", "supervisor", "--shops", "demo-shop",
               "--token");
    //  add --token prints the token as its last line.
    char *last = strrchr (kt_kefuctl_last.out, 'k');
    while (last && last > kt_kefuctl_last.out && strncmp (last, "kft_", 4) != 0)
        last--;
    assert_non_null (last);
    snprintf (f->sup1, sizeof f->sup1, "%.52s", last);
    KT_EXPECT (f->db, 0, "principal", "add", "sup2", "--role", "supervisor", "--shops",
               "other-shop");
    s_token (f, "sup2", f->sup2, sizeof f->sup2);
    //  Gateways get no token.
    KT_EXPECT (f->db, 0, "principal", "add", "gw1", "--role", "gateway", "--shops", "demo-shop");
    KT_EXPECT (f->db, 4, "principal", "token", "gw1");
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T02:05:00Z"));
    kt_metrics_init (&f->metrics, f->db, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9");
    free (f->metrics.config.http_endpoint);
    f->metrics.config.http_endpoint = strdup ("127.0.0.1:0");
    kt_metrics_start (&f->metrics, f->clock);
    f->port = f->metrics.http_port;
    assert_true (f->port > 0);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

//  text must contain needle (shown when it does not).
static void
s_has (const char *text, const char *needle)
{
    if (!strstr (text, needle))
        fail_msg ("no \"%s\" in:\n%s", needle, text);
}

//  text must begin with prefix.
static void
s_starts (const char *text, const char *prefix)
{
    if (strncmp (text, prefix, strlen (prefix)) != 0)
        fail_msg ("\"%s\" does not begin:\n%s", prefix, text);
}

//  No shop data of any kind in a refusal.
static void
s_no_data (const kt_http_t *r)
{
    assert_null (strstr (r->body, "customer_opened"));
    assert_null (strstr (r->body, "xiaomei"));
    assert_null (strstr (r->body, "99"));
}

static void
test_no_token_or_a_wrong_one_gets_401_and_no_data (void **state)
{
    fixture_t *f = *state;
    kt_http_t r;
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop", NULL, &r);
    assert_int_equal (r.status, 401);
    s_has (r.headers, "WWW-Authenticate: Bearer");
    s_has (r.body, "not_authenticated");
    s_no_data (&r);
    kt_http_free (&r);
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop",
                 "kft_000000000000000000000000000000000000000000000000", &r);
    assert_int_equal (r.status, 401);
    s_no_data (&r);
    kt_http_free (&r);
    kt_http_get (f->port, "/metrics", "wrong", &r);
    assert_int_equal (r.status, 401);
    assert_null (strstr (r.body, "kefu_shop"));
    kt_http_free (&r);
    //  A disabled principal's token stops at the next refresh.
    KT_EXPECT (f->db, 0, "principal", "disable", "sup1");
    free (kt_metrics_command (&f->metrics, "SYNC"));
    kt_http_get (f->port, "/api/whoami", f->sup1, &r);
    assert_int_equal (r.status, 401);
    kt_http_free (&r);
    assert_true (kt_metrics_counter (&f->metrics, "http.logins_failed") >= 4);
}

static void
test_another_shops_token_gets_403_and_no_data (void **state)
{
    fixture_t *f = *state;
    const char *paths[] = {"/api/kpi.summary?shop=demo-shop", "/api/kpi.series?shop=demo-shop",
                           "/api/agents.now?shop=demo-shop",
                           "/api/conversations.waiting?shop=demo-shop",
                           "/api/qa.flags?shop=demo-shop&format=csv",
                           //  a shop in the parameters is still the shop asked about
                           "/api/kpi.summary?shop=other-shop&shop_id=demo-shop"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        kt_http_t r;
        kt_http_get (f->port, paths[i], f->sup2, &r);
        assert_int_equal (r.status, 403);
        s_has (r.body, "shop_out_of_scope");
        s_no_data (&r);
        kt_http_free (&r);
    }
    //  Their own shop answers.
    kt_http_t r;
    kt_http_get (f->port, "/api/kpi.summary?shop=other-shop", f->sup2, &r);
    assert_int_equal (r.status, 200);
    s_has (r.body, "\"customer_opened\":99");
    kt_http_free (&r);
    assert_true (kt_metrics_counter (&f->metrics, "http.forbidden") >= 6);
}

static void
test_the_api_answers_each_kind_as_the_query_endpoint_does (void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *path, *kind, *by;
    } cases[] = {
        {"/api/kpi.summary?shop=demo-shop", "kpi.summary", NULL},
        {"/api/kpi.summary?shop=demo-shop&by=agent", "kpi.summary", "agent"},
        {"/api/kpi.series?shop=demo-shop&by=hour", "kpi.series", "hour"},
        {"/api/agents.now?shop=demo-shop", "agents.now", NULL},
        {"/api/conversations.waiting?shop=demo-shop", "conversations.waiting", NULL},
        {"/api/qa.flags?shop=demo-shop", "qa.flags", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_http_t r;
        kt_http_get (f->port, cases[i].path, f->sup1, &r);
        assert_int_equal (r.status, 200);
        s_has (r.headers, "Content-Type: application/json");
        json_t *http = json_loads (r.body, 0, NULL);
        json_t *zmq =
            kt_metrics_json (f->metrics.query, cases[i].kind, "demo-shop", 0, 0, cases[i].by, NULL);
        assert_non_null (http);
        if (!json_equal (http, zmq))
            fail_msg ("%s differs from the query endpoint's answer: %s", cases[i].path, r.body);
        json_decref (http);
        json_decref (zmq);
        kt_http_free (&r);
    }
    kt_http_t r;
    //  Parameters travel as params_json; the query's own checks apply.
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop&from=2026-11-23&threshold_s=30", f->sup1,
                 &r);
    assert_int_equal (r.status, 200);
    s_has (r.body, "\"threshold_s\":30");
    kt_http_free (&r);
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop&threshold_s=61", f->sup1, &r);
    assert_int_equal (r.status, 400);
    s_has (r.body, "invalid_value");
    kt_http_free (&r);
    kt_http_get (f->port, "/api/no.such.kind?shop=demo-shop", f->sup1, &r);
    assert_int_equal (r.status, 400);
    s_has (r.body, "unknown_enum");
    kt_http_free (&r);
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop&shop=other-shop", f->sup1, &r);
    assert_int_equal (r.status, 400);
    kt_http_free (&r);
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop&agent=xiao%00mei", f->sup1, &r);
    assert_int_equal (r.status, 400);
    kt_http_free (&r);
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop&agent=%ff%fe", f->sup1, &r);
    assert_int_equal (r.status, 400);
    s_has (r.body, "invalid_utf8");
    kt_http_free (&r);
    kt_http_get (f->port, "/api/whoami", f->sup1, &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (r.body, "{\"principal\":\"sup1\",\"role\":\"supervisor\",\"shops\":"
                                 "[{\"shop_id\":\"demo-shop\",\"timezone\":\"Asia/Shanghai\"}],"
                                 "\"kinds\":[\"kpi.summary\",\"kpi.series\",\"agents.now\","
                                 "\"conversations.waiting\",\"qa.flags\",\"agent.scorecard\","
                                 "\"agent.attendance\",\"phrases.usage\",\"orders.summary\","
                                 "\"aftersales.summary\"]}");
    kt_http_free (&r);
}

static void
test_every_table_downloads_as_csv (void **state)
{
    fixture_t *f = *state;
    kt_http_t r;
    kt_http_get (f->port, "/api/kpi.summary?shop=demo-shop&by=agent&format=csv", f->sup1, &r);
    assert_int_equal (r.status, 200);
    s_has (r.headers, "Content-Type: text/csv");
    //  A header of dotted columns, the total, then a row per agent.
    s_starts (r.body, "row,conversations.customer_opened,");
    s_has (r.body, "\r\ntotal,9,");
    s_has (r.body, ",xiaomei");
    s_has (r.body, ",ajie");
    kt_http_free (&r);
    kt_http_get (f->port, "/api/conversations.waiting?shop=demo-shop&format=csv", f->sup1, &r);
    assert_int_equal (r.status, 200);
    s_starts (r.body, "row,conversation_id,channel,customer,");
    s_has (r.body, "\r\n1,42,platform_chat,<script>alert(1)</script>,");
    kt_http_free (&r);
    kt_http_get (f->port, "/api/agents.now?shop=demo-shop&format=csv", f->sup1, &r);
    assert_int_equal (r.status, 200);
    s_has (r.body, "agent_id");
    s_has (r.body, ",xiaomei,online,");
    kt_http_free (&r);
    kt_http_get (f->port, "/api/agents.now?shop=demo-shop&format=xml", f->sup1, &r);
    assert_int_equal (r.status, 400);
    kt_http_free (&r);
}

static void
test_csv_quotes_what_a_spreadsheet_would_misread (void **state)
{
    (void) state;
    char *csv = metrics_http_csv ("{\"lines\": [{\"body\": \"a, \\\"b\\\"\\nc\", \"agent_id\": "
                                  "\"=HYPERLINK(1)\", \"n\": -3, \"flags\": [\"x\", \"y\"], "
                                  "\"none\": null}]}");
    assert_string_equal (csv, "row,body,agent_id,n,flags,none\r\n"
                              "1,\"a, \"\"b\"\"\nc\",\"'=HYPERLINK(1)\",-3,x y,\r\n");
    free (csv);
}

static void
test_failed_logins_from_one_source_are_slowed_down (void **state)
{
    fixture_t *f = *state;
    kt_http_t r;
    //  Five free tries, then the sixth failure makes the source wait 1 s.
    for (int i = 0; i < 6; i++) {
        kt_http_get (f->port, "/api/whoami", "kft_guess", &r);
        assert_int_equal (r.status, 401);
        kt_http_free (&r);
    }
    //  Even the right token waits (nothing tells a guesser it was right).
    kt_http_get (f->port, "/api/whoami", f->sup1, &r);
    assert_int_equal (r.status, 429);
    s_has (r.body, "throttled");
    kt_http_free (&r);
    assert_int_equal (kt_metrics_counter (&f->metrics, "http.logins_throttled"), 1);
    assert_int_equal (kt_metrics_counter (&f->metrics, "http.logins_failed"), 6);
    //  The page itself is not a login: still served.
    kt_http_get (f->port, "/", NULL, &r);
    assert_int_equal (r.status, 200);
    kt_http_free (&r);
    kf_clock_advance (f->clock, 1000);
    kt_http_get (f->port, "/api/whoami", f->sup1, &r);
    assert_int_equal (r.status, 200);
    kt_http_free (&r);
    //  A success forgets the failures: five free tries again.
    for (int i = 0; i < 5; i++) {
        kt_http_get (f->port, "/api/whoami", "kft_guess", &r);
        assert_int_equal (r.status, 401);
        kt_http_free (&r);
    }
    kt_http_get (f->port, "/api/whoami", f->sup1, &r);
    assert_int_equal (r.status, 200);
    kt_http_free (&r);
}

static void
test_traversal_bodies_and_oversized_requests_are_refused (void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *request;
        int status;
    } cases[] = {
        {"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /assets/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /assets/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /assets/..%5c..%5cetc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404},
        {"GET /assets/app.js.bak HTTP/1.1\r\nHost: x\r\n\r\n", 404},
        {"POST /api/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 405},
        {"GET /api/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_http_t r;
        kt_http_raw (f->port, cases[i].request, strlen (cases[i].request), &r);
        if (r.status != cases[i].status)
            fail_msg ("%s: status %d, expected %d", cases[i].request, r.status, cases[i].status);
        assert_null (strstr (r.body, "root:"));
        kt_http_free (&r);
    }
    //  100 KiB of headers, and a 100 KiB path: refused, nothing served.
    size_t big = 100 * 1024;
    char *req = malloc (big + 256);
    int n = snprintf (req, 256, "GET /api/whoami HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset (req + n, 'a', big);
    memcpy (req + n + big, "\r\n\r\n", 5);
    kt_http_t r;
    kt_http_raw (f->port, req, strlen (req), &r);
    assert_true (r.status == 431 || r.status == 413);
    kt_http_free (&r);
    n = snprintf (req, 256, "GET /");
    memset (req + n, 'a', big);
    memcpy (req + n + big, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
    kt_http_raw (f->port, req, strlen (req), &r);
    assert_true (r.status == 414 || r.status == 431 || r.status == 413);
    kt_http_free (&r);
    free (req);
    //  And the service goes on answering.
    kt_http_get (f->port, "/healthz", NULL, &r);
    assert_int_equal (r.status, 200);
    kt_http_free (&r);
    assert_true (kt_metrics_counter (&f->metrics, "http.refused") >= 8);
}

static void
test_the_page_is_embedded_and_never_writes_html_from_data (void **state)
{
    fixture_t *f = *state;
    kt_http_t r;
    kt_http_get (f->port, "/", NULL, &r);
    assert_int_equal (r.status, 200);
    s_has (r.headers, "Content-Security-Policy: default-src 'self'");
    s_has (r.body, "/assets/app.js");
    //  Nothing from another host.
    assert_null (strstr (r.body, "http://"));
    assert_null (strstr (r.body, "https://"));
    kt_http_free (&r);
    kt_http_get (f->port, "/assets/app.js", NULL, &r);
    assert_int_equal (r.status, 200);
    s_has (r.headers, "Content-Type: text/javascript");
    s_has (r.body, "textContent");
    assert_null (strstr (r.body, "innerHTML"));
    assert_null (strstr (r.body, "outerHTML"));
    assert_null (strstr (r.body, "insertAdjacentHTML"));
    assert_null (strstr (r.body, "document.write"));
    kt_http_free (&r);
}

//  A Prometheus text exposition: every line a comment or a sample of a
//  family declared by # TYPE before it; label values quoted; values numbers.
static void
s_parse_prometheus (const char *text)
{
    char *copy = strdup (text);
    char *save = NULL;
    zhashx_t *families = zhashx_new ();
    for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        if (strncmp (line, "# TYPE ", 7) == 0) {
            char name[128], type[32];
            assert_int_equal (sscanf (line + 7, "%127s %31s", name, type), 2);
            assert_true (strcmp (type, "gauge") == 0 || strcmp (type, "counter") == 0 ||
                         strcmp (type, "untyped") == 0);
            assert_int_equal (zhashx_insert (families, name, (void *) 1), 0);
            continue;
        }
        if (line[0] == '#') {
            assert_true (strncmp (line, "# HELP ", 7) == 0);
            continue;
        }
        size_t name_len = strspn (line, "abcdefghijklmnopqrstuvwxyz_:0123456789");
        assert_true (name_len > 0 && !isdigit ((unsigned char) line[0]));
        char name[128];
        snprintf (name, sizeof name, "%.*s", (int) name_len, line);
        if (!zhashx_lookup (families, name))
            fail_msg ("sample of undeclared family: %s", line);
        const char *p = line + name_len;
        if (*p == '{') {
            p++;
            while (*p != '}') {
                size_t l = strspn (p, "abcdefghijklmnopqrstuvwxyz_");
                assert_true (l > 0);
                p += l;
                assert_true (p[0] == '=' && p[1] == '"');
                p += 2;
                while (*p != '"') {
                    assert_true (*p);
                    p += *p == '\\' ? 2 : 1;
                }
                p++;
                if (*p == ',')
                    p++;
                else
                    assert_true (*p == '}');
            }
            p++;
        }
        assert_true (*p == ' ');
        char *end;
        strtod (p + 1, &end);
        if (*end != 0)
            fail_msg ("not a number: %s", line);
    }
    zhashx_destroy (&families);
    free (copy);
}

static void
test_prometheus_gets_counters_and_the_shops_kpis (void **state)
{
    fixture_t *f = *state;
    kt_http_t r;
    kt_http_get (f->port, "/metrics", NULL, &r);
    assert_int_equal (r.status, 401);
    kt_http_free (&r);
    kt_http_get (f->port, "/metrics", f->sup1, &r);
    assert_int_equal (r.status, 200);
    assert_non_null (strstr (r.headers, "Content-Type: text/plain; version=0.0.4"));
    s_parse_prometheus (r.body);
    s_has (r.body, "\nkefu_up{service=\"metrics\"} 1\n");
    s_has (r.body, "\nkefu_service_counter{service=\"metrics\",name=\"http.requests\"} ");
    s_has (r.body, "\nkefu_shop_conversations{shop=\"demo-shop\",kind=\"customer_opened\"} 9\n");
    s_has (r.body, "\nkefu_shop_answer_rate{shop=\"demo-shop\"} 1\n");
    s_has (r.body, "\nkefu_shop_agents{shop=\"demo-shop\",status=\"online\"} 1\n");
    s_has (r.body, "\nkefu_shop_now{shop=\"demo-shop\",what=\"waiting\"} 1\n");
    //  Only the token's shops.
    assert_null (strstr (r.body, "other-shop"));
    kt_http_free (&r);
}

static void
test_https_with_a_certificate_and_key (void **state)
{
    fixture_t *f = *state;
    char dir[64] = "/tmp/kt_metrics_tls_XXXXXX";
    assert_non_null (mkdtemp (dir));
    char cmd[1024];
    snprintf (cmd, sizeof cmd,
              "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
              "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem "
              "-out %s/cert.pem 2>/dev/null",
              dir, dir);
    assert_int_equal (system (cmd), 0);
    kt_metrics_t tls;
    kt_metrics_init (&tls, f->db, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9");
    free (tls.config.http_endpoint);
    tls.config.http_endpoint = strdup ("127.0.0.1:0");
    char path[128];
    snprintf (path, sizeof path, "%s/cert.pem", dir);
    free (tls.config.http_cert_file);
    tls.config.http_cert_file = strdup (path);
    snprintf (path, sizeof path, "%s/key.pem", dir);
    free (tls.config.http_key_file);
    tls.config.http_key_file = strdup (path);
    kt_metrics_start (&tls, f->clock);
    //  curl checks the certificate against the pair made above; the
    //  token goes in a header file (never on a command line).
    snprintf (path, sizeof path, "%s/header", dir);
    FILE *h = fopen (path, "w");
    fprintf (h, "Authorization: Bearer %s\n", f->sup1);
    fclose (h);
    snprintf (cmd, sizeof cmd,
              "curl -sS --max-time 10 --cacert %s/cert.pem -H @%s/header "
              "'https://127.0.0.1:%d/api/kpi.summary?shop=demo-shop'",
              dir, dir, tls.http_port);
    FILE *p = popen (cmd, "r");
    char out[8192] = "";
    size_t n = fread (out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal (pclose (p), 0);
    s_has (out, "\"customer_opened\":9");
    //  Plain HTTP to the HTTPS port gets no HTTP answer.
    snprintf (cmd, sizeof cmd,
              "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' "
              "http://127.0.0.1:%d/healthz",
              tls.http_port);
    p = popen (cmd, "r");
    n = fread (out, 1, sizeof out - 1, p);
    out[n] = 0;
    pclose (p);
    assert_string_equal (out, "000");
    kt_metrics_stop (&tls);
    kt_metrics_free (&tls);
    const char *files[] = {"cert.pem", "key.pem", "header"};
    for (int i = 0; i < 3; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, files[i]);
        unlink (path);
    }
    rmdir (dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_no_token_or_a_wrong_one_gets_401_and_no_data, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_another_shops_token_gets_403_and_no_data, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_the_api_answers_each_kind_as_the_query_endpoint_does,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_every_table_downloads_as_csv, s_setup, s_teardown),
        cmocka_unit_test (test_csv_quotes_what_a_spreadsheet_would_misread),
        cmocka_unit_test_setup_teardown (test_failed_logins_from_one_source_are_slowed_down,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_traversal_bodies_and_oversized_requests_are_refused,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_the_page_is_embedded_and_never_writes_html_from_data,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_prometheus_gets_counters_and_the_shops_kpis, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_https_with_a_certificate_and_key, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
