/*  test_kf_tz — shop time zones from the system tz database.

    Instants are written as UTC milliseconds with the wall time in a comment;
    `date -u -d 2026-11-23T00:30:00Z +%s` reproduces each of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kf_tz.h"

#define HOUR_MS (3600 * 1000LL)
#define DAY_MS  (24 * HOUR_MS)

//  Berlin's 2026 switches: CET -> CEST at 2026-03-29 01:00 UTC (02:00 local
//  becomes 03:00), CEST -> CET at 2026-10-25 01:00 UTC (03:00 becomes 02:00).
#define BERLIN_SPRING_2026 1774746000000LL
#define BERLIN_AUTUMN_2026 1792890000000LL

static void
test_shanghai (void **state)
{
    (void) state;
    kf_tz_t *tz = kf_tz_new ("Asia/Shanghai");
    assert_non_null (tz);
    assert_string_equal (kf_tz_name (tz), "Asia/Shanghai");
    assert_int_equal (kf_tz_offset_s (tz, 801964800000LL), 8 * 3600);  //  1995-06-01T00:00Z
    assert_int_equal (kf_tz_offset_s (tz, 1795422600000LL), 8 * 3600); //  2026-11-23T08:30Z
    assert_int_equal (kf_tz_offset_s (tz, 1782907200000LL), 8 * 3600); //  2026-07-01T12:00Z
    //  China kept summer time 1986-1991: 1988-07-01T00:00Z was +09:00.
    assert_int_equal (kf_tz_offset_s (tz, 583718400000LL), 9 * 3600);
    kf_tz_destroy (&tz);
    assert_null (tz);
    kf_tz_destroy (&tz); //  idempotent
    kf_tz_destroy (NULL);
}

static void
test_berlin_summer_winter (void **state)
{
    (void) state;
    kf_tz_t *tz = kf_tz_new ("Europe/Berlin");
    assert_non_null (tz);
    assert_int_equal (kf_tz_offset_s (tz, 1768478400000LL), 3600); //  2026-01-15T12:00Z
    assert_int_equal (kf_tz_offset_s (tz, 1782907200000LL), 7200); //  2026-07-01T12:00Z
    //  The switch instants, to the millisecond.
    assert_int_equal (kf_tz_offset_s (tz, BERLIN_SPRING_2026 - 1), 3600);
    assert_int_equal (kf_tz_offset_s (tz, BERLIN_SPRING_2026), 7200);
    assert_int_equal (kf_tz_offset_s (tz, BERLIN_AUTUMN_2026 - 1), 7200);
    assert_int_equal (kf_tz_offset_s (tz, BERLIN_AUTUMN_2026), 3600);
    //  Before 1970 (negative milliseconds) and at the epoch: CET.
    assert_int_equal (kf_tz_offset_s (tz, -1), 3600);
    assert_int_equal (kf_tz_offset_s (tz, 0), 3600);

    struct tm tm;
    kf_tz_local (tz, BERLIN_SPRING_2026 - 1, &tm); //  01:59:59.999 CET
    assert_int_equal (tm.tm_hour, 1);
    assert_int_equal (tm.tm_min, 59);
    assert_int_equal (tm.tm_sec, 59);
    kf_tz_local (tz, BERLIN_SPRING_2026, &tm); //  03:00:00 CEST
    assert_int_equal (tm.tm_year, 2026 - 1900);
    assert_int_equal (tm.tm_mon, 2);
    assert_int_equal (tm.tm_mday, 29);
    assert_int_equal (tm.tm_hour, 3);
    assert_int_equal (tm.tm_min, 0);
    assert_int_equal (tm.tm_wday, 0); //  a Sunday
    kf_tz_destroy (&tz);
}

static void
test_fixed_offsets (void **state)
{
    (void) state;
    const struct {
        const char *name;
        int offset;
    } cases[] = {
        {"UTC", 0},         {"Z", 0},      {"Etc/UTC", 0},     {"+05:30", 19800}, {"+08:00", 28800},
        {"-03:00", -10800}, {"+00:00", 0}, {"-09:30", -34200}, {"+14:00", 50400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kf_tz_t *tz = kf_tz_new (cases[i].name);
        assert_non_null (tz);
        assert_string_equal (kf_tz_name (tz), cases[i].name);
        assert_int_equal (kf_tz_offset_s (tz, 0), cases[i].offset);
        assert_int_equal (kf_tz_offset_s (tz, BERLIN_SPRING_2026), cases[i].offset);
        assert_int_equal (kf_tz_offset_s (tz, -DAY_MS * 365 * 100), cases[i].offset);
        kf_tz_destroy (&tz);
    }
    //  Offsets out of range are not zones.
    assert_null (kf_tz_new ("+15:00"));
    assert_null (kf_tz_new ("+05:60"));
}

static void
test_fixed_offset_strict (void **state)
{
    (void) state;
    //  A spelling the parser does not understand must be refused, not
    //  misread: "+0530" is India's offset in ISO 8601 basic form, and being
    //  read as +05:00 would move every Indian shop's hours by 30 minutes.
    const char *names[] = {"+0530", "-0330", "+05:30x", "+0800"};
    const int correct[] = {19800, -12600, 19800, 28800};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        kf_tz_t *tz = kf_tz_new (names[i]);
        if (tz) {
            //  Accepted: then it must mean what it says.
            int offset = kf_tz_offset_s (tz, 0);
            kf_tz_destroy (&tz);
            if (offset != correct[i])
                fail_msg ("\"%s\" was read as %+d s, not %+d s", names[i], offset, correct[i]);
        }
    }
}

static void
test_unknown_and_traversal (void **state)
{
    (void) state;
    const char *bad[] = {"Mars/Olympus_Mons",
                         "../etc/passwd",
                         "../../../../etc/passwd",
                         "Asia/../../../etc/passwd",
                         "/etc/passwd",
                         "/usr/share/zoneinfo/Asia/Shanghai",
                         "Asia",     //  a directory
                         "zone.tab", //  a text file next to the zones
                         "",
                         "asia/shanghai",
                         "Asia/Shanghai/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null (kf_tz_new (bad[i]));
    assert_null (kf_tz_new (NULL));
    char long_name[300];
    memset (long_name, 'A', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_null (kf_tz_new (long_name));
}

static void
test_tzdir (void **state)
{
    (void) state;
    //  $TZDIR replaces /usr/share/zoneinfo: an empty directory knows no zone,
    //  but fixed offsets still work.
    char dir[] = "/tmp/kf_tz_test_XXXXXX";
    assert_non_null (mkdtemp (dir));
    setenv ("TZDIR", dir, 1);
    assert_null (kf_tz_new ("Asia/Shanghai"));
    kf_tz_t *tz = kf_tz_new ("+08:00");
    assert_non_null (tz);
    kf_tz_destroy (&tz);
    unsetenv ("TZDIR");
    rmdir (dir);
    tz = kf_tz_new ("Asia/Shanghai");
    assert_non_null (tz);
    kf_tz_destroy (&tz);
}

static void
test_to_utc (void **state)
{
    (void) state;
    kf_tz_t *sh = kf_tz_new ("Asia/Shanghai");
    assert_non_null (sh);
    //  A Shanghai shop opening at 08:30 on 2026-11-23 opens at 00:30 UTC.
    int64_t open = kf_tz_to_utc (sh, 2026, 11, 23, 8 * 60 + 30);
    assert_int_equal (open, 1795393800000LL);
    struct tm tm;
    kf_tz_local (sh, open, &tm);
    assert_int_equal (tm.tm_year, 2026 - 1900);
    assert_int_equal (tm.tm_mon, 10);
    assert_int_equal (tm.tm_mday, 23);
    assert_int_equal (tm.tm_hour, 8);
    assert_int_equal (tm.tm_min, 30);
    assert_int_equal (tm.tm_wday, 1); //  Monday
    //  Local midnight is the previous day in UTC.
    assert_int_equal (kf_tz_to_utc (sh, 2026, 11, 23, 0), 1795363200000LL);
    //  minute_of_day 1440 is the next midnight.
    assert_int_equal (kf_tz_to_utc (sh, 2026, 11, 23, 1440), 1795363200000LL + DAY_MS);
    kf_tz_destroy (&sh);

    kf_tz_t *ist = kf_tz_new ("+05:30");
    assert_non_null (ist);
    assert_int_equal (kf_tz_to_utc (ist, 1970, 1, 1, 330), 0);
    kf_tz_destroy (&ist);

    kf_tz_t *be = kf_tz_new ("Europe/Berlin");
    assert_non_null (be);
    //  09:00 is 08:00Z in winter and 07:00Z in summer.
    assert_int_equal (kf_tz_to_utc (be, 2026, 1, 15, 9 * 60), 1768464000000LL);
    assert_int_equal (kf_tz_to_utc (be, 2026, 7, 1, 9 * 60), 1782889200000LL);
    //  The day of the switch: 01:00 is still CET, 04:00 already CEST.
    assert_int_equal (kf_tz_to_utc (be, 2026, 3, 29, 60), BERLIN_SPRING_2026 - HOUR_MS);
    assert_int_equal (kf_tz_to_utc (be, 2026, 3, 29, 4 * 60), BERLIN_SPRING_2026 + HOUR_MS);
    kf_tz_destroy (&be);
}

static void
test_to_utc_dst_edges (void **state)
{
    (void) state;
    kf_tz_t *be = kf_tz_new ("Europe/Berlin");
    assert_non_null (be);
    //  2026-10-25 02:30 happens twice: at 00:30Z (CEST, +02:00, the earlier
    //  offset) and again at 01:30Z (CET). The header says the earlier offset
    //  wins, so the first one.
    int64_t fold = kf_tz_to_utc (be, 2026, 10, 25, 2 * 60 + 30);
    //  2026-03-29 02:30 does not exist. Either neighbour is a defensible
    //  answer (00:30Z read with CEST, 01:30Z read with CET); anything else
    //  is not.
    int64_t gap = kf_tz_to_utc (be, 2026, 3, 29, 2 * 60 + 30);
    kf_tz_destroy (&be);
    assert_int_equal (fold, BERLIN_AUTUMN_2026 - 30 * 60000LL);
    assert_true (gap == BERLIN_SPRING_2026 - 30 * 60000LL ||
                 gap == BERLIN_SPRING_2026 + 30 * 60000LL);
}

static void
test_round_trip_every_day (void **state)
{
    (void) state;
    //  local -> UTC -> local gives the same wall time on every day of 2026,
    //  at times that exist on every day (no DST switch happens then).
    const char *zones[] = {"Asia/Shanghai", "Europe/Berlin", "America/New_York", "+05:30"};
    const int minutes[] = {0, 8 * 60 + 30, 12 * 60, 23 * 60 + 59};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        kf_tz_t *tz = kf_tz_new (zones[z]);
        assert_non_null (tz);
        struct tm day = {0};
        day.tm_year = 2026 - 1900;
        day.tm_mday = 1;
        time_t t = timegm (&day);
        for (int d = 0; d < 365; d++, t += 86400) {
            struct tm date;
            gmtime_r (&t, &date);
            for (size_t m = 0; m < sizeof minutes / sizeof minutes[0]; m++) {
                int64_t utc = kf_tz_to_utc (tz, date.tm_year + 1900, date.tm_mon + 1, date.tm_mday,
                                            minutes[m]);
                struct tm local;
                kf_tz_local (tz, utc, &local);
                assert_int_equal (local.tm_year, date.tm_year);
                assert_int_equal (local.tm_mon, date.tm_mon);
                assert_int_equal (local.tm_mday, date.tm_mday);
                assert_int_equal (local.tm_hour * 60 + local.tm_min, minutes[m]);
                assert_int_equal (kf_tz_ms_of_day (tz, utc), minutes[m] * 60000LL);
            }
        }
        kf_tz_destroy (&tz);
    }
}

static void
test_ms_of_day (void **state)
{
    (void) state;
    kf_tz_t *sh = kf_tz_new ("Asia/Shanghai");
    assert_non_null (sh);
    //  00:30:00.000Z is 08:30 in Shanghai.
    assert_int_equal (kf_tz_ms_of_day (sh, 1795393800000LL), 8 * HOUR_MS + 30 * 60000LL);
    //  2026-11-22T20:00Z is 04:00 on the 23rd in Shanghai.
    assert_int_equal (kf_tz_ms_of_day (sh, 1795363200000LL + 4 * HOUR_MS), 4 * HOUR_MS);
    //  Milliseconds count; 15:59:59.999Z is the last millisecond of the local day.
    assert_int_equal (kf_tz_ms_of_day (sh, 1795363200000LL + DAY_MS - 1), DAY_MS - 1);
    assert_int_equal (kf_tz_ms_of_day (sh, 1795363200000LL + DAY_MS), 0);
    kf_tz_destroy (&sh);

    kf_tz_t *utc = kf_tz_new ("UTC");
    assert_non_null (utc);
    assert_int_equal (kf_tz_ms_of_day (utc, 0), 0);
    assert_int_equal (kf_tz_ms_of_day (utc, 1234), 1234);
    //  Before the epoch the result stays in [0, 1 day).
    assert_int_equal (kf_tz_ms_of_day (utc, -1), DAY_MS - 1);
    assert_int_equal (kf_tz_ms_of_day (utc, -DAY_MS), 0);
    kf_tz_destroy (&utc);

    kf_tz_t *be = kf_tz_new ("Europe/Berlin");
    assert_non_null (be);
    //  On the spring switch the local clock jumps from 02:00 to 03:00.
    assert_int_equal (kf_tz_ms_of_day (be, BERLIN_SPRING_2026 - 1), 2 * HOUR_MS - 1);
    assert_int_equal (kf_tz_ms_of_day (be, BERLIN_SPRING_2026), 3 * HOUR_MS);
    kf_tz_destroy (&be);
}

//  Local dates and the Monday-to-Sunday weeks shift rotations count.
static void
test_local_day_and_week (void **state)
{
    (void) state;
    kf_tz_t *sh = kf_tz_new ("Asia/Shanghai");
    assert_non_null (sh);
    //  2026-11-22T15:59:59Z is Sunday 23:59:59 in Shanghai, one second
    //  later Monday 2026-11-23 (day 20780) begins: a new week.
    int64_t monday_sh = 1795392000000LL - 8 * HOUR_MS;
    assert_int_equal (kf_tz_local_day (sh, monday_sh - 1000), 20779);
    assert_int_equal (kf_tz_local_day (sh, monday_sh), 20780);
    assert_int_equal (kf_tz_week_of_day (20779), 2968);
    assert_int_equal (kf_tz_week_of_day (20780), 2969);
    kf_tz_destroy (&sh);
    kf_tz_t *utc = kf_tz_new ("UTC");
    assert_non_null (utc);
    assert_int_equal (kf_tz_local_day (utc, 0), 0);
    assert_int_equal (kf_tz_local_day (utc, -1), -1);
    assert_int_equal (kf_tz_local_day (utc, -DAY_MS), -1);
    assert_int_equal (kf_tz_local_day (utc, -DAY_MS - 1), -2);
    kf_tz_destroy (&utc);
    //  Thursday 1970-01-01 .. Sunday 01-04 are week 0, Monday 01-05 week 1;
    //  the Monday before the epoch (1969-12-29, day -3) still week 0.
    assert_int_equal (kf_tz_week_of_day (0), 0);
    assert_int_equal (kf_tz_week_of_day (3), 0);
    assert_int_equal (kf_tz_week_of_day (4), 1);
    assert_int_equal (kf_tz_week_of_day (-3), 0);
    assert_int_equal (kf_tz_week_of_day (-4), -1);
    assert_int_equal (kf_tz_week_of_day (-10), -1);
    assert_int_equal (kf_tz_week_of_day (-11), -2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_shanghai),
        cmocka_unit_test (test_berlin_summer_winter),
        cmocka_unit_test (test_fixed_offsets),
        cmocka_unit_test (test_fixed_offset_strict),
        cmocka_unit_test (test_unknown_and_traversal),
        cmocka_unit_test (test_tzdir),
        cmocka_unit_test (test_to_utc),
        cmocka_unit_test (test_to_utc_dst_edges),
        cmocka_unit_test (test_round_trip_every_day),
        cmocka_unit_test (test_ms_of_day),
        cmocka_unit_test (test_local_day_and_week),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
