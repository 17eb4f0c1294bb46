/*  test_metrics_browser — the dashboard in a real browser: headless
    Chromium (Debian's) driven over the DevTools protocol on a pipe
    (--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), against
    kefu-metrics following a shop morning pushed through real intake and
    routing on a driven clock. The test logs in through the page's form
    with a token from kefuctl, waits until the page says it has loaded,
    reads what it shows (the tiles against their targets, the waiting
    customer named "<script>alert(1)</script>" as text, the agents),
    pushes a new customer and waits for the page to show them on its own,
    requires that the console saw no error and no exception, and keeps a
    screenshot: <build dir>/dashboard.png. */
#include "kefu/v1/events.pb-c.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "kt_routing.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define S_TIMEOUT_MS 30000 //  one DevTools answer at most

typedef struct {
    pid_t pid;          //  chromium
    int to;             //  we write commands here (its fd 3)
    int from;           //  and read answers here (its fd 4)
    char *buf;          //  bytes read, not yet a whole message
    size_t len;         //  how many
    int next_id;        //  next command id
    char session[128];  //  the page's session
    zlistx_t *problems; //  console errors and exceptions seen (strings)
    char profile[64];   //  --user-data-dir
} s_browser_t;

//  A finished event: console errors, exceptions and error log entries are
//  problems.
static void
s_on_event (s_browser_t *b, json_t *msg)
{
    const char *method = json_string_value (json_object_get (msg, "method"));
    json_t *params = json_object_get (msg, "params");
    const char *text = NULL;
    if (method && strcmp (method, "Runtime.exceptionThrown") == 0)
        text = "exception";
    else if (method && strcmp (method, "Runtime.consoleAPICalled") == 0) {
        const char *type = json_string_value (json_object_get (params, "type"));
        if (type && (strcmp (type, "error") == 0 || strcmp (type, "assert") == 0))
            text = "console.error";
    } else if (method && strcmp (method, "Log.entryAdded") == 0) {
        const char *level =
            json_string_value (json_object_get (json_object_get (params, "entry"), "level"));
        if (level && strcmp (level, "error") == 0)
            text = "log error";
    }
    if (text) {
        char *dump = json_dumps (params, JSON_COMPACT);
        char *line = NULL;
        if (asprintf (&line, "%s: %s", text, dump) < 0)
            line = NULL;
        free (dump);
        if (line)
            zlistx_add_end (b->problems, line);
    }
}

//  The next whole message, or NULL after timeout_ms.
static json_t *
s_read (s_browser_t *b, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        char *nul = b->len ? memchr (b->buf, 0, b->len) : NULL;
        if (nul) {
            size_t n = (size_t) (nul - b->buf) + 1;
            json_t *msg = json_loadb (b->buf, n - 1, 0, NULL);
            memmove (b->buf, b->buf + n, b->len - n);
            b->len -= n;
            return msg;
        }
        int left = (int) (deadline - zclock_mono ());
        struct pollfd p = {b->from, POLLIN, 0};
        if (left <= 0 || poll (&p, 1, left) != 1)
            return NULL;
        b->buf = realloc (b->buf, b->len + 65536);
        ssize_t got = read (b->from, b->buf + b->len, 65536);
        if (got <= 0)
            return NULL;
        b->len += (size_t) got;
    }
}

//  Send method with params (stolen) to the page's session (or the browser
//  when session is false) and wait for its result (caller decrefs).
static json_t *
s_call (s_browser_t *b, bool session, const char *method, json_t *params)
{
    int id = ++b->next_id;
    json_t *msg = json_pack ("{s:i, s:s, s:o}", "id", id, "method", method, "params",
                             params ? params : json_object ());
    if (session)
        json_object_set_new (msg, "sessionId", json_string (b->session));
    char *text = json_dumps (msg, JSON_COMPACT);
    json_decref (msg);
    size_t len = strlen (text) + 1; //  with its NUL
    assert_int_equal (write (b->to, text, len), (ssize_t) len);
    free (text);
    while (true) {
        json_t *in = s_read (b, S_TIMEOUT_MS);
        if (!in)
            fail_msg ("no answer from chromium to %s", method);
        if (json_integer_value (json_object_get (in, "id")) == id) {
            json_t *error = json_object_get (in, "error");
            if (error) {
                char *e = json_dumps (error, JSON_COMPACT);
                fail_msg ("%s: %s", method, e);
            }
            json_t *result = json_incref (json_object_get (in, "result"));
            json_decref (in);
            return result;
        }
        s_on_event (b, in);
        json_decref (in);
    }
}

