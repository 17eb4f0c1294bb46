/*  test_metrics_browser — the dashboard in a real browser: headless
    Chromium (Debian's) driven over the DevTools protocol on a pipe
    (--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), against
    kefu-metrics serving the shop day of kt_metrics_seed_day on a driven
    clock. The test logs in through the page's form with a token from
    kefuctl, waits until the page says it has loaded, reads what it shows
    (the tiles against their targets, the waiting customer named
    "<script>alert(1)</script>" as text, the agents), requires that the
    console saw no error and no exception, and keeps a screenshot:
    <build dir>/dashboard.png. */
#include "kt_db.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"

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

static void
test_the_dashboard_shows_the_day_in_a_real_browser (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("metrics_browser");
    kt_metrics_seed_day (db, "<script>alert(1)</script>");
    KT_EXPECT (db, 0, "principal", "add", "sup1", "--role", "supervisor", "--shops", "demo-shop");
    KT_EXPECT (db, 0, "principal", "token", "sup1");
    char token[64];
    snprintf (token, sizeof token, "%.52s", kt_kefuctl_last.out);
    kf_clock_t *clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T02:05:00Z"));
    kt_metrics_t metrics;
    kt_metrics_init (&metrics, db, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9");
    free (metrics.config.http_endpoint);
    metrics.config.http_endpoint = strdup ("127.0.0.1:0");
    kt_metrics_start (&metrics, clock);

    const char *dir = getenv ("KEFU_TEST_BIN_DIR");
    char log[512], shot[512], url[64];
    snprintf (log, sizeof log, "%s/chromium.log", dir ? dir : ".");
    snprintf (shot, sizeof shot, "%s/dashboard.png", dir ? dir : ".");
    snprintf (url, sizeof url, "http://127.0.0.1:%d/", metrics.http_port);
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

    //  The tiles against the shop's targets: rounds 220 s / 13 = 16.9 s
    //  (<= 30 s), 7 of 7 answered (>= 95 %), 3 of 4 ratings good (< 95 %),
    //  no first response within 20 s recorded, no order data yet.
    s_tile (&b, "kpi-response", "16.9 s", "ok");
    s_tile (&b, "kpi-answer", "100 %", "ok");
    s_tile (&b, "kpi-csat", "75 %", "bad");
    s_tile (&b, "kpi-frt20", "0 %", "bad");
    s_tile (&b, "kpi-orders", "not available", "na");
    json_t *v = s_eval (&b, "document.getElementById ('counts').textContent");
    assert_non_null (strstr (json_string_value (v), "conversations 9 (answered 7, after hours 2"));
    json_decref (v);
    //  The customer's name is text in a cell, and nothing ran.
    v = s_eval (&b, "document.querySelector ('#waiting tbody td').textContent + '|' + "
                    "document.querySelectorAll ('#waiting script').length + '|' + "
                    "(window.kefuAlerted === true)");
    assert_string_equal (json_string_value (v), "<script>alert(1)</script>|0|false");
    json_decref (v);
    v = s_eval (&b, "document.querySelector ('#agents tbody').textContent");
    assert_non_null (strstr (json_string_value (v), "xiaomei"));
    assert_non_null (strstr (json_string_value (v), "online"));
    json_decref (v);
    //  Hourly charts: bars for 09:00 and 10:00.
    v = s_eval (&b, "document.querySelectorAll ('#chart-conversations rect').length");
    assert_int_equal (json_integer_value (v), 2);
    json_decref (v);
    v = s_eval (&b, "document.getElementById ('scorecards').textContent");
    assert_string_equal (json_string_value (v), "not available");
    json_decref (v);
    //  Nothing from the token in the address.
    v = s_eval (&b, "location.href");
    assert_string_equal (json_string_value (v), url);
    json_decref (v);

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
    kt_metrics_stop (&metrics);
    kt_metrics_free (&metrics);
    kf_clock_destroy (&clock);
    free (db);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_the_dashboard_shows_the_day_in_a_real_browser),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
