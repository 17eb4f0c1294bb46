/*  test_kf_log — one line per event on stderr, as logfmt text or JSON.

    Usage, as in every service's main:

        kf_log_init ("intake");
        kf_log_info ("batch.committed", "shop=%s items=%d ms=%.1f", shop, n, ms);

    The tests redirect file descriptor 2 into a temporary file around each
    call and read back what an operator (or a log shipper) would see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kf_clock.h"
#include "kf_log.h"

//  --- capturing stderr -----------------------------------------------------

static int s_saved_fd = -1;
static FILE *s_tmp = NULL;

static void
s_capture_begin (void)
{
    fflush (stderr);
    s_tmp = tmpfile ();
    assert_non_null (s_tmp);
    s_saved_fd = dup (2);
    assert_true (s_saved_fd >= 0);
    assert_true (dup2 (fileno (s_tmp), 2) >= 0);
}

//  Restore stderr and return what was written to it. Caller frees.
static char *
s_capture_end (void)
{
    fflush (stderr);
    assert_true (dup2 (s_saved_fd, 2) >= 0);
    close (s_saved_fd);
    fseek (s_tmp, 0, SEEK_END);
    long size = ftell (s_tmp);
    assert_true (size >= 0);
    rewind (s_tmp);
    char *text = calloc (1, (size_t) size + 1);
    size_t got = fread (text, 1, (size_t) size, s_tmp);
    text[got] = '\0';
    fclose (s_tmp);
    s_tmp = NULL;
    return text;
}

static int
s_count_lines (const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

//  Parse one JSON line (without its newline). Caller owns the result.
static json_t *
s_parse_line (const char *line, size_t len)
{
    json_error_t jerr;
    json_t *obj = json_loadb (line, len, 0, &jerr);
    if (!obj)
        fail_msg ("not JSON (%s): %.*s", jerr.text, (int) len, line);
    assert_true (json_is_object (obj));
    return obj;
}

//  The captured output must be exactly one JSON line; return it parsed.
static json_t *
s_one_json (const char *out)
{
    assert_int_equal (s_count_lines (out), 1);
    size_t len = strlen (out);
    assert_true (len > 0 && out[len - 1] == '\n');
    return s_parse_line (out, len - 1);
}

static int
s_setup (void **state)
{
    (void) state;
    kf_log_init ("intake");
    kf_log_set_level (KF_LOG_INFO);
    assert_int_equal (kf_log_set_format_name ("text"), 0);
    return 0;
}

//  --- text ---------------------------------------------------------------

static void
test_text_line (void **state)
{
    (void) state;
    int64_t before = kf_clock_now_ms (NULL);
    s_capture_begin ();
    kf_log_info ("batch.committed", "shop=%s items=%d ms=%.1f", "tmall-hzfs", 12, 1.4);
    char *out = s_capture_end ();
    int64_t after = kf_clock_now_ms (NULL);

    assert_int_equal (s_count_lines (out), 1);
    //  ts=<24 characters of UTC time> then the fixed part.
    assert_memory_equal (out, "ts=", 3);
    char ts[32];
    memcpy (ts, out + 3, 24);
    ts[24] = '\0';
    assert_int_equal (ts[10], 'T');
    assert_int_equal (ts[23], 'Z');
    int64_t when = kf_clock_parse_utc (ts);
    assert_true (when >= before - 1 && when <= after + 1);
    assert_string_equal (out + 3 + 24,
                         " lvl=info svc=intake batch.committed shop=tmall-hzfs items=12 ms=1.4\n");
    free (out);

    //  The other levels; and an event without pairs ends without a space.
    s_capture_begin ();
    kf_log_warn ("store.connection_lost", "during=%s", "COMMIT");
    kf_log_error ("service.stopped", "%s", "");
    out = s_capture_end ();
    assert_int_equal (s_count_lines (out), 2);
    assert_non_null (strstr (out, " lvl=warn svc=intake store.connection_lost during=COMMIT\n"));
    assert_non_null (strstr (out, " lvl=error svc=intake service.stopped\n"));
    free (out);
}

static void
test_levels (void **state)
{
    (void) state;
    //  At info, debug lines are not printed, and not even formatted.
    assert_false (kf_log_enabled (KF_LOG_DEBUG));
    assert_true (kf_log_enabled (KF_LOG_INFO));
    assert_true (kf_log_enabled (KF_LOG_ERROR));
    s_capture_begin ();
    kf_log_debug ("item.received", "id=%d", 1);
    kf_log_write (KF_LOG_DEBUG, "item.received", "id=%d", 2);
    kf_log_info ("item.stored", "id=%d", 3);
    char *out = s_capture_end ();
    assert_int_equal (s_count_lines (out), 1);
    assert_null (strstr (out, "item.received"));
    assert_non_null (strstr (out, "item.stored id=3"));
    free (out);

    assert_int_equal (kf_log_set_level_name ("debug"), 0);
    assert_true (kf_log_enabled (KF_LOG_DEBUG));
    s_capture_begin ();
    kf_log_debug ("item.received", "id=%d", 4);
    out = s_capture_end ();
    assert_non_null (strstr (out, " lvl=debug svc=intake item.received id=4\n"));
    free (out);

    //  At error, info and warn are dropped.
    assert_int_equal (kf_log_set_level_name ("error"), 0);
    s_capture_begin ();
    kf_log_info ("a.info", "%s", "");
    kf_log_warn ("a.warn", "%s", "");
    kf_log_error ("a.error", "%s", "");
    out = s_capture_end ();
    assert_int_equal (s_count_lines (out), 1);
    assert_non_null (strstr (out, "a.error"));
    free (out);

    //  Unknown names change nothing.
    assert_int_equal (kf_log_set_level_name ("verbose"), -1);
    assert_int_equal (kf_log_set_level_name ("INFO"), -1);
    assert_false (kf_log_enabled (KF_LOG_WARN));
    assert_int_equal (kf_log_set_format_name ("xml"), -1);
    assert_int_equal (kf_log_set_level_name ("warn"), 0);
    assert_true (kf_log_enabled (KF_LOG_WARN));
    assert_false (kf_log_enabled (KF_LOG_INFO));
}

static void
test_text_no_forged_lines (void **state)
{
    (void) state;
    //  Untrusted text with a newline, a carriage return and an escape
    //  sequence cannot start a second line or colour the terminal.
    const char *evil = "x\nts=2026-01-01T00:00:00.000Z lvl=error svc=intake forged=1\r\x1b[31mred";
    s_capture_begin ();
    kf_log_warn ("item.rejected", "reason=\"%s\" n=%d", evil, 1);
    char *out = s_capture_end ();
    assert_int_equal (s_count_lines (out), 1);
    assert_null (strchr (out, '\r'));
    assert_null (strchr (out, '\x1b'));
    assert_non_null (strstr (out, " n=1\n"));
    free (out);
}

//  --- JSON -------------------------------------------------------------

static void
test_json_line (void **state)
{
    (void) state;
    assert_int_equal (kf_log_set_format_name ("json"), 0);
    s_capture_begin ();
    kf_log_info ("batch.committed",
                 "shop=%s items=%d ms=%.1f reason=\"%s\" id=\"%d\" offset=%lld neg=%d flag",
                 "tmall-hzfs", 12, 1.4, "database was slow", 42, 1795422600000LL, -7);
    char *out = s_capture_end ();
    json_t *obj = s_one_json (out);
    assert_string_equal (json_string_value (json_object_get (obj, "lvl")), "info");
    assert_string_equal (json_string_value (json_object_get (obj, "svc")), "intake");
    assert_string_equal (json_string_value (json_object_get (obj, "event")), "batch.committed");
    const char *ts = json_string_value (json_object_get (obj, "ts"));
    assert_non_null (ts);
    assert_true (kf_clock_parse_utc (ts) > 0);
    //  Unquoted numbers are numbers; quoted values are strings.
    json_t *items = json_object_get (obj, "items");
    assert_true (json_is_integer (items));
    assert_int_equal (json_integer_value (items), 12);
    json_t *offset = json_object_get (obj, "offset");
    assert_true (json_is_integer (offset));
    assert_int_equal (json_integer_value (offset), 1795422600000LL);
    assert_int_equal (json_integer_value (json_object_get (obj, "neg")), -7);
    json_t *ms = json_object_get (obj, "ms");
    assert_true (json_is_real (ms));
    assert_true (json_real_value (ms) > 1.39 && json_real_value (ms) < 1.41);
    assert_string_equal (json_string_value (json_object_get (obj, "shop")), "tmall-hzfs");
    assert_string_equal (json_string_value (json_object_get (obj, "reason")), "database was slow");
    json_t *id = json_object_get (obj, "id");
    assert_true (json_is_string (id));
    assert_string_equal (json_string_value (id), "42");
    assert_true (json_is_true (json_object_get (obj, "flag")));
    json_decref (obj);
    free (out);
}

static void
test_json_one_object_per_line (void **state)
{
    (void) state;
    assert_int_equal (kf_log_set_format_name ("json"), 0);
    s_capture_begin ();
    for (int i = 0; i < 5; i++)
        kf_log_info ("item.stored", "n=%d body=\"%s\"", i, "亲，在吗？这件衣服有M码吗 😀");
    kf_log_warn ("item.rejected", "reason=\"%s\" quote=\"%s\"", "line one\nline two\r\n",
                 "she said \\\"hi\\\"");
    kf_log_debug ("not.printed", "n=%d", 99);
    char *out = s_capture_end ();
    assert_int_equal (s_count_lines (out), 6);
    const char *line = out;
    for (int i = 0; i < 6; i++) {
        const char *end = strchr (line, '\n');
        assert_non_null (end);
        json_t *obj = s_parse_line (line, (size_t) (end - line));
        if (i < 5) {
            assert_int_equal (json_integer_value (json_object_get (obj, "n")), i);
            assert_string_equal (json_string_value (json_object_get (obj, "body")),
                                 "亲，在吗？这件衣服有M码吗 😀");
        } else {
            assert_string_equal (json_string_value (json_object_get (obj, "lvl")), "warn");
            //  The newline did not split the line; it became a space.
            const char *reason = json_string_value (json_object_get (obj, "reason"));
            assert_non_null (reason);
            assert_null (strchr (reason, '\n'));
            assert_non_null (strstr (reason, "line one"));
            assert_non_null (strstr (reason, "line two"));
            assert_string_equal (json_string_value (json_object_get (obj, "quote")),
                                 "she said \"hi\"");
        }
        json_decref (obj);
        line = end + 1;
    }
    free (out);
}

static void
test_json_number_detection (void **state)
{
    (void) state;
    //  Only decimal numbers that JSON can hold become numbers. Other
    //  unquoted words that strtod happens to accept must stay text (and
    //  must not vanish): a shop id "nan" or "inf", an id in hex, and a
    //  20-digit order number that does not fit in int64.
    assert_int_equal (kf_log_set_format_name ("json"), 0);
    s_capture_begin ();
    kf_log_info ("item.stored", "shop=%s other=%s hex=%s order=%s after=%d", "nan", "inf", "0x1A",
                 "99999999999999999999", 1);
    char *out = s_capture_end ();
    json_t *obj = s_one_json (out);
    assert_int_equal (json_integer_value (json_object_get (obj, "after")), 1);
    const char *keys[] = {"shop", "other", "hex", "order"};
    const char *values[] = {"nan", "inf", "0x1A", "99999999999999999999"};
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get (obj, keys[i]);
        if (!v || !json_is_string (v) || strcmp (json_string_value (v), values[i]) != 0) {
            char *dump = v ? json_dumps (v, JSON_ENCODE_ANY) : NULL;
            print_error ("%s=%s became %s\n", keys[i], values[i], dump ? dump : "(missing)");
            free (dump);
            wrong++;
        }
    }
    json_decref (obj);
    free (out);
    assert_int_equal (wrong, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_text_line, s_setup),
        cmocka_unit_test_setup (test_levels, s_setup),
        cmocka_unit_test_setup (test_text_no_forged_lines, s_setup),
        cmocka_unit_test_setup (test_json_line, s_setup),
        cmocka_unit_test_setup (test_json_one_object_per_line, s_setup),
        cmocka_unit_test_setup (test_json_number_detection, s_setup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