//  Evaluate expression in the page (awaiting a promise); its value.
static json_t *
s_eval (s_browser_t *b, const char *expression)
{
    json_t *r = s_call (b, true, "Runtime.evaluate",
                        json_pack ("{s:s, s:b, s:b}", "expression", expression, "awaitPromise", 1,
                                   "returnByValue", 1));
    if (json_object_get (r, "exceptionDetails")) {
        char *e = json_dumps (r, JSON_COMPACT);
        fail_msg ("%s threw: %s", expression, e);
    }
    json_t *v = json_incref (json_object_get (json_object_get (r, "result"), "value"));
    json_decref (r);
    return v;
}

//  Wait in the page (its own timers, not ours) until condition is true.
static void
s_wait_for (s_browser_t *b, const char *condition)
{
    char *expr = NULL;
    assert_true (asprintf (&expr,
                           "new Promise ((done) => { const t0 = Date.now (); (function check () {"
                           " if (%s) done (true); else if (Date.now () - t0 > 20000) done (false);"
                           " else setTimeout (check, 25); }) (); })",
                           condition) > 0);
    json_t *v = s_eval (b, expr);
    if (!json_is_true (v))
        fail_msg ("the page never got to: %s", condition);
    json_decref (v);
    free (expr);
}

static void
s_free_text (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_start (s_browser_t *b, const char *log_path)
{
    memset (b, 0, sizeof *b);
    b->problems = zlistx_new ();
    zlistx_set_destructor (b->problems, s_free_text);
    snprintf (b->profile, sizeof b->profile, "/tmp/kt_chromium_XXXXXX");
    assert_non_null (mkdtemp (b->profile));
    int to[2], from[2];
    assert_int_equal (pipe (to), 0);
    assert_int_equal (pipe (from), 0);
    char profile[96];
    snprintf (profile, sizeof profile, "--user-data-dir=%s", b->profile);
    b->pid = fork ();
    assert_true (b->pid >= 0);
    if (b->pid == 0) {
        //  fd 3: commands in, fd 4: answers out.
        int in = dup (to[0]), out = dup (from[1]);
        dup2 (in, 3);
        dup2 (out, 4);
        int log = open (log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            dup2 (log, 1);
            dup2 (log, 2);
        }
        for (int fd = 5; fd < 1024; fd++)
            close (fd);
        execlp ("chromium", "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--hide-scrollbars", "--window-size=1280,1500", "--lang=zh-CN", profile,
                "about:blank", (char *) NULL);
        _exit (127);
    }
    close (to[0]);
    close (from[1]);
    b->to = to[1];
    b->from = from[0];
    signal (SIGPIPE, SIG_IGN);
    //  A page of its own, attached with a flat session.
    json_t *t = s_call (b, false, "Target.createTarget", json_pack ("{s:s}", "url", "about:blank"));
    const char *target = json_string_value (json_object_get (t, "targetId"));
    assert_non_null (target);
    json_t *a = s_call (b, false, "Target.attachToTarget",
                        json_pack ("{s:s, s:b}", "targetId", target, "flatten", 1));
    snprintf (b->session, sizeof b->session, "%s",
              json_string_value (json_object_get (a, "sessionId")));
    json_decref (a);
    json_decref (t);
    json_decref (s_call (b, true, "Runtime.enable", NULL));
    json_decref (s_call (b, true, "Log.enable", NULL));
    json_decref (s_call (b, true, "Page.enable", NULL));
}

static void
s_remove_tree (const char *dir)
{
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

static void
s_stop (s_browser_t *b)
{
    int id = ++b->next_id;
    char cmd[64];
    int n = snprintf (cmd, sizeof cmd, "{\"id\":%d,\"method\":\"Browser.close\"}", id);
    if (write (b->to, cmd, (size_t) n + 1) < 0)
        fprintf (stderr, "chromium: %s\n", strerror (errno));
    close (b->to);
    int status = 0;
    int64_t deadline = zclock_mono () + 10000;
    while (waitpid (b->pid, &status, WNOHANG) == 0) {
        if (zclock_mono () > deadline) {
            kill (b->pid, SIGKILL);
            waitpid (b->pid, &status, 0);
            break;
        }
        //  Reading what it still says is the wait.
        json_decref (s_read (b, 100));
    }
    close (b->from);
    free (b->buf);
    zlistx_destroy (&b->problems);
    s_remove_tree (b->profile);
}

//  The text of a tile's value and its class list.
static void
s_tile (s_browser_t *b, const char *id, const char *value, const char *state)
{
    char expr[256];
    snprintf (expr, sizeof expr,
              "document.querySelector ('#%s .value').textContent + '|' + "
              "document.getElementById ('%s').className",
              id, id);
    json_t *v = s_eval (b, expr);
    char want[128];
    snprintf (want, sizeof want, "%s|tile %s", value, state);
    if (!json_is_string (v) || strcmp (json_string_value (v), want) != 0)
        fail_msg ("tile %s shows \"%s\", expected \"%s\"", id,
                  json_is_string (v) ? json_string_value (v) : "?", want);
    json_decref (v);
}

//  ---------------------------------------------------------------------
//  The shop day: intake, routing and metrics in-process on a driven clock

#define SHOP "demo-shop"

typedef struct {
    char *db;             //  conninfo
    kf_clock_t *clock;    //  shared driven clock
    kt_intake_t *intake;  //  intake
    kt_routing_t routing; //  routing
    kt_metrics_t metrics; //  metrics, with HTTP
    zsock_t *gw;          //  the gateway
    int seq;              //  item ids
} s_day_t;

static void
s_day_start (s_day_t *d)
{
    d->db = kt_db_fresh ("metrics_browser");
    kt_shop_add (d->db, SHOP);
    kt_sql (d->db, "INSERT INTO routing_groups (shop_id, group_name, display_name) VALUES "
                   "('demo-shop', 'presales', '售前'), ('demo-shop', 'aftersales', '售后');"
                   "INSERT INTO shifts VALUES ('demo-shop', 'day', 510, 1050);"
                   "INSERT INTO agents (shop_id, agent_id, name, capacity) VALUES "
                   "('demo-shop', 'xiaomei', '小美', 2), ('demo-shop', 'ajie', '阿杰', 1);"
                   "INSERT INTO agent_groups VALUES ('demo-shop', 'xiaomei', 'presales'), "
                   "('demo-shop', 'ajie', 'aftersales');"
                   "INSERT INTO agent_schedule (shop_id, agent_id, shift_name) VALUES "
                   "('demo-shop', 'xiaomei', 'day'), ('demo-shop', 'ajie', 'day');"
                   "INSERT INTO routing_settings (shop_id) VALUES ('demo-shop')");
    //  Monday 2026-11-23 09:00 in Shanghai.
    d->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    d->intake = kt_intake_new (d->db, d->clock);
    kt_intake_start (d->intake);
    kt_routing_start (&d->routing, d->db, d->intake->events_endpoint, d->intake->command_endpoint,
                      d->clock);
    char routing_events[64];
    snprintf (routing_events, sizeof routing_events, "tcp://127.0.0.1:%d",
              kt_routing_port (&d->routing, "events"));
    kt_metrics_init (&d->metrics, d->db, d->intake->events_endpoint, routing_events);
    free (d->metrics.config.http_endpoint);
    d->metrics.config.http_endpoint = strdup ("127.0.0.1:0");
    kt_metrics_start (&d->metrics, d->clock);
    bool welcomed = false;
    d->gw = kt_gw_connect (d->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
}

static void
s_day_stop (s_day_t *d)
{
    zsock_destroy (&d->gw);
    kt_metrics_stop (&d->metrics);
    kt_metrics_free (&d->metrics);
    kt_routing_stop (&d->routing);
    kt_intake_destroy (&d->intake);
    kf_clock_destroy (&d->clock);
    free (d->db);
}

//  At local time at (HH:MM:SS, Monday), what happens: c a customer writes,
//  r an agent replies, p an agent comes online, s a rating. Then routing
//  and metrics catch up.
static void
s_at (s_day_t *d, const char *at, char what, const char *who, const char *agent, const char *text)
{
    int h = 0, m = 0, sec = 0;
    assert_int_equal (sscanf (at, "%d:%d:%d", &h, &m, &sec), 3);
    int64_t when = kf_clock_parse_utc ("2026-11-22T16:00:00Z") + ((h * 60 + m) * 60 + sec) * 1000LL;
    assert_int_equal (kf_clock_set (d->clock, when), 0);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    Kefu__V1__CustomerRating rating = KEFU__V1__CUSTOMER_RATING__INIT;
    if (what == 'c') {
        msg.customer_id = kt_text (who);
        msg.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
        item.customer_message = &msg;
    } else if (what == 'r') {
        reply.customer_id = kt_text (who);
        reply.agent_id = kt_text (agent);
        reply.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
        item.agent_reply = &reply;
    } else if (what == 'p') {
        presence.agent_id = kt_text (who);
        presence.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
        presence.handover_note = kt_text ("");
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
        item.agent_presence = &presence;
    } else {
        rating.customer_id = kt_text (who);
        rating.score = (uint32_t) atoi (text);
        rating.agent_id = kt_text (agent);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING;
        item.customer_rating = &rating;
    }
    char id[32];
    snprintf (id, sizeof id, "it-%d", ++d->seq);
    item.shop_id = kt_text (SHOP);
    item.gateway_msg_id = kt_text (id);
    item.sent_at_ms = when;
    item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push (d->gw, &item);
    kt_routing_settle (&d->routing, d->db);
    kt_metrics_settle (&d->metrics, d->db);
}

static void
test_the_dashboard_shows_the_day_in_a_real_browser (void **state)
{
    (void) state;
    s_day_t d;
    memset (&d, 0, sizeof d);
    s_day_start (&d);
    KT_EXPECT (d.db, 0, "principal", "add", "sup1", "--role", "supervisor", "--shops", SHOP);
    KT_EXPECT (d.db, 0, "principal", "token", "sup1");
    char token[64];
    snprintf (token, sizeof token, "%.52s", kt_kefuctl_last.out);
    free (kt_metrics_command (&d.metrics, "SYNC")); //  knows the token now

    //  The morning: lily is answered in 10 s and rates 5; the customer
    //  who calls themself <script>alert(1)</script> is still waiting.
    s_at (&d, "09:00:00", 'p', "xiaomei", NULL, NULL);
    s_at (&d, "09:00:00", 'p', "ajie", NULL, NULL);
    s_at (&d, "09:00:10", 'c', "tb_lily88", NULL, "在吗？这件有现货吗");
    s_at (&d, "09:00:20", 'r', "tb_lily88", "xiaomei", "亲，有现货的");
    s_at (&d, "09:02:00", 'c', "<script>alert(1)</script>", NULL, "<b>什么时候发货</b>");
    s_at (&d, "09:03:00", 's', "tb_lily88", "xiaomei", "5");
    s_at (&d, "09:05:00", 'p', "xiaomei", NULL, NULL);

    const char *dir = getenv ("KEFU_TEST_BIN_DIR");
    char log[512], shot[512], url[64];
    snprintf (log, sizeof log, "%s/chromium.log", dir ? dir : ".");
    snprintf (shot, sizeof shot, "%s/dashboard.png", dir ? dir : ".");
    snprintf (url, sizeof url, "http://127.0.0.1:%d/", d.metrics.http_port);
    s_browser_t b;
    s_start (&b, log);
    //  Had anything run the customer's name as a script, alert would say so.
    json_decref (s_call (
        &b, true, "Page.addScriptToEvaluateOnNewDocument",
        json_pack ("{s:s}", "source", "window.alert = () => { window.kefuAlerted = true; };")));
    json_decref (s_call (&b, true, "Page.navigate", json_pack ("{s:s}", "url", url)));
    s_wait_for (&b, "document.readyState === 'complete' && !document.getElementById ('login')"
                    ".hidden");
    //  Log in as a person would: the token into the form, submit.
    char login[256];
    snprintf (login, sizeof login,
              "document.getElementById ('token').value = '%s';"
              "document.getElementById ('login-form').requestSubmit (); true",
              token);
    json_decref (s_eval (&b, login));
    s_wait_for (&b, "document.body.dataset.loaded === 'yes'");

    //  The tiles against the shop's targets: one round of 10 s (<= 30 s),
    //  its first response within 20 s (>= 90 %), 1 of 2 customers
    //  answered (< 95 %), one rating of 5, no order data yet.
    s_tile (&b, "kpi-response", "10 s", "ok");
    s_tile (&b, "kpi-frt20", "100 %", "ok");
    s_tile (&b, "kpi-answer", "50 %", "bad");
    s_tile (&b, "kpi-csat", "100 %", "ok");
    s_tile (&b, "kpi-orders", "not available", "na");
    json_t *v = s_eval (&b, "document.getElementById ('counts').textContent");
    assert_non_null (strstr (json_string_value (v), "conversations 2 (answered 1, after hours 0"));
    json_decref (v);
    //  The customer's name is text in a cell, and nothing ran.
    v = s_eval (&b, "document.querySelector ('#waiting tbody td').textContent + '|' + "
                    "document.querySelectorAll ('#waiting script, #waiting b').length + '|' + "
                    "(window.kefuAlerted === true)");
    assert_string_equal (json_string_value (v), "<script>alert(1)</script>|0|false");
    json_decref (v);
    v = s_eval (&b, "document.querySelector ('#agents tbody').textContent");
    assert_non_null (strstr (json_string_value (v), "xiaomei"));
    assert_non_null (strstr (json_string_value (v), "online"));
    json_decref (v);
    v = s_eval (&b, "document.querySelectorAll ('#chart-conversations rect').length");
    assert_int_equal (json_integer_value (v), 1); //  the 09:00 hour
    json_decref (v);
    //  The month's scorecards (kefu-metrics answers agent.scorecard): the
    //  agent, and the reason of an item kefu has no data for.
    v = s_eval (&b, "document.getElementById ('scorecards').textContent");
    assert_non_null (strstr (json_string_value (v), "xiaomei"));
    assert_non_null (strstr (json_string_value (v), "not entered for this month"));
    json_decref (v);
    //  Today's attendance: both signed in at 09:00 for the 08:30 shift.
    v = s_eval (&b, "document.querySelector ('#attendance tbody').textContent");
    assert_non_null (
        strstr (json_string_value (v), "xiaomeiday08:30–17:30late09:00(still in)30 min"));
    json_decref (v);
    //  Nothing of the token in the address.
    v = s_eval (&b, "location.href");
    assert_string_equal (json_string_value (v), url);
    json_decref (v);

    //  A new customer while the page is open: it shows them on its own.
    s_at (&d, "09:06:00", 'c', "wx_newcomer", NULL, "你好");
    s_wait_for (&b, "document.getElementById ('waiting').textContent.includes ('wx_newcomer') && "
                    "document.querySelector ('#kpi-answer .value').textContent === '33.3 %'");
    s_tile (&b, "kpi-answer", "33.3 %", "bad");

    //  Order-sync's first events: an order shipped before the cutoff and
    //  one flagged late make the timeliness tile 50 %, below its 95 %.
    const char *kinds[] = {"order.shipped", "order.flagged"};
    for (int i = 0; i < 2; i++) {
        Kefu__V1__OrderEvent o = KEFU__V1__ORDER_EVENT__INIT;
        o.order_id = i ? "D2" : "D1";
        o.state = i ? KEFU__V1__ORDER_STATE__ORDER_PAID : KEFU__V1__ORDER_STATE__ORDER_SHIPPED;
        o.flag = i ? "late" : "";
        o.task = i ? "shipping_delay" : "";
        o.at_ms = kf_clock_now_ms (d.clock);
        Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
        ev.shop_id = SHOP;
        ev.kind = (char *) kinds[i];
        ev.occurred_at_ms = o.at_ms;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_ORDER;
        ev.order = &o;
        kt_metrics_write_event (d.db, "ordersync", &ev);
    }
    kt_metrics_settle (&d.metrics, d.db);
    s_wait_for (&b, "document.querySelector ('#kpi-orders .value').textContent === '50 %'");
    s_tile (&b, "kpi-orders", "50 %", "bad");

    json_t *png = s_call (&b, true, "Page.captureScreenshot",
                          json_pack ("{s:s, s:b}", "format", "png", "captureBeyondViewport", 1));
    zarmour_t *armour = zarmour_new ();
    zchunk_t *bytes = zarmour_decode (armour, json_string_value (json_object_get (png, "data")));
    assert_non_null (bytes);
    assert_true (zchunk_size (bytes) > 10000);
    assert_memory_equal (zchunk_data (bytes), "\x89PNG", 4);
    FILE *f = fopen (shot, "wb");
    assert_non_null (f);
    assert_int_equal (fwrite (zchunk_data (bytes), 1, zchunk_size (bytes), f), zchunk_size (bytes));
    fclose (f);
    zchunk_destroy (&bytes);
    zarmour_destroy (&armour);
    json_decref (png);

    //  Every event so far, then: no console error, no exception.
    json_decref (s_eval (&b, "true"));
    for (const char *p = zlistx_first (b.problems); p; p = zlistx_next (b.problems))
        fprintf (stderr, "console: %s\n", p);
    assert_int_equal (zlistx_size (b.problems), 0);
    s_stop (&b);
    s_day_stop (&d);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_the_dashboard_shows_the_day_in_a_real_browser),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
