/*  test_kf_clock — real and driven time, KEFU_CLOCK specs, UTC text.

    The usage pattern for every deadline test in kefu:

        kf_clock_t *clock = kf_clock_new_from_spec ("manual:2026-11-23T08:30:00Z");
        ...start the service with it...
        kf_clock_advance (clock, 30 * 60 * 1000);   //  half an hour, instantly
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kf_clock.h"

#define T_2026_11_23_0830 1795422600000LL //  2026-11-23T08:30:00Z
#define T_2026_01_05      1767571200000LL //  2026-01-05T00:00:00Z

static void
test_manual_advance (void **state)
{
    (void) state;
    kf_clock_t *clock = kf_clock_new_manual (1000);
    assert_non_null (clock);
    assert_true (kf_clock_is_manual (clock));
    assert_int_equal (kf_clock_now_ms (clock), 1000);
    //  It does not move by itself.
    assert_int_equal (kf_clock_now_ms (clock), 1000);
    assert_int_equal (kf_clock_advance (clock, 0), 0);
    assert_int_equal (kf_clock_now_ms (clock), 1000);
    assert_int_equal (kf_clock_advance (clock, 500), 0);
    assert_int_equal (kf_clock_now_ms (clock), 1500);
    assert_int_equal (kf_clock_advance (clock, 30LL * 86400 * 1000), 0);
    assert_int_equal (kf_clock_now_ms (clock), 1500 + 30LL * 86400 * 1000);
    //  Never backwards.
    assert_int_equal (kf_clock_advance (clock, -1), -1);
    assert_int_equal (kf_clock_now_ms (clock), 1500 + 30LL * 86400 * 1000);
    kf_clock_destroy (&clock);
    assert_null (clock);
    kf_clock_destroy (&clock);
    kf_clock_destroy (NULL);
}

static void
test_manual_advance_no_wrap (void **state)
{
    (void) state;
    //  An advance so large it would overflow must not move the clock
    //  backwards: it is refused or saturates.
    kf_clock_t *clock = kf_clock_new_manual (T_2026_11_23_0830);
    int rc = kf_clock_advance (clock, INT64_MAX);
    int64_t now = kf_clock_now_ms (clock);
    kf_clock_destroy (&clock);
    assert_true (rc == 0 || rc == -1);
    assert_true (now >= T_2026_11_23_0830);
}

static void
test_manual_set (void **state)
{
    (void) state;
    kf_clock_t *clock = kf_clock_new_manual (T_2026_01_05);
    assert_int_equal (kf_clock_set (clock, T_2026_11_23_0830), 0);
    assert_int_equal (kf_clock_now_ms (clock), T_2026_11_23_0830);
    //  Setting to the same time is fine, earlier is not.
    assert_int_equal (kf_clock_set (clock, T_2026_11_23_0830), 0);
    assert_int_equal (kf_clock_set (clock, T_2026_11_23_0830 - 1), -1);
    assert_int_equal (kf_clock_set (clock, T_2026_01_05), -1);
    assert_int_equal (kf_clock_now_ms (clock), T_2026_11_23_0830);
    kf_clock_destroy (&clock);
}

static void
test_real (void **state)
{
    (void) state;
    kf_clock_t *clock = kf_clock_new_real ();
    assert_non_null (clock);
    assert_false (kf_clock_is_manual (clock));
    //  Real time: after 2025, and it cannot be driven.
    int64_t now = kf_clock_now_ms (clock);
    assert_true (now > 1735689600000LL);
    assert_int_equal (kf_clock_advance (clock, 1000), -1);
    assert_int_equal (kf_clock_set (clock, now + 3600000), -1);
    assert_true (kf_clock_now_ms (clock) < now + 3600000);
    //  Never goes back between two reads (practically; NTP steps aside).
    assert_true (kf_clock_now_ms (clock) >= now);
    kf_clock_destroy (&clock);

    //  Monotonic time never decreases.
    int64_t m1 = kf_clock_mono_ms ();
    int64_t m2 = kf_clock_mono_ms ();
    assert_true (m2 >= m1);
    assert_true (m1 > 0);
}

static void
test_spec (void **state)
{
    (void) state;
    kf_clock_t *clock = kf_clock_new_from_spec ("real");
    assert_non_null (clock);
    assert_false (kf_clock_is_manual (clock));
    kf_clock_destroy (&clock);

    clock = kf_clock_new_from_spec ("manual");
    assert_non_null (clock);
    assert_true (kf_clock_is_manual (clock));
    assert_int_equal (kf_clock_now_ms (clock), T_2026_01_05);
    kf_clock_destroy (&clock);

    clock = kf_clock_new_from_spec ("manual:0");
    assert_non_null (clock);
    assert_int_equal (kf_clock_now_ms (clock), 0);
    kf_clock_destroy (&clock);

    clock = kf_clock_new_from_spec ("manual:1795422600123");
    assert_non_null (clock);
    assert_true (kf_clock_is_manual (clock));
    assert_int_equal (kf_clock_now_ms (clock), T_2026_11_23_0830 + 123);
    kf_clock_destroy (&clock);

    clock = kf_clock_new_from_spec ("manual:2026-11-23T08:30:00Z");
    assert_non_null (clock);
    assert_int_equal (kf_clock_now_ms (clock), T_2026_11_23_0830);
    kf_clock_destroy (&clock);

    clock = kf_clock_new_from_spec ("manual:2026-11-23 08:30:00");
    assert_non_null (clock);
    assert_int_equal (kf_clock_now_ms (clock), T_2026_11_23_0830);
    kf_clock_destroy (&clock);

    const char *bad[] = {
        "manual:", "manual:abc", "manual:-5",  "manual:12x", "manual:2026-13-01T00:00:00Z",
        "fake",    "REAL",       "manual2026", "manualx",    "real:1",
        " manual"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clock = kf_clock_new_from_spec (bad[i]);
        if (clock)
            fail_msg ("spec \"%s\" was accepted", bad[i]);
    }
}

static void
test_parse_utc (void **state)
{
    (void) state;
    assert_int_equal (kf_clock_parse_utc ("1970-01-01T00:00:00Z"), 0);
    assert_int_equal (kf_clock_parse_utc ("2026-11-23T08:30:00Z"), T_2026_11_23_0830);
    assert_int_equal (kf_clock_parse_utc ("2026-11-23 08:30:00"), T_2026_11_23_0830);
    assert_int_equal (kf_clock_parse_utc ("2026-11-23"), T_2026_11_23_0830 - 30600000);
    assert_int_equal (kf_clock_parse_utc ("2026-11-23T08:30:00.250Z"), T_2026_11_23_0830 + 250);
    assert_int_equal (kf_clock_parse_utc ("2024-02-29T12:00:00Z"), 1709208000000LL);

    const char *bad[] = {"",
                         "yesterday",
                         "2026-00-10T00:00:00Z",
                         "2026-13-10T00:00:00Z",
                         "2026-11-00T00:00:00Z",
                         "2026-11-32T00:00:00Z",
                         "2026-11-23T24:00:00Z",
                         "2026-11-23T08:60:00Z",
                         "2026-11-23X08:30:00Z",
                         "2026-11-23T08:30",
                         "2026/11/23"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (kf_clock_parse_utc (bad[i]) != -1)
            fail_msg ("\"%s\" parsed as %lld", bad[i], (long long) kf_clock_parse_utc (bad[i]));
}

static void
test_parse_utc_calendar (void **state)
{
    (void) state;
    //  Days that do not exist in their month are errors, not the next month.
    const char *bad[] = {"2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z",
                         "2025-02-29"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (kf_clock_parse_utc (bad[i]) != -1)
            fail_msg ("\"%s\" parsed as %lld", bad[i], (long long) kf_clock_parse_utc (bad[i]));
}

static void
test_parse_utc_fraction (void **state)
{
    (void) state;
    //  ".5" is half a second (ISO 8601), never 5 milliseconds. Refusing
    //  anything but three digits would also be acceptable.
    int64_t half = kf_clock_parse_utc ("2026-11-23T08:30:00.5Z");
    assert_true (half == T_2026_11_23_0830 + 500 || half == -1);
    int64_t hundredth = kf_clock_parse_utc ("2026-11-23T08:30:00.05Z");
    assert_true (hundredth == T_2026_11_23_0830 + 50 || hundredth == -1);
}

static void
test_format_round_trip (void **state)
{
    (void) state;
    char buf[32];
    assert_string_equal (kf_clock_format_utc (T_2026_11_23_0830, buf, sizeof buf),
                         "2026-11-23T08:30:00.000Z");
    assert_string_equal (kf_clock_format_utc (0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal (kf_clock_format_utc (T_2026_11_23_0830 + 7, buf, sizeof buf),
                         "2026-11-23T08:30:00.007Z");
    //  Before the epoch the milliseconds stay positive.
    assert_string_equal (kf_clock_format_utc (-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
    //  format -> parse gives back the same instant.
    const int64_t samples[] = {0,
                               1,
                               999,
                               T_2026_01_05,
                               T_2026_11_23_0830 + 123,
                               1709208000000LL + 59999, //  leap day
                               4102444799999LL};        //  2099-12-31T23:59:59.999Z
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        kf_clock_format_utc (samples[i], buf, sizeof buf);
        assert_int_equal (strlen (buf), 24);
        assert_int_equal (kf_clock_parse_utc (buf), samples[i]);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_manual_advance),
        cmocka_unit_test (test_manual_advance_no_wrap),
        cmocka_unit_test (test_manual_set),
        cmocka_unit_test (test_real),
        cmocka_unit_test (test_spec),
        cmocka_unit_test (test_parse_utc),
        cmocka_unit_test (test_parse_utc_calendar),
        cmocka_unit_test (test_parse_utc_fraction),
        cmocka_unit_test (test_format_round_trip),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
