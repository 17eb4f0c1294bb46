/*  test_kf_config — the declarative KEFU_* table: defaults, JSON file,
    environment, arguments, --help, --print-config, bad values and reload.

    The table below is the usage example: one entry of every type. Messages
    go to stdout (--help, --print-config) and stderr (errors); the tests
    capture both file descriptors and check what an operator would read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kf_config.h"
#include "kf_log.h"

typedef struct {
    char *endpoint;   //  KEFU_DEMO_ENDPOINT
    int64_t workers;  //  KEFU_DEMO_WORKERS
    bool verbose;     //  KEFU_DEMO_VERBOSE
    int64_t quiet;    //  KEFU_DEMO_QUIET, ms
    int64_t max_body; //  KEFU_DEMO_MAX_BODY, bytes
    char *mode;       //  KEFU_DEMO_MODE
    char *upstream;   //  KEFU_DEMO_UPSTREAM_URL (secret)
    int64_t batch;    //  KEFU_DEMO_BATCH (reloadable)
    char *greeting;   //  KEFU_DEMO_GREETING (reloadable)
    bool dry_run;     //  KEFU_DEMO_DRY_RUN (also --dry-run)
} s_cfg_t;

static const kf_config_entry_t s_entries[] = {
    {"KEFU_DEMO_ENDPOINT", KF_CFG_STRING, offsetof (s_cfg_t, endpoint), "tcp://0.0.0.0:5555",
     "ROUTER endpoint gateways connect to", 0, 0, NULL, 0},
    {"KEFU_DEMO_WORKERS", KF_CFG_INT, offsetof (s_cfg_t, workers), "4", "worker threads", 1, 64,
     NULL, 0},
    {"KEFU_DEMO_VERBOSE", KF_CFG_BOOL, offsetof (s_cfg_t, verbose), "false",
     "log every item received", 0, 0, NULL, 0},
    {"KEFU_DEMO_QUIET", KF_CFG_DURATION, offsetof (s_cfg_t, quiet), "30s",
     "quiet period before a conversation closes", 0, 0, NULL, 0},
    {"KEFU_DEMO_MAX_BODY", KF_CFG_BYTES, offsetof (s_cfg_t, max_body), "8KiB",
     "largest message body accepted", 16, 1048576, NULL, 0},
    {"KEFU_DEMO_MODE", KF_CFG_CHOICE, offsetof (s_cfg_t, mode), "safe", "commit mode", 0, 0,
     "fast|safe", 0},
    {"KEFU_DEMO_UPSTREAM_URL", KF_CFG_STRING, offsetof (s_cfg_t, upstream), "",
     "upstream order API", 0, 0, NULL, KF_CFG_SECRET},
    {"KEFU_DEMO_BATCH", KF_CFG_INT, offsetof (s_cfg_t, batch), "100", "items per database batch", 1,
     10000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_DEMO_GREETING", KF_CFG_STRING, offsetof (s_cfg_t, greeting), "您好",
     "auto-reply greeting", 0, 0, NULL, KF_CFG_RELOADABLE},
    {"KEFU_DEMO_DRY_RUN", KF_CFG_BOOL, offsetof (s_cfg_t, dry_run), "0", "change nothing", 0, 0,
     NULL, KF_CFG_OPTION},
    KF_CONFIG_END};

static const kf_config_spec_t s_spec = {"kefu-demo", "A demo service for the config tests.", NULL,
                                        s_entries, kf_common_config_entries};

static char s_json_path[] = "/tmp/kf_config_test_XXXXXX";

//  --- capturing a file descriptor -------------------------------------

typedef struct {
    int fd;    //  1 or 2
    int saved; //  dup of the original
    FILE *tmp; //  where output goes meanwhile
} s_capture_t;

static void
s_capture_begin (s_capture_t *c, int fd)
{
    fflush (stdout);
    fflush (stderr);
    c->fd = fd;
    c->tmp = tmpfile ();
    assert_non_null (c->tmp);
    c->saved = dup (fd);
    assert_true (c->saved >= 0);
    assert_true (dup2 (fileno (c->tmp), fd) >= 0);
}

//  Restore the descriptor; return what was written. Caller frees.
static char *
s_capture_end (s_capture_t *c)
{
    fflush (stdout);
    fflush (stderr);
    assert_true (dup2 (c->saved, c->fd) >= 0);
    close (c->saved);
    //  Output went to the descriptor, not through c->tmp: seek to learn the size.
    fseek (c->tmp, 0, SEEK_END);
    long size = ftell (c->tmp);
    assert_true (size >= 0);
    rewind (c->tmp);
    char *text = calloc (1, (size_t) size + 1);
    size_t got = fread (text, 1, (size_t) size, c->tmp);
    text[got] = '\0';
    fclose (c->tmp);
    return text;
}

//  True if one line of `text` contains every one of the strings.
static bool
s_line_has (const char *text, const char *a, const char *b, const char *c)
{
    const char *line = text;
    while (*line) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        char *copy = strndup (line, len);
        bool ok = strstr (copy, a) && (!b || strstr (copy, b)) && (!c || strstr (copy, c));
        free (copy);
        if (ok)
            return true;
        if (!end)
            break;
        line = end + 1;
    }
    return false;
}

//  Assert that one line of `text` names both a and b; frees text either way
//  (a failed assertion must not leak: ASan runs these tests).
static void
s_assert_line_free (char *text, const char *a, const char *b)
{
    bool ok = s_line_has (text, a, b, NULL);
    if (!ok) {
        fprintf (stderr, "the output was:\n%s", text);
        free (text);
        fail_msg ("no line names both %s and %s", a, b);
    }
    free (text);
}

static int
s_count_lines (const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

//  --- fixture -----------------------------------------------------------

typedef struct {
    s_cfg_t cfg;
    kf_common_config_t common;
} s_fixture_t;

static void
s_clear_env (void)
{
    for (const kf_config_entry_t *e = s_entries; e->name; e++)
        unsetenv (e->name);
    for (const kf_config_entry_t *e = kf_common_config_entries; e->name; e++)
        unsetenv (e->name);
    unsetenv ("KEFU_CONFIG");
}

static int
s_setup (void **state)
{
    s_clear_env ();
    s_fixture_t *f = calloc (1, sizeof *f);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *f = *state;
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);
    kf_config_free (s_entries, &f->cfg); //  safe twice
    free (f);
    s_clear_env ();
    unlink (s_json_path);
    kf_log_set_level (KF_LOG_INFO);
    kf_log_set_format_name ("text");
    return 0;
}

static void
s_write_json (const char *json)
{
    FILE *f = fopen (s_json_path, "w");
    assert_non_null (f);
    fputs (json, f);
    fclose (f);
    setenv ("KEFU_CONFIG", s_json_path, 1);
}

//  Load with the given arguments (argv[0] added), capturing stderr into
//  *err_p (may be NULL: then it must be empty).
static kf_config_result_t
s_load (s_fixture_t *f, int *argc_p, char **argv, char **err_p)
{
    s_capture_t cap;
    s_capture_begin (&cap, 2);
    kf_config_result_t rc = kf_config_load (&s_spec, &f->cfg, &f->common, argc_p, argv);
    char *err = s_capture_end (&cap);
    if (err_p)
        *err_p = err;
    else {
        if (*err)
            fail_msg ("unexpected stderr: %s", err);
        free (err);
    }
    return rc;
}

//  --- tests ---------------------------------------------------------------

static void
test_defaults (void **state)
{
    s_fixture_t *f = *state;
    char *argv[] = {"kefu-demo", NULL};
    int argc = 1;
    assert_int_equal (s_load (f, &argc, argv, NULL), KF_CONFIG_OK);
    assert_int_equal (argc, 1);
    assert_string_equal (f->cfg.endpoint, "tcp://0.0.0.0:5555");
    assert_int_equal (f->cfg.workers, 4);
    assert_false (f->cfg.verbose);
    assert_int_equal (f->cfg.quiet, 30000);
    assert_int_equal (f->cfg.max_body, 8192);
    assert_string_equal (f->cfg.mode, "safe");
    assert_string_equal (f->cfg.upstream, "");
    assert_int_equal (f->cfg.batch, 100);
    assert_string_equal (f->cfg.greeting, "您好");
    assert_string_equal (f->common.log_level, "info");
    assert_string_equal (f->common.log_format, "text");
    assert_string_equal (f->common.database_url, "postgresql:///kefu");
    assert_string_equal (f->common.clock, "real");
}

static void
test_environment_overrides_defaults (void **state)
{
    s_fixture_t *f = *state;
    setenv ("KEFU_DEMO_ENDPOINT", "tcp://127.0.0.1:6000", 1);
    setenv ("KEFU_DEMO_WORKERS", "64", 1);
    setenv ("KEFU_DEMO_VERBOSE", "yes", 1);
    setenv ("KEFU_DEMO_QUIET", "5m", 1);
    setenv ("KEFU_DEMO_MAX_BODY", "64k", 1);
    setenv ("KEFU_DEMO_MODE", "fast", 1);
    setenv ("KEFU_DEMO_GREETING", "亲，在的", 1);
    setenv ("KEFU_LOG_LEVEL", "debug", 1);
    setenv ("KEFU_CLOCK", "manual:0", 1);
    char *argv[] = {"kefu-demo", NULL};
    int argc = 1;
    assert_int_equal (s_load (f, &argc, argv, NULL), KF_CONFIG_OK);
    assert_string_equal (f->cfg.endpoint, "tcp://127.0.0.1:6000");
    assert_int_equal (f->cfg.workers, 64);
    assert_true (f->cfg.verbose);
    assert_int_equal (f->cfg.quiet, 5 * 60000);
    assert_int_equal (f->cfg.max_body, 65536);
    assert_string_equal (f->cfg.mode, "fast");
    assert_string_equal (f->cfg.greeting, "亲，在的");
    assert_int_equal (f->cfg.batch, 100); //  not set: default
    assert_string_equal (f->common.log_level, "debug");
    assert_string_equal (f->common.clock, "manual:0");
    //  kf_config_load applied the log level.
    assert_true (kf_log_enabled (KF_LOG_DEBUG));
}

static void
test_arguments_override_environment (void **state)
{
    s_fixture_t *f = *state;
    setenv ("KEFU_DEMO_WORKERS", "8", 1);
    setenv ("KEFU_DEMO_MODE", "fast", 1);
    setenv ("KEFU_DEMO_QUIET", "1h", 1);
    char *argv[] = {
        "kefu-demo", "KEFU_DEMO_WORKERS=16",           "serve", "--set", "KEFU_DEMO_MODE=safe",
        "--flag",    "KEFU_DEMO_ENDPOINT=tcp://a=b:1", "extra", NULL};
    int argc = 8;
    assert_int_equal (s_load (f, &argc, argv, NULL), KF_CONFIG_OK);
    assert_int_equal (f->cfg.workers, 16);
    assert_string_equal (f->cfg.mode, "safe");
    assert_int_equal (f->cfg.quiet, 3600000); //  env, no argument
    //  The value is everything after the first '='.
    assert_string_equal (f->cfg.endpoint, "tcp://a=b:1");
    //  Arguments that are not settings stay, in order, after argv[0].
    assert_int_equal (argc, 4);
    assert_string_equal (argv[0], "kefu-demo");
    assert_string_equal (argv[1], "serve");
    assert_string_equal (argv[2], "--flag");
    assert_string_equal (argv[3], "extra");
}

static void
test_an_option_argument_sets_its_boolean (void **state)
{
    s_fixture_t *f = *state;
    char *argv[] = {"kefu-demo", "--dry-run", "--verbose", NULL};
    int argc = 3;
    assert_int_equal (s_load (f, &argc, argv, NULL), KF_CONFIG_OK);
    assert_true (f->cfg.dry_run);
    //  KEFU_DEMO_VERBOSE is no option: its word stays for the program.
    assert_false (f->cfg.verbose);
    assert_int_equal (argc, 2);
    assert_string_equal (argv[1], "--verbose");
}

static void
test_json_file (void **state)
{
    s_fixture_t *f = *state;
    s_write_json ("{\"KEFU_DEMO_WORKERS\": 12, \"KEFU_DEMO_VERBOSE\": true,"
                  " \"KEFU_DEMO_QUIET\": \"2h\", \"KEFU_DEMO_MAX_BODY\": 4096,"
                  " \"KEFU_DEMO_ENDPOINT\": \"tcp://file:1\", \"KEFU_DEMO_MODE\": \"fast\","
                  " \"KEFU_LOG_FORMAT\": \"json\","
                  " \"KEFU_OTHER_PROGRAM_PORT\": \"5556\"}");
    //  The environment beats the file, arguments beat both.
    setenv ("KEFU_DEMO_ENDPOINT", "tcp://env:2", 1);
    setenv ("KEFU_DEMO_MODE", "safe", 1);
    char *argv[] = {"kefu-demo", "KEFU_DEMO_MODE=fast", NULL};
    int argc = 2;
    assert_int_equal (s_load (f, &argc, argv, NULL), KF_CONFIG_OK);
    assert_int_equal (f->cfg.workers, 12);
    assert_true (f->cfg.verbose);
    assert_int_equal (f->cfg.quiet, 2 * 3600000);
    assert_int_equal (f->cfg.max_body, 4096);
    assert_string_equal (f->cfg.endpoint, "tcp://env:2");
    assert_string_equal (f->cfg.mode, "fast");
    assert_string_equal (f->common.log_format, "json");
    assert_int_equal (argc, 1);
}

static void
test_json_file_other_programs (void **state)
{
    s_fixture_t *f = *state;
    //  A shared file may hold other programs' settings, of types this
    //  program never reads (lists, fractions): they are skipped, not errors.
    s_write_json ("{\"KEFU_OTHER_SHOPS\": [\"a\", \"b\"], \"KEFU_OTHER_RATIO\": 0.5,"
                  " \"KEFU_OTHER_EXTRA\": null, \"KEFU_DEMO_WORKERS\": 7}");
    char *argv[] = {"kefu-demo", NULL};
    int argc = 1;
    char *err = NULL;
    kf_config_result_t rc = s_load (f, &argc, argv, &err);
    bool quiet = *err == '\0';
    if (rc != KF_CONFIG_OK || !quiet) {
        fprintf (stderr, "stderr was: %s", err);
        free (err);
        fail_msg ("a file with other programs' settings was refused (result %d)", rc);
    }
    free (err);
    assert_int_equal (f->cfg.workers, 7);
}

static void
test_unknown_setting_rejected (void **state)
{
    s_fixture_t *f = *state;
    char *argv[] = {"kefu-demo", "KEFU_DEMO_WORKERZ=3", NULL};
    int argc = 2;
    char *err = NULL;
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "KEFU_DEMO_WORKERZ", NULL, NULL));
    free (err);

    //  --set with nothing after it.
    char *argv2[] = {"kefu-demo", "--set", NULL};
    argc = 2;
    assert_int_equal (s_load (f, &argc, argv2, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "--set", NULL, NULL));
    free (err);

    //  An unknown variable in the environment is not ours to judge.
    setenv ("KEFU_SOMETHING_ELSE", "1", 1);
    char *argv3[] = {"kefu-demo", NULL};
    argc = 1;
    assert_int_equal (s_load (f, &argc, argv3, NULL), KF_CONFIG_OK);
    unsetenv ("KEFU_SOMETHING_ELSE");
}

static void
test_help (void **state)
{
    s_fixture_t *f = *state;
    const char *flags[] = {"--help", "-h"};
    for (int i = 0; i < 2; i++) {
        char *argv[] = {"kefu-demo", (char *) flags[i], NULL};
        int argc = 2;
        s_capture_t cap;
        s_capture_begin (&cap, 1);
        kf_config_result_t rc = s_load (f, &argc, argv, NULL);
        char *out = s_capture_end (&cap);
        assert_int_equal (rc, KF_CONFIG_EXIT_OK);
        assert_non_null (strstr (out, "kefu-demo"));
        assert_non_null (strstr (out, s_spec.summary));
        for (const kf_config_entry_t *e = s_entries; e->name; e++) {
            assert_true (s_line_has (out, e->name, e->help, NULL));
            assert_non_null (strstr (out, e->default_value));
        }
        for (const kf_config_entry_t *e = kf_common_config_entries; e->name; e++)
            assert_true (s_line_has (out, e->name, e->help, NULL));
        assert_true (s_line_has (out, "fast|safe", "default safe", NULL));
        assert_true (s_line_has (out, "default 100", "SIGHUP", NULL));
        assert_true (s_line_has (out, "default 0", "also --dry-run", NULL));
        free (out);
    }
    //  --version too exits with OK.
    char *argv[] = {"kefu-demo", "--version", NULL};
    int argc = 2;
    s_capture_t cap;
    s_capture_begin (&cap, 1);
    kf_config_result_t rc = s_load (f, &argc, argv, NULL);
    char *out = s_capture_end (&cap);
    assert_int_equal (rc, KF_CONFIG_EXIT_OK);
    assert_non_null (strstr (out, "kefu-demo"));
    free (out);
}

static void
test_print_config_masks_secrets (void **state)
{
    s_fixture_t *f = *state;
    setenv ("KEFU_DATABASE_URL", "host=db.internal user=kefu password=hunter2 dbname=kefu", 1);
    setenv ("KEFU_DEMO_UPSTREAM_URL", "https://shop:s3cr3t@api.example.com:8443/orders", 1);
    char *argv[] = {"kefu-demo", "--print-config", "KEFU_DEMO_WORKERS=16", NULL};
    int argc = 3;
    s_capture_t cap;
    s_capture_begin (&cap, 1);
    kf_config_result_t rc = s_load (f, &argc, argv, NULL);
    char *out = s_capture_end (&cap);
    assert_int_equal (rc, KF_CONFIG_EXIT_OK);
    assert_null (strstr (out, "hunter2"));
    assert_null (strstr (out, "s3cr3t"));
    assert_true (s_line_has (out, "KEFU_DATABASE_URL=", "password", NULL));
    assert_true (s_line_has (out, "KEFU_DEMO_UPSTREAM_URL=", NULL, NULL));
    //  Everything else is shown as loaded (arguments after --print-config count).
    assert_true (s_line_has (out, "KEFU_DEMO_WORKERS=16", NULL, NULL));
    assert_true (s_line_has (out, "KEFU_DEMO_QUIET=30000ms", NULL, NULL));
    assert_true (s_line_has (out, "KEFU_DEMO_VERBOSE=false", NULL, NULL));
    assert_true (s_line_has (out, "KEFU_DEMO_MAX_BODY=8192", NULL, NULL));
    assert_true (s_line_has (out, "KEFU_DEMO_MODE=safe", NULL, NULL));
    assert_true (s_line_has (out, "KEFU_LOG_LEVEL=info", NULL, NULL));
    //  One line per setting.
    int settings = 0;
    for (const kf_config_entry_t *e = s_entries; e->name; e++)
        settings++;
    for (const kf_config_entry_t *e = kf_common_config_entries; e->name; e++)
        settings++;
    assert_int_equal (s_count_lines (out), settings);
    free (out);
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);

    //  A secret without credentials is shown.
    setenv ("KEFU_DATABASE_URL", "postgresql:///kefu", 1);
    char *argv2[] = {"kefu-demo", "--print-config", NULL};
    argc = 2;
    s_capture_begin (&cap, 1);
    rc = s_load (f, &argc, argv2, NULL);
    out = s_capture_end (&cap);
    assert_int_equal (rc, KF_CONFIG_EXIT_OK);
    assert_true (s_line_has (out, "KEFU_DATABASE_URL=postgresql:///kefu", NULL, NULL));
    free (out);
}

//  One bad value, given through the environment and again as an argument:
//  KF_CONFIG_BAD and one stderr line naming the variable and the value.
typedef struct {
    const char *name;
    const char *value;
} s_bad_t;

static const s_bad_t s_bad_values[] = {
    {"KEFU_DEMO_WORKERS", "12abc"},                //  bad int
    {"KEFU_DEMO_WORKERS", "four"},                 //  bad int
    {"KEFU_DEMO_WORKERS", ""},                     //  empty int
    {"KEFU_DEMO_WORKERS", "1.5"},                  //  not an integer
    {"KEFU_DEMO_WORKERS", "99999999999999999999"}, //  overflows int64
    {"KEFU_DEMO_WORKERS", "0"},                    //  below the range 1..64
    {"KEFU_DEMO_WORKERS", "65"},                   //  above the range
    {"KEFU_DEMO_WORKERS", "-3"},                   //  below the range
    {"KEFU_DEMO_BATCH", "10001"},                  //  above the range
    {"KEFU_DEMO_VERBOSE", "maybe"},                //  bad bool
    {"KEFU_DEMO_VERBOSE", ""},                     //  empty bool
    {"KEFU_DEMO_VERBOSE", "2"},                    //  bad bool
    {"KEFU_DEMO_QUIET", "fast"},                   //  duration without a number
    {"KEFU_DEMO_QUIET", "s"},                      //  unit without a number
    {"KEFU_DEMO_QUIET", "10y"},                    //  unknown unit
    {"KEFU_DEMO_QUIET", "10 s"},                   //  space before the unit
    {"KEFU_DEMO_QUIET", "-5s"},                    //  negative
    {"KEFU_DEMO_QUIET", "1.5s"},                   //  fraction
    {"KEFU_DEMO_QUIET", "999999999999999999d"},    //  overflows int64 ms
    {"KEFU_DEMO_QUIET", ""},                       //  empty
    {"KEFU_DEMO_MAX_BODY", "10G"},                 //  unknown size unit
    {"KEFU_DEMO_MAX_BODY", "lots"},                //  bad size
    {"KEFU_DEMO_MAX_BODY", "-1k"},                 //  negative size
    {"KEFU_DEMO_MAX_BODY", "2MiB"},                //  above the range 16..1 MiB
    {"KEFU_DEMO_MAX_BODY", "8"},                   //  below the range
    {"KEFU_DEMO_MODE", "turbo"},                   //  bad choice
    {"KEFU_DEMO_MODE", "fas"},                     //  prefix of a choice
    {"KEFU_DEMO_MODE", "fast|safe"},               //  the whole list
    {"KEFU_DEMO_MODE", ""},                        //  empty choice
    {"KEFU_LOG_LEVEL", "verbose"},                 //  bad choice in the common table
    {"KEFU_LOG_FORMAT", "xml"},                    //  bad choice in the common table
};

static void
s_expect_bad (s_fixture_t *f, const char *name, const char *value, char **argv, int argc)
{
    char *err = NULL;
    kf_config_result_t rc = s_load (f, &argc, argv, &err);
    if (rc != KF_CONFIG_BAD) {
        free (err);
        fail_msg ("%s=\"%s\" was accepted", name, value);
    }
    char quoted[256];
    snprintf (quoted, sizeof quoted, "\"%s\"", value);
    s_assert_line_free (err, name, quoted);
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);
}

static void
test_bad_values (void **state)
{
    s_fixture_t *f = *state;
    for (size_t i = 0; i < sizeof s_bad_values / sizeof s_bad_values[0]; i++) {
        const s_bad_t *b = &s_bad_values[i];
        //  Through the environment.
        setenv (b->name, b->value, 1);
        char *argv[] = {"kefu-demo", NULL};
        s_expect_bad (f, b->name, b->value, argv, 1);
        unsetenv (b->name);
        //  As NAME=VALUE, and as --set NAME=VALUE.
        char arg[256];
        snprintf (arg, sizeof arg, "%s=%s", b->name, b->value);
        char *argv2[] = {"kefu-demo", arg, NULL};
        s_expect_bad (f, b->name, b->value, argv2, 2);
        char *argv3[] = {"kefu-demo", "--set", arg, NULL};
        s_expect_bad (f, b->name, b->value, argv3, 3);
    }
}

static void
test_bad_json_file (void **state)
{
    s_fixture_t *f = *state;
    char *argv[] = {"kefu-demo", NULL};
    char *err = NULL;
    int argc = 1;

    //  Not JSON at all.
    s_write_json ("{ \"KEFU_DEMO_WORKERS\": 3, oops }");
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "KEFU_CONFIG", s_json_path, NULL));
    free (err);
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);

    //  JSON, but not an object.
    s_write_json ("[1, 2, 3]");
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "KEFU_CONFIG", s_json_path, NULL));
    free (err);
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);

    //  A file that does not exist.
    setenv ("KEFU_CONFIG", "/nonexistent/kefu.json", 1);
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "KEFU_CONFIG", "/nonexistent/kefu.json", NULL));
    free (err);
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);

    //  A well-typed but bad value in the file.
    s_write_json ("{\"KEFU_DEMO_WORKERS\": 100}");
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "KEFU_DEMO_WORKERS", "100", NULL));
    free (err);
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);

    s_write_json ("{\"KEFU_DEMO_VERBOSE\": \"perhaps\"}");
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "KEFU_DEMO_VERBOSE", "perhaps", NULL));
    free (err);
}

static void
test_json_wrong_type (void **state)
{
    s_fixture_t *f = *state;
    char *argv[] = {"kefu-demo", NULL};
    char *err = NULL;
    int argc = 1;
    //  A boolean for an integer arrives as "true" and is refused as such.
    s_write_json ("{\"KEFU_DEMO_WORKERS\": true}");
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    assert_true (s_line_has (err, "KEFU_DEMO_WORKERS", "true", NULL));
    free (err);
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);

    //  A JSON value of a type no setting takes: a fraction for a duration.
    s_write_json ("{\"KEFU_DEMO_QUIET\": 2.5}");
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    s_assert_line_free (err, "KEFU_DEMO_QUIET", "2.5");
    kf_config_free (s_entries, &f->cfg);
    kf_config_free (kf_common_config_entries, &f->common);

    //  A list for a string.
    s_write_json ("{\"KEFU_DEMO_ENDPOINT\": [\"tcp://a:1\"]}");
    assert_int_equal (s_load (f, &argc, argv, &err), KF_CONFIG_BAD);
    s_assert_line_free (err, "KEFU_DEMO_ENDPOINT", "tcp://a:1");
}

static void
test_set_units (void **state)
{
    s_fixture_t *f = *state;
    char why[160];
    const kf_config_entry_t *quiet = &s_entries[3], *max_body = &s_entries[4];
    const kf_config_entry_t *verbose = &s_entries[2], *workers = &s_entries[1];
    const struct {
        const char *text;
        int64_t ms;
    } durations[] = {{"0", 0},       {"1500", 1500},   {"250ms", 250},    {"30s", 30000},
                     {"5m", 300000}, {"5min", 300000}, {"24h", 86400000}, {"30d", 2592000000LL}};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        assert_int_equal (kf_config_set (quiet, &f->cfg, durations[i].text, why, sizeof why), 0);
        assert_int_equal (f->cfg.quiet, durations[i].ms);
    }
    const struct {
        const char *text;
        int64_t bytes;
    } sizes[] = {{"16", 16},     {"100B", 100},   {"64k", 65536},   {"64K", 65536},
                 {"8KiB", 8192}, {"1M", 1048576}, {"1MiB", 1048576}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal (kf_config_set (max_body, &f->cfg, sizes[i].text, why, sizeof why), 0);
        assert_int_equal (f->cfg.max_body, sizes[i].bytes);
    }
    const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal (kf_config_set (verbose, &f->cfg, yes[i], why, sizeof why), 0);
        assert_true (f->cfg.verbose);
        assert_int_equal (kf_config_set (verbose, &f->cfg, no[i], why, sizeof why), 0);
        assert_false (f->cfg.verbose);
    }
    //  Range edges.
    assert_int_equal (kf_config_set (workers, &f->cfg, "1", why, sizeof why), 0);
    assert_int_equal (kf_config_set (workers, &f->cfg, "64", why, sizeof why), 0);
    assert_int_equal (f->cfg.workers, 64);
    why[0] = '\0';
    assert_int_equal (kf_config_set (workers, &f->cfg, "65", why, sizeof why), -1);
    assert_non_null (strstr (why, "1..64"));
    assert_int_equal (f->cfg.workers, 64); //  unchanged on error
    assert_int_equal (kf_config_set (quiet, &f->cfg, "1w", why, sizeof why), -1);
    assert_non_null (strstr (why, "duration"));
    assert_int_equal (kf_config_set (max_body, &f->cfg, "1G", why, sizeof why), -1);
    assert_non_null (strstr (why, "size"));
}

static void
test_reload (void **state)
{
    s_fixture_t *f = *state;
    char *argv[] = {"kefu-demo", NULL};
    int argc = 1;
    assert_int_equal (s_load (f, &argc, argv, NULL), KF_CONFIG_OK);
    assert_int_equal (f->cfg.batch, 100);
    assert_int_equal (f->cfg.workers, 4);

    //  A RELOADABLE entry changes; a non-reloadable one does not.
    setenv ("KEFU_DEMO_BATCH", "50", 1);
    setenv ("KEFU_DEMO_GREETING", "欢迎光临", 1);
    setenv ("KEFU_DEMO_WORKERS", "32", 1);
    setenv ("KEFU_LOG_LEVEL", "debug", 1);
    assert_false (kf_log_enabled (KF_LOG_DEBUG));
    assert_int_equal (kf_config_reload (&s_spec, &f->cfg), 0);
    assert_int_equal (f->cfg.batch, 50);
    assert_string_equal (f->cfg.greeting, "欢迎光临");
    assert_int_equal (f->cfg.workers, 4);
    assert_string_equal (f->cfg.endpoint, "tcp://0.0.0.0:5555");
    assert_true (kf_log_enabled (KF_LOG_DEBUG)); //  KEFU_LOG_LEVEL is reloadable
    kf_log_set_level (KF_LOG_INFO);
    unsetenv ("KEFU_LOG_LEVEL");

    //  From the JSON file as well.
    s_write_json ("{\"KEFU_DEMO_BATCH\": 75}");
    unsetenv ("KEFU_DEMO_BATCH");
    assert_int_equal (kf_config_reload (&s_spec, &f->cfg), 0);
    assert_int_equal (f->cfg.batch, 75);

    //  A bad value anywhere keeps the old configuration and returns -1.
    setenv ("KEFU_DEMO_BATCH", "lots", 1);
    setenv ("KEFU_DEMO_GREETING", "changed", 1);
    s_capture_t cap;
    s_capture_begin (&cap, 2);
    int rc = kf_config_reload (&s_spec, &f->cfg);
    char *err = s_capture_end (&cap);
    assert_int_equal (rc, -1);
    assert_int_equal (f->cfg.batch, 75);
    assert_string_equal (f->cfg.greeting, "欢迎光临");
    assert_true (s_line_has (err, "KEFU_DEMO_BATCH", "lots", NULL));
    assert_non_null (strstr (err, "config.reload_failed"));
    free (err);

    //  A bad non-reloadable value fails the reload too.
    setenv ("KEFU_DEMO_BATCH", "60", 1);
    setenv ("KEFU_DEMO_WORKERS", "1000", 1);
    s_capture_begin (&cap, 2);
    rc = kf_config_reload (&s_spec, &f->cfg);
    err = s_capture_end (&cap);
    assert_int_equal (rc, -1);
    assert_int_equal (f->cfg.batch, 75);
    free (err);

    //  And once fixed, reload works again.
    unsetenv ("KEFU_DEMO_WORKERS");
    assert_int_equal (kf_config_reload (&s_spec, &f->cfg), 0);
    assert_int_equal (f->cfg.batch, 60);
    assert_string_equal (f->cfg.greeting, "changed");
}

int
main (void)
{
    int fd = mkstemp (s_json_path);
    assert_true (fd >= 0);
    close (fd);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_defaults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_environment_overrides_defaults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_arguments_override_environment, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_option_argument_sets_its_boolean, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_json_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_json_file_other_programs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_setting_rejected, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_help, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_print_config_masks_secrets, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_values, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_json_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_json_wrong_type, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_set_units, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reload, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    unlink (s_json_path);
    return rc;
}
