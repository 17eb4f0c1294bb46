/*  kefuctl routing — a shop's routing settings (auto-replies, 首问责任制
    stickiness, response SLA, overflow order, intent -> group), and what the
    routing commands (shift, group, agent, handover, transfer, queue) share:
    one transaction per change with its config.changed event, argument
    parsing and validation. */
#include "kefuctl.h"

#include "kf_tz.h"
#include "kf_valid.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_REPLY_MAX   1024  //  auto-reply texts, bytes
#define S_PRUNE_CHUNK 10000 //  rows per prune statement (one short transaction each)

static void
s_help (void)
{
    printf (
        "Usage:\n"
        "  kefuctl routing show <shop> [--json]\n"
        "  kefuctl routing set <shop> [--busy-reply TEXT] [--after-hours-reply TEXT]\n"
        "                      [--sticky-days N] [--sla-day DURATION] [--sla-night DURATION]\n"
        "                      [--night-shift NAME] [--sla-reassign on|off]\n"
        "                      [--overflow-order G1,G2] [--intent-group INTENT=GROUP]...\n"
        "                      [--by WHO]\n"
        "  kefuctl routing prune [--keep DURATION] [--dry-run]\n\n"
        "How kefu hands a shop's conversations to its agents (分流):\n"
        "  --busy-reply         the auto-reply a customer gets when every agent is full and the\n"
        "                       conversation waits in the queue (排队自动回复).\n"
        "  --after-hours-reply  the auto-reply outside all shifts (下班自动回复).\n"
        "  --sticky-days N      first-contact responsibility (首问责任制): a customer who comes\n"
        "                       back within N days (0-90, default 3) goes to the agent who served\n"
        "                       them last, while that agent is on shift. 0 turns it off.\n"
        "  --sla-day, --sla-night  how long a customer may wait for an answer (default 30s by\n"
        "                       day, 1m at night) before the conversation counts as late; the\n"
        "                       night value applies during --night-shift (default night).\n"
        "  --sla-reassign on    a late conversation is given to another agent with room.\n"
        "  --overflow-order     a chain for groups without their own overflow (kefuctl group\n"
        "                       set --overflow-to): a queue that waits too long moves to the\n"
        "                       next group in this list (empty: off).\n"
        "  --intent-group INTENT=GROUP  which group (queue) serves an intent (问题分类); repeat\n"
        "                       the option for several; GROUP \"default\" restores the default.\n"
        "                       INTENT: presales bargaining delivery_time other (default 售前\n"
        "                       presales); urge_shipping logistics return_refund complaint\n"
        "                       negative_review (default 售后 aftersales).\n"
        "Durations take a unit: 500ms, 30s, 2m, 1h. Texts are UTF-8, at most %d bytes.\n"
        "Groups and shifts named here must exist (kefuctl group add, kefuctl shift add, or\n"
        "kefuctl shift defaults for the usual 售前/售后 groups and day/night shifts).\n"
        "Every change is one transaction with a config.changed event (by --by, default\n"
        "$USER) on the admin stream: the routing service reloads the shop from it.\n"
        "prune: routing's history, every shop, older than --keep (default 180d): the\n"
        "  assignment audit trail (assignments) of conversations no longer open, and who\n"
        "  served whom (customer_agents) beyond the shop's --sticky-days too; --dry-run\n"
        "  only counts. Open conversations keep their whole trail. Runs in batches of\n"
        "  %d rows beside a running routing service (the compose prune service runs it\n"
        "  daily with KEFU_ROUTING_KEEP).\n"
        "Exit codes: 0 success, 1 failure, 2 usage (also: unknown group or shift),\n"
        "            4 the shop does not exist.\n",
        S_REPLY_MAX, S_PRUNE_CHUNK);
}

//  ---------------------------------------------------------------------------
//  Shared helpers (declared in kefuctl.h)

static int
s_on_count (const PGresult *res, void *arg)
{
    *(int *) arg = PQntuples (res);
    return 0;
}

int
kefuctl_on_int (const PGresult *res, void *arg)
{
    *(int64_t *) arg = PQntuples (res) ? kf_store_int (res, 0, 0) : 0;
    return 0;
}

int
kefuctl_on_affected (const PGresult *res, void *arg)
{
    *(int64_t *) arg = atoll (PQcmdTuples ((PGresult *) res));
    return 0;
}

static int
s_on_timezone (const PGresult *res, void *arg)
{
    char *timezone = arg; //  65 bytes
    if (PQntuples (res) == 1)
        snprintf (timezone, 65, "%s", kf_store_text (res, 0, 0));
    return 0;
}

//  Does the shop exist? Its time zone into timezone (65 bytes).
static int
s_shop_exists (kf_store_t *store, const char *cmd, const char *shop_id, char *timezone)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_error_t err;
    timezone[0] = 0;
    if (kf_store_exec_sql (store, "SELECT timezone FROM shops WHERE shop_id = $1::text", &params,
                           s_on_timezone, timezone, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_FAILED;
    }
    if (!timezone[0]) {
        fprintf (stderr, "%s: shop %s does not exist (kefuctl shop list)\n", cmd, shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    return KEFUCTL_OK;
}

//  Connect and check the shop; its time zone into timezone (65 bytes).
static int
s_shop_open (kefuctl_t *ctl, const char *cmd, const char *shop_id, kf_store_t **store_p,
             char *timezone)
{
    *store_p = NULL;
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    int rc = s_shop_exists (store, cmd, shop_id, timezone);
    if (rc)
        kf_store_destroy (&store);
    *store_p = store;
    return rc;
}

int
kefuctl_shop_open (kefuctl_t *ctl, const char *cmd, const char *shop_id, kf_store_t **store_p)
{
    char timezone[65];
    return s_shop_open (ctl, cmd, shop_id, store_p, timezone);
}

//  The change happens at kefuctl's time (KEFU_CLOCK): what keeps history
//  (shift_history, migration 0023) records it then.
static int
s_change_time (kefuctl_change_t *change)
{
    char when[40];
    kf_params_t params;
    kf_params_init (&params);
    snprintf (when, sizeof when, "%" PRId64, change->now_ms);
    kf_params_str (&params, when);
    return kf_store_exec_sql (change->store,
                              "SELECT set_config ('kefu.now', (to_timestamp ($1::int8 / "
                              "1000.0::float8))::text, true)",
                              &params, NULL, NULL, &change->err);
}

int
kefuctl_change_run (kefuctl_t *ctl, const char *cmd, const char *shop_id, const char *by,
                    kefuctl_change_fn *fn, void *arg)
{
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    //  No bind: kefuctl is no daemon. The routing service reads the admin
    //  stream from the events table, so publish is only a no-op doorbell.
    kf_outbox_t *outbox = kf_outbox_new ("admin", store);
    char *text = NULL;
    size_t size = 0;
    kefuctl_change_t change = {.store = store,
                               .outbox = outbox,
                               .cmd = cmd,
                               .shop_id = shop_id,
                               .by = by,
                               .out = open_memstream (&text, &size),
                               .now_ms = ctl->now_ms};
    kf_error_clear (&change.err);
    int rc = KEFUCTL_FAILED;
    if (!change.out)
        fprintf (stderr, "%s: out of memory\n", cmd);
    else if (kf_store_begin (store, &change.err) || s_change_time (&change))
        rc = kefuctl_change_failed (&change);
    else if ((rc = s_shop_exists (store, cmd, shop_id, change.timezone)) == KEFUCTL_OK &&
             (rc = fn (&change, arg)) == KEFUCTL_OK) {
        if ((kf_outbox_pending (outbox) > 0 && kf_outbox_flush (outbox, &change.err)) ||
            kf_store_commit (store, &change.err))
            rc = kefuctl_change_failed (&change);
    }
    if (rc == KEFUCTL_OK)
        kf_outbox_publish (outbox);
    else {
        kf_store_rollback (store);
        kf_outbox_discard (outbox);
    }
    //  Say what was done only once it is in the record.
    if (change.out) {
        fclose (change.out);
        if (rc == KEFUCTL_OK && text)
            fputs (text, stdout);
    }
    free (text);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    return rc;
}

int
kefuctl_change_config (kefuctl_change_t *change, const char *what)
{
    Kefu__V1__ConfigChanged changed = KEFU__V1__CONFIG_CHANGED__INIT;
    changed.what = (char *) what;
    changed.by = (char *) change->by;
    Kefu__V1__Event event = KEFU__V1__EVENT__INIT;
    event.shop_id = (char *) change->shop_id;
    event.kind = "config.changed";
    event.payload_case = KEFU__V1__EVENT__PAYLOAD_CONFIG_CHANGED;
    event.config_changed = &changed;
    if (kf_outbox_add (change->outbox, &event)) {
        fprintf (stderr, "%s: out of memory\n", change->cmd);
        return KEFUCTL_FAILED;
    }
    return KEFUCTL_OK;
}

int
kefuctl_change_failed (kefuctl_change_t *change)
{
    const char *state = kf_store_sqlstate (change->store);
    if (strcmp (state, "23503") == 0)
        fprintf (stderr, "%s: a group, shift or agent it refers to was removed meanwhile (%s)\n",
                 change->cmd, change->err.reason);
    else
        fprintf (stderr, "%s: %s\n", change->cmd, change->err.reason);
    return KEFUCTL_FAILED;
}

const char *
kefuctl_by (const char *cmd, const char *given)
{
    const char *by = given;
    if (!by)
        by = getenv ("USER");
    if (!by || !*by)
        by = getenv ("LOGNAME");
    if (!by || !*by)
        by = "kefuctl";
    ProtobufCBinaryData bytes = {strlen (by), (uint8_t *) by};
    kf_error_t err;
    if (kf_valid_id (&bytes, given ? "--by" : "$USER", KF_ID_MAX, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return NULL;
    }
    return by;
}

const char *
kefuctl_opt (int argc, char **argv, int *i, const char *name)
{
    if (strcmp (argv[*i], name) != 0 || *i + 1 >= argc)
        return NULL;
    *i += 1;
    return argv[*i];
}

int
kefuctl_bad_arg (const char *cmd, int argc, char **argv, int i)
{
    if (argv[i][0] == '-' && i + 1 >= argc)
        fprintf (stderr, "%s: unexpected argument \"%s\" (an option without its value?)\n", cmd,
                 argv[i]);
    else
        fprintf (stderr, "%s: unexpected argument \"%s\" (see --help)\n", cmd, argv[i]);
    return KEFUCTL_USAGE;
}

int
kefuctl_check_shop (const char *cmd, const char *shop_id)
{
    kf_error_t err;
    if (kf_valid_shop_id (shop_id, strlen (shop_id), &err)) {
        fprintf (stderr, "%s: bad shop id \"%s\": %s\n", cmd, shop_id, err.reason);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

//  The table CHECK: ^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$
int
kefuctl_check_agent_id (const char *cmd, const char *agent_id)
{
    size_t len = strlen (agent_id);
    bool ok = len >= 1 && len <= 128 && isalnum ((unsigned char) agent_id[0]);
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char) agent_id[i];
        ok = (c < 0x80 && isalnum (c)) || c == '_' || c == '.' || c == '@' || c == '-';
    }
    if (!ok) {
        fprintf (stderr,
                 "%s: bad agent id \"%s\": use 1-128 of A-Z a-z 0-9 _ . @ -, starting with a "
                 "letter or digit (the agent's login on the chat platform)\n",
                 cmd, agent_id);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

//  The table CHECK: ^[a-z0-9][a-z0-9_.-]{0,31}$
static bool
s_valid_name (const char *name, size_t len)
{
    if (len < 1 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '.' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

int
kefuctl_check_name (const char *cmd, const char *what, const char *name)
{
    if (!s_valid_name (name, strlen (name))) {
        fprintf (stderr,
                 "%s: bad %s name \"%s\": use 1-32 of a-z 0-9 _ . -, starting with a letter "
                 "or digit (e.g. presales; the display name may be Chinese)\n",
                 cmd, what, name);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

int
kefuctl_check_label (const char *cmd, const char *what, const char *text, size_t max)
{
    ProtobufCBinaryData bytes = {strlen (text), (uint8_t *) text};
    kf_error_t err;
    if (kf_valid_id (&bytes, what, max, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

int
kefuctl_check_text (const char *cmd, const char *what, const char *text, size_t max, bool required)
{
    ProtobufCBinaryData bytes = {strlen (text), (uint8_t *) text};
    kf_error_t err;
    if (kf_valid_text (&bytes, what, max, required, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

int
kefuctl_parse_names (const char *cmd, const char *what, const char *list, bool allow_empty,
                     kefuctl_names_t *out)
{
    memset (out, 0, sizeof *out);
    if (!*list) {
        if (allow_empty)
            return KEFUCTL_OK;
        fprintf (stderr, "%s: empty %s list\n", cmd, what);
        return KEFUCTL_USAGE;
    }
    const char *p = list;
    while (true) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        if (!s_valid_name (p, len)) {
            fprintf (stderr,
                     "%s: bad %s name \"%.*s\" in \"%s\": use 1-32 of a-z 0-9 _ . -, starting "
                     "with a letter or digit, separated by commas\n",
                     cmd, what, (int) (len > 64 ? 64 : len), p, list);
            return KEFUCTL_USAGE;
        }
        bool seen = false;
        for (int i = 0; i < out->count && !seen; i++)
            seen = strlen (out->name[i]) == len && memcmp (out->name[i], p, len) == 0;
        if (!seen) {
            if (out->count == KEFUCTL_NAMES_MAX) {
                fprintf (stderr, "%s: more than %d %s names\n", cmd, KEFUCTL_NAMES_MAX, what);
                return KEFUCTL_USAGE;
            }
            memcpy (out->name[out->count], p, len);
            out->name[out->count][len] = 0;
            size_t used = strlen (out->csv);
            //  Room is guaranteed: at most KEFUCTL_NAMES_MAX names of <= 32 bytes.
            snprintf (out->csv + used, sizeof out->csv - used, "%s%s", out->count ? "," : "",
                      out->name[out->count]);
            out->count++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return KEFUCTL_OK;
}

static int
s_on_missing (const PGresult *res, void *arg)
{
    char *buf = arg; //  256 bytes
    size_t used = 0;
    for (int i = 0; i < PQntuples (res) && used < 256; i++) {
        int n = snprintf (buf + used, 256 - used, "%s%s", i ? ", " : "", kf_store_text (res, i, 0));
        if (n < 0)
            break;
        used += (size_t) n;
    }
    return 0;
}

int
kefuctl_require (kefuctl_change_t *change, const char *what, const kefuctl_names_t *names)
{
    if (names->count == 0)
        return KEFUCTL_OK;
    bool group = strcmp (what, "group") == 0;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, change->shop_id);
    kf_params_str (&params, names->csv);
    char missing[256] = "";
    int rc = kf_store_exec_sql (
        change->store,
        group
            ? "SELECT n FROM unnest (string_to_array ($2::text, ',')) WITH ORDINALITY AS t (n, o) "
              "WHERE NOT EXISTS (SELECT 1 FROM routing_groups g "
              "WHERE g.shop_id = $1::text AND g.group_name = t.n) ORDER BY o"
            : "SELECT n FROM unnest (string_to_array ($2::text, ',')) WITH ORDINALITY AS t (n, o) "
              "WHERE NOT EXISTS (SELECT 1 FROM shifts s "
              "WHERE s.shop_id = $1::text AND s.shift_name = t.n) ORDER BY o",
        &params, s_on_missing, missing, &change->err);
    if (rc)
        return kefuctl_change_failed (change);
    if (!*missing)
        return KEFUCTL_OK;
    fprintf (stderr, "%s: shop %s has no %s %s (see kefuctl %s list %s; %s)\n", change->cmd,
             change->shop_id, what, missing, what, change->shop_id,
             group ? "create it with kefuctl group add, or run kefuctl shift defaults for "
                     "presales/aftersales"
                   : "create it with kefuctl shift add, or run kefuctl shift defaults for "
                     "day/night");
    return KEFUCTL_USAGE;
}

int
kefuctl_parse_int (const char *cmd, const char *opt, const char *text, int64_t min, int64_t max,
                   int64_t *out)
{
    errno = 0;
    char *end = NULL;
    long long v = strtoll (text, &end, 10);
    if (!*text || *end || errno == ERANGE || v < min || v > max) {
        fprintf (stderr,
                 "%s: %s takes a whole number from %" PRId64 " to %" PRId64 ", not \"%s\"\n", cmd,
                 opt, min, max, text);
        return KEFUCTL_USAGE;
    }
    *out = v;
    return KEFUCTL_OK;
}

int
kefuctl_parse_duration (const char *cmd, const char *opt, const char *text, int64_t min_ms,
                        int64_t max_ms, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},    {"m", 60000},
                 {"min", 60000}, {"h", 3600000}, {"d", 86400000}};
    errno = 0;
    char *end = NULL;
    long long v = strtoll (text, &end, 10);
    int64_t ms = -1;
    if (end != text && isdigit ((unsigned char) text[0]) && errno != ERANGE && v <= 86400000LL)
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp (end, units[i].unit) == 0)
                ms = v * units[i].ms;
    char lo[32], hi[32];
    if (ms < min_ms || ms > max_ms) {
        fprintf (stderr,
                 "%s: %s takes a duration with a unit from %s to %s (e.g. 500ms, 30s, 2m), "
                 "not \"%s\"\n",
                 cmd, opt, kefuctl_fmt_duration (lo, sizeof lo, min_ms),
                 kefuctl_fmt_duration (hi, sizeof hi, max_ms), text);
        return KEFUCTL_USAGE;
    }
    *out = ms;
    return KEFUCTL_OK;
}

int
kefuctl_parse_clock (const char *cmd, const char *opt, const char *text, bool allow_24, int *out)
{
    int h = -1, m = -1;
    size_t len = strlen (text);
    bool shape = (len == 5 && isdigit ((unsigned char) text[0]) &&
                  isdigit ((unsigned char) text[1]) && text[2] == ':' &&
                  isdigit ((unsigned char) text[3]) && isdigit ((unsigned char) text[4])) ||
                 (len == 4 && isdigit ((unsigned char) text[0]) && text[1] == ':' &&
                  isdigit ((unsigned char) text[2]) && isdigit ((unsigned char) text[3]));
    if (shape) {
        const char *colon = strchr (text, ':');
        h = atoi (text);
        m = atoi (colon + 1);
    }
    bool ok = shape && ((h < 24 && m < 60) || (allow_24 && h == 24 && m == 0));
    if (!ok) {
        fprintf (stderr, "%s: %s takes a time of day HH:MM (00:00-23:59%s), not \"%s\"\n", cmd, opt,
                 allow_24 ? ", or 24:00" : "", text);
        return KEFUCTL_USAGE;
    }
    *out = h * 60 + m;
    return KEFUCTL_OK;
}

static const char *s_day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *s_day_long[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                    "friday", "saturday", "sunday"};

static int
s_day (const char *p, size_t len)
{
    char word[16];
    if (len == 0 || len >= sizeof word)
        return -1;
    for (size_t i = 0; i < len; i++)
        word[i] = (char) tolower ((unsigned char) p[i]);
    word[len] = 0;
    for (int d = 0; d < 7; d++)
        if (strcmp (word, s_day_names[d]) == 0 || strcmp (word, s_day_long[d]) == 0)
            return d;
    return -1;
}

int
kefuctl_parse_days (const char *cmd, const char *text, int *out)
{
    int days = 0;
    const char *p = text;
    while (*text) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        int bits = -1;
        if ((len == 3 && strncasecmp (p, "all", 3) == 0) ||
            (len == 5 && strncasecmp (p, "daily", 5) == 0))
            bits = 127;
        else if (len == 8 && strncasecmp (p, "weekdays", 8) == 0)
            bits = 31;
        else if ((len == 8 && strncasecmp (p, "weekends", 8) == 0) ||
                 (len == 7 && strncasecmp (p, "weekend", 7) == 0))
            bits = 96;
        else {
            const char *dash = memchr (p, '-', len);
            int from = s_day (p, dash ? (size_t) (dash - p) : len);
            int to = dash ? s_day (dash + 1, len - (size_t) (dash - p) - 1) : from;
            if (from >= 0 && to >= 0)
                //  A range may wrap past Sunday: fri-mon.
                for (int d = from, n = 0; n < 7; d = (d + 1) % 7, n++) {
                    bits = (bits < 0 ? 0 : bits) | (1 << d);
                    if (d == to)
                        break;
                }
        }
        if (bits < 0) {
            fprintf (stderr,
                     "%s: bad --days \"%s\": use all, weekdays, weekends, or days and ranges "
                     "of mon tue wed thu fri sat sun separated by commas (mon-fri, sat,sun)\n",
                     cmd, text);
            return KEFUCTL_USAGE;
        }
        days |= bits;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (days == 0) {
        fprintf (stderr, "%s: --days names no day (use e.g. all or mon-fri)\n", cmd);
        return KEFUCTL_USAGE;
    }
    *out = days;
    return KEFUCTL_OK;
}

int
kefuctl_parse_rotation (const char *cmd, const char *text, int *weeks, int *offset)
{
    int n = 0, k = -1, used = 0;
    char word[8] = "";
    if (sscanf (text, "%d:%d%n", &n, &k, &used) == 2 && !text[used]) {
        if (k < 0)
            n = 0; //  not a week of the cycle (nor THIS / NEXT)
    } else if (sscanf (text, "%d:%5[a-z]%n", &n, word, &used) == 2 && !text[used] &&
               (strcmp (word, "this") == 0 || strcmp (word, "next") == 0))
        k = strcmp (word, "this") == 0 ? KEFUCTL_ROTATION_THIS : KEFUCTL_ROTATION_NEXT;
    else
        n = 0;
    if (!isdigit ((unsigned char) *text) || n < 1 || n > 8 || k >= n ||
        (k < 0 && k != KEFUCTL_ROTATION_THIS && k != KEFUCTL_ROTATION_NEXT)) {
        fprintf (stderr,
                 "%s: bad --rotation \"%s\": use N:K, every N weeks (1-8) in week K (0..N-1) "
                 "of the cycle, or N:this / N:next (the week of the cycle this or next week "
                 "is), e.g. 2:this and 2:next alternate week by week\n",
                 cmd, text);
        return KEFUCTL_USAGE;
    }
    *weeks = n;
    *offset = k;
    return KEFUCTL_OK;
}

int64_t
kefuctl_week (const char *timezone, int64_t now_ms)
{
    kf_tz_t *tz = kf_tz_new (timezone);
    if (!tz)
        return -1;
    int64_t week = kf_tz_week_of_day (kf_tz_local_day (tz, now_ms));
    kf_tz_destroy (&tz);
    return week;
}

int
kefuctl_rotation_resolve (kefuctl_change_t *c, int weeks, int *offset)
{
    if (*offset >= 0)
        return KEFUCTL_OK;
    int64_t week = kefuctl_week (c->timezone, c->now_ms);
    if (week < 0) {
        fprintf (stderr, "%s: shop %s has an unknown time zone \"%s\" (kefuctl shop list)\n",
                 c->cmd, c->shop_id, c->timezone);
        return KEFUCTL_FAILED;
    }
    *offset = (int) ((week + (*offset == KEFUCTL_ROTATION_NEXT)) % weeks);
    return KEFUCTL_OK;
}

const char *
kefuctl_fmt_rotation (char *buf, size_t size, int weeks, int offset, int64_t week)
{
    if (size == 0)
        return buf;
    buf[0] = 0;
    if (weeks > 1 && snprintf (buf, size, "[%d:%d%s]", weeks, offset,
                               week >= 0 && week % weeks == offset ? " this week" : "") < 0)
        buf[0] = 0;
    return buf;
}

const char *
kefuctl_fmt_days (char *buf, size_t size, int days)
{
    days &= 127;
    if (size == 0)
        return buf;
    buf[0] = 0;
    if (days == 127) {
        snprintf (buf, size, "all");
        return buf;
    }
    size_t used = 0;
    for (int d = 0; d < 7;) {
        if (!(days & (1 << d))) {
            d++;
            continue;
        }
        int end = d;
        while (end + 1 < 7 && (days & (1 << (end + 1))))
            end++;
        int n;
        //  Three or more days in a row read better as a range: mon-fri.
        if (end - d >= 2)
            n = snprintf (buf + used, size - used, "%s%s-%s", used ? "," : "", s_day_names[d],
                          s_day_names[end]);
        else if (end > d)
            n = snprintf (buf + used, size - used, "%s%s,%s", used ? "," : "", s_day_names[d],
                          s_day_names[end]);
        else
            n = snprintf (buf + used, size - used, "%s%s", used ? "," : "", s_day_names[d]);
        if (n < 0 || (size_t) n >= size - used)
            break; //  truncated: keep what fits
        used += (size_t) n;
        d = end + 1;
    }
    return buf;
}

const char *
kefuctl_fmt_clock (char *buf, size_t size, int minute)
{
    if (snprintf (buf, size, "%02d:%02d", minute / 60, minute % 60) < 0 && size)
        buf[0] = 0;
    return buf;
}

const char *
kefuctl_fmt_duration (char *buf, size_t size, int64_t ms)
{
    int n;
    if (ms > 0 && ms % 3600000 == 0)
        n = snprintf (buf, size, "%" PRId64 "h", ms / 3600000);
    else if (ms > 0 && ms % 60000 == 0)
        n = snprintf (buf, size, "%" PRId64 "m", ms / 60000);
    else if (ms > 0 && ms % 1000 == 0)
        n = snprintf (buf, size, "%" PRId64 "s", ms / 1000);
    else
        n = snprintf (buf, size, "%" PRId64 "ms", ms);
    if (n < 0 && size)
        buf[0] = 0;
    return buf;
}

//  ---------------------------------------------------------------------------
//  Intents (common.proto Intent) and their default groups (0005_routing.sql)

typedef struct {
    const char *name;     //  on the command line
    int value;            //  Intent enum value
    const char *fallback; //  group when intent_groups has no row
    const char *label;    //  what a supervisor calls it
} s_intent_t;

static const s_intent_t s_intents[] = {{"presales", 2, "presales", "售前咨询"},
                                       {"bargaining", 3, "presales", "议价"},
                                       {"urge_shipping", 4, "aftersales", "催发货"},
                                       {"delivery_time", 5, "presales", "到货时间"},
                                       {"logistics", 6, "aftersales", "查物流"},
                                       {"return_refund", 7, "aftersales", "退换货/退款"},
                                       {"complaint", 8, "aftersales", "投诉"},
                                       {"negative_review", 9, "aftersales", "中差评"},
                                       {"other", 1, "presales", "其他"}};
#define S_INTENTS ((int) (sizeof s_intents / sizeof s_intents[0]))

static const s_intent_t *
s_intent_by_name (const char *name, size_t len)
{
    char word[32];
    if (len == 0 || len >= sizeof word)
        return NULL;
    for (size_t i = 0; i < len; i++)
        word[i] = name[i] == '-' ? '_' : (char) tolower ((unsigned char) name[i]);
    word[len] = 0;
    for (int i = 0; i < S_INTENTS; i++)
        if (strcmp (word, s_intents[i].name) == 0)
            return &s_intents[i];
    return NULL;
}

//  ---------------------------------------------------------------------------
//  routing show

typedef struct {
    bool stored;      //  the shop has a routing_settings row
    json_t *settings; //  filled by s_on_settings
    json_t *intents;  //  intent -> group overrides (object)
    json_t *groups;   //  groups of the shop (array)
    json_t *shifts;   //  shifts of the shop (array)
} s_show_t;

static int
s_on_settings (const PGresult *res, void *arg)
{
    s_show_t *show = arg;
    if (PQntuples (res) != 1)
        return -1;
    json_t *order = json_array ();
    const char *csv = kf_store_text (res, 0, 7);
    if (*csv) {
        char *copy = strdup (csv), *save = NULL;
        for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
            json_array_append_new (order, json_string (tok));
        free (copy);
    }
    show->settings =
        json_pack ("{s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:o, s:b}", "busy_reply",
                   kf_store_text (res, 0, 0), "after_hours_reply", kf_store_text (res, 0, 1),
                   "sticky_days", (json_int_t) kf_store_int (res, 0, 2), "sla_day_ms",
                   (json_int_t) kf_store_int (res, 0, 3), "sla_night_ms",
                   (json_int_t) kf_store_int (res, 0, 4), "night_shift", kf_store_text (res, 0, 5),
                   "sla_reassign", strcmp (kf_store_text (res, 0, 6), "t") == 0, "overflow_order",
                   order, "night_shift_exists", strcmp (kf_store_text (res, 0, 8), "t") == 0);
    return show->settings ? 0 : -1;
}

static int
s_on_intents (const PGresult *res, void *arg)
{
    s_show_t *show = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        char key[16];
        snprintf (key, sizeof key, "%d", (int) kf_store_int (res, i, 0));
        json_object_set_new (show->intents, key, json_string (kf_store_text (res, i, 1)));
    }
    return 0;
}

static int
s_on_groups (const PGresult *res, void *arg)
{
    s_show_t *show = arg;
    for (int i = 0; i < PQntuples (res); i++)
        json_array_append_new (
            show->groups, json_pack ("{s:s, s:s, s:s?, s:I}", "group", kf_store_text (res, i, 0),
                                     "display_name", kf_store_text (res, i, 1), "overflow_to",
                                     kf_store_isnull (res, i, 2) ? NULL : kf_store_text (res, i, 2),
                                     "overflow_after_ms", (json_int_t) kf_store_int (res, i, 3)));
    return 0;
}

static int
s_on_shifts (const PGresult *res, void *arg)
{
    s_show_t *show = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        char start[16], end[16];
        json_array_append_new (
            show->shifts,
            json_pack ("{s:s, s:s, s:s}", "shift", kf_store_text (res, i, 0), "start",
                       kefuctl_fmt_clock (start, sizeof start, (int) kf_store_int (res, i, 1)),
                       "end", kefuctl_fmt_clock (end, sizeof end, (int) kf_store_int (res, i, 2))));
    }
    return 0;
}

static bool
s_group_known (const json_t *groups, const char *name)
{
    size_t i;
    json_t *g;
    json_array_foreach (groups, i, g)
    {
        if (strcmp (json_string_value (json_object_get (g, "group")), name) == 0)
            return true;
    }
    return false;
}

static void
s_print_show (const char *shop_id, const s_show_t *show)
{
    const json_t *s = show->settings;
    char a[32], b[32];
    printf ("routing of shop %s%s\n", shop_id,
            show->stored ? "" : " (defaults: no settings stored yet)");
    printf ("  busy reply (排队自动回复):       %s\n",
            json_string_value (json_object_get (s, "busy_reply")));
    printf ("  after-hours reply (下班自动回复): %s\n",
            json_string_value (json_object_get (s, "after_hours_reply")));
    json_int_t sticky = json_integer_value (json_object_get (s, "sticky_days"));
    if (sticky)
        printf ("  首问责任制 stickiness:            %" JSON_INTEGER_FORMAT " days\n", sticky);
    else
        printf ("  首问责任制 stickiness:            off\n");
    const char *night = json_string_value (json_object_get (s, "night_shift"));
    printf (
        "  response SLA:                     %s by day, %s during shift %s%s\n",
        kefuctl_fmt_duration (a, sizeof a, json_integer_value (json_object_get (s, "sla_day_ms"))),
        kefuctl_fmt_duration (b, sizeof b,
                              json_integer_value (json_object_get (s, "sla_night_ms"))),
        night, json_is_true (json_object_get (s, "night_shift_exists")) ? "" : " (no such shift!)");
    printf ("  reassign when SLA is missed:      %s\n",
            json_is_true (json_object_get (s, "sla_reassign")) ? "on" : "off");
    printf ("  overflow order:                   ");
    const json_t *order = json_object_get (s, "overflow_order");
    size_t i;
    json_t *v;
    if (json_array_size (order) == 0)
        printf ("(none)");
    json_array_foreach (order, i, v)
    {
        printf ("%s%s", i ? ", " : "", json_string_value (v));
    }
    printf ("\n  intent (问题分类) -> group:\n");
    for (int k = 0; k < S_INTENTS; k++) {
        char key[16];
        snprintf (key, sizeof key, "%d", s_intents[k].value);
        const char *group = json_string_value (json_object_get (show->intents, key));
        const char *shown = group ? group : s_intents[k].fallback;
        printf ("    %-16s -> %-12s %-9s %s%s\n", s_intents[k].name, shown,
                group ? "" : "(default)", s_intents[k].label,
                s_group_known (show->groups, shown) ? "" : "  (no such group!)");
    }
    printf ("  groups:");
    if (json_array_size (show->groups) == 0)
        printf (" none (kefuctl shift defaults, kefuctl group add)");
    printf ("\n");
    json_array_foreach (show->groups, i, v)
    {
        const char *to = json_string_value (json_object_get (v, "overflow_to"));
        if (to)
            printf ("    %-16s overflow to %s after %s  %s\n",
                    json_string_value (json_object_get (v, "group")), to,
                    kefuctl_fmt_duration (
                        a, sizeof a, json_integer_value (json_object_get (v, "overflow_after_ms"))),
                    json_string_value (json_object_get (v, "display_name")));
        else
            printf ("    %-16s no overflow  %s\n", json_string_value (json_object_get (v, "group")),
                    json_string_value (json_object_get (v, "display_name")));
    }
    printf ("  shifts:");
    if (json_array_size (show->shifts) == 0)
        printf (" none (kefuctl shift defaults, kefuctl shift add)");
    json_array_foreach (show->shifts, i, v)
    {
        printf (" %s %s-%s", json_string_value (json_object_get (v, "shift")),
                json_string_value (json_object_get (v, "start")),
                json_string_value (json_object_get (v, "end")));
    }
    printf ("\n");
}

static int
s_show (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl routing show";
    const char *shop_id = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id) {
        fprintf (stderr, "%s: needs <shop>\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id))
        return KEFUCTL_USAGE;
    kf_store_t *store = NULL;
    int rc = kefuctl_shop_open (ctl, cmd, shop_id, &store);
    if (rc)
        return rc;
    s_show_t show = {false, NULL, json_object (), json_array (), json_array ()};
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    int inserted = 0;
    kf_error_t err;
    kf_error_clear (&err);
    //  A shop without a settings row runs on the column defaults: insert
    //  them in a transaction that is rolled back, so they come from the
    //  schema rather than a copy here.
    if (kf_store_begin (store, &err) ||
        kf_store_exec_sql (store,
                           "INSERT INTO routing_settings (shop_id) VALUES ($1::text) "
                           "ON CONFLICT DO NOTHING RETURNING 1",
                           &params, s_on_count, &inserted, &err) ||
        kf_store_exec_sql (
            store,
            "SELECT busy_reply, after_hours_reply, sticky_days, sla_day_ms, sla_night_ms,"
            " night_shift, sla_reassign, array_to_string (overflow_order, ','),"
            " EXISTS (SELECT 1 FROM shifts s WHERE s.shop_id = r.shop_id"
            " AND s.shift_name = r.night_shift) "
            "FROM routing_settings r WHERE shop_id = $1::text",
            &params, s_on_settings, &show, &err) ||
        kf_store_exec_sql (store,
                           "SELECT intent, group_name FROM intent_groups "
                           "WHERE shop_id = $1::text ORDER BY intent",
                           &params, s_on_intents, &show, &err) ||
        kf_store_exec_sql (store,
                           "SELECT group_name, display_name, overflow_to, overflow_after_ms "
                           "FROM routing_groups WHERE shop_id = $1::text ORDER BY group_name",
                           &params, s_on_groups, &show, &err) ||
        kf_store_exec_sql (store,
                           "SELECT shift_name, start_minute, end_minute FROM shifts "
                           "WHERE shop_id = $1::text ORDER BY start_minute, shift_name",
                           &params, s_on_shifts, &show, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_rollback (store);
    kf_store_destroy (&store);
    show.stored = inserted == 0;
    if (rc == KEFUCTL_OK && json) {
        json_t *intents = json_object ();
        for (int k = 0; k < S_INTENTS; k++) {
            char key[16];
            snprintf (key, sizeof key, "%d", s_intents[k].value);
            const char *group = json_string_value (json_object_get (show.intents, key));
            json_object_set_new (intents, s_intents[k].name,
                                 json_pack ("{s:i, s:s, s:b}", "intent", s_intents[k].value,
                                            "group", group ? group : s_intents[k].fallback,
                                            "default", group == NULL));
        }
        json_t *out = json_deep_copy (show.settings);
        json_object_set_new (out, "shop_id", json_string (shop_id));
        json_object_set_new (out, "stored", json_boolean (show.stored));
        json_object_set_new (out, "intent_groups", intents);
        json_object_set (out, "groups", show.groups);
        json_object_set (out, "shifts", show.shifts);
        char *text = json_dumps (out, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
        json_decref (out);
    } else if (rc == KEFUCTL_OK)
        s_print_show (shop_id, &show);
    json_decref (show.settings);
    json_decref (show.intents);
    json_decref (show.groups);
    json_decref (show.shifts);
    return rc;
}

//  ---------------------------------------------------------------------------
//  routing set

#define S_MAX_INTENT_ARGS 16

typedef struct {
    const char *busy_reply;                      //  NULL: unchanged
    const char *after_hours_reply;               //  NULL: unchanged
    int64_t sticky_days;                         //  -1: unchanged
    int64_t sla_day_ms;                          //  -1: unchanged
    int64_t sla_night_ms;                        //  -1: unchanged
    const char *night_shift;                     //  NULL: unchanged
    int sla_reassign;                            //  -1 unchanged, 0 off, 1 on
    const char *overflow_order;                  //  NULL: unchanged; "" clears
    kefuctl_names_t order;                       //  parsed overflow_order
    int intent_count;                            //  --intent-group options
    const s_intent_t *intent[S_MAX_INTENT_ARGS]; //  which intent
    char group[S_MAX_INTENT_ARGS][33];           //  to which group ("" = default)
} s_set_t;

static int
s_set_change (kefuctl_change_t *c, void *arg)
{
    s_set_t *set = arg;
    kefuctl_names_t names;
    if (set->night_shift) {
        int rc = kefuctl_parse_names (c->cmd, "shift", set->night_shift, false, &names);
        if (rc || (rc = kefuctl_require (c, "shift", &names)))
            return rc;
    }
    int rc = kefuctl_require (c, "group", &set->order);
    if (rc)
        return rc;
    memset (&names, 0, sizeof names);
    for (int i = 0; i < set->intent_count; i++)
        if (*set->group[i]) {
            size_t used = strlen (names.csv);
            snprintf (names.csv + used, sizeof names.csv - used, "%s%s", names.count ? "," : "",
                      set->group[i]);
            names.count++;
        }
    if ((rc = kefuctl_require (c, "group", &names)))
        return rc;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, c->shop_id);
    if (kf_store_exec_sql (c->store,
                           "INSERT INTO routing_settings (shop_id) VALUES ($1::text) "
                           "ON CONFLICT DO NOTHING",
                           &params, NULL, NULL, &c->err))
        return kefuctl_change_failed (c);
    if (set->busy_reply)
        kf_params_str (&params, set->busy_reply);
    else
        kf_params_null (&params);
    if (set->after_hours_reply)
        kf_params_str (&params, set->after_hours_reply);
    else
        kf_params_null (&params);
    int64_t ints[3] = {set->sticky_days, set->sla_day_ms, set->sla_night_ms};
    for (int i = 0; i < 3; i++)
        if (ints[i] >= 0)
            kf_params_int (&params, ints[i]);
        else
            kf_params_null (&params);
    if (set->night_shift)
        kf_params_str (&params, set->night_shift);
    else
        kf_params_null (&params);
    if (set->sla_reassign >= 0)
        kf_params_bool (&params, set->sla_reassign == 1);
    else
        kf_params_null (&params);
    if (set->overflow_order)
        kf_params_str (&params, set->order.csv);
    else
        kf_params_null (&params);
    if (kf_store_exec_sql (
            c->store,
            "UPDATE routing_settings SET"
            " busy_reply = coalesce ($2::text, busy_reply),"
            " after_hours_reply = coalesce ($3::text, after_hours_reply),"
            " sticky_days = coalesce ($4::int4, sticky_days),"
            " sla_day_ms = coalesce ($5::int8, sla_day_ms),"
            " sla_night_ms = coalesce ($6::int8, sla_night_ms),"
            " night_shift = coalesce ($7::text, night_shift),"
            " sla_reassign = coalesce ($8::bool, sla_reassign),"
            " overflow_order = coalesce (string_to_array ($9::text, ','), overflow_order) "
            "WHERE shop_id = $1::text",
            &params, NULL, NULL, &c->err))
        return kefuctl_change_failed (c);
    for (int i = 0; i < set->intent_count; i++) {
        kf_params_init (&params);
        kf_params_str (&params, c->shop_id);
        kf_params_int (&params, set->intent[i]->value);
        int failed;
        if (*set->group[i]) {
            kf_params_str (&params, set->group[i]);
            failed = kf_store_exec_sql (
                c->store,
                "INSERT INTO intent_groups (shop_id, intent, group_name) "
                "VALUES ($1::text, $2::int2, $3::text) "
                "ON CONFLICT (shop_id, intent) DO UPDATE SET group_name = EXCLUDED.group_name",
                &params, NULL, NULL, &c->err);
        } else
            failed = kf_store_exec_sql (
                c->store,
                "DELETE FROM intent_groups WHERE shop_id = $1::text AND intent = $2::int2", &params,
                NULL, NULL, &c->err);
        if (failed)
            return kefuctl_change_failed (c);
    }
    char a[32];
    fprintf (c->out, "routing settings of shop %s updated:\n", c->shop_id);
    if (set->busy_reply)
        fprintf (c->out, "  busy reply: %s\n", set->busy_reply);
    if (set->after_hours_reply)
        fprintf (c->out, "  after-hours reply: %s\n", set->after_hours_reply);
    if (set->sticky_days >= 0)
        fprintf (c->out, "  首问责任制 stickiness: %" PRId64 " days%s\n", set->sticky_days,
                 set->sticky_days ? "" : " (off)");
    if (set->sla_day_ms >= 0)
        fprintf (c->out, "  SLA by day: %s\n", kefuctl_fmt_duration (a, sizeof a, set->sla_day_ms));
    if (set->sla_night_ms >= 0)
        fprintf (c->out, "  SLA at night: %s\n",
                 kefuctl_fmt_duration (a, sizeof a, set->sla_night_ms));
    if (set->night_shift)
        fprintf (c->out, "  night shift: %s\n", set->night_shift);
    if (set->sla_reassign >= 0)
        fprintf (c->out, "  reassign when SLA is missed: %s\n", set->sla_reassign ? "on" : "off");
    if (set->overflow_order)
        fprintf (c->out, "  overflow order: %s\n", *set->order.csv ? set->order.csv : "(none)");
    for (int i = 0; i < set->intent_count; i++)
        fprintf (c->out, "  intent %s -> %s\n", set->intent[i]->name,
                 *set->group[i] ? set->group[i] : set->intent[i]->fallback);
    return kefuctl_change_config (c, "settings");
}

static int
s_set (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl routing set";
    s_set_t set;
    memset (&set, 0, sizeof set);
    set.sticky_days = set.sla_day_ms = set.sla_night_ms = -1;
    set.sla_reassign = -1;
    const char *shop_id = NULL, *by = NULL, *v;
    const char *sticky = NULL, *sla_day = NULL, *sla_night = NULL, *reassign = NULL;
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--busy-reply")))
            set.busy_reply = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--after-hours-reply")))
            set.after_hours_reply = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sticky-days")))
            sticky = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sla-day")))
            sla_day = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sla-night")))
            sla_night = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--night-shift")))
            set.night_shift = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sla-reassign")))
            reassign = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--overflow-order")))
            set.overflow_order = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--intent-group"))) {
            const char *eq = strchr (v, '=');
            const s_intent_t *intent = eq ? s_intent_by_name (v, (size_t) (eq - v)) : NULL;
            if (!intent) {
                fprintf (stderr,
                         "%s: bad --intent-group \"%s\": use INTENT=GROUP with INTENT one of "
                         "presales bargaining urge_shipping delivery_time logistics "
                         "return_refund complaint negative_review other\n",
                         cmd, v);
                return KEFUCTL_USAGE;
            }
            if (set.intent_count == S_MAX_INTENT_ARGS) {
                fprintf (stderr, "%s: too many --intent-group options\n", cmd);
                return KEFUCTL_USAGE;
            }
            if (strcmp (eq + 1, "default") && kefuctl_check_name (cmd, "group", eq + 1))
                return KEFUCTL_USAGE;
            set.intent[set.intent_count] = intent;
            snprintf (set.group[set.intent_count], sizeof set.group[0], "%s",
                      strcmp (eq + 1, "default") ? eq + 1 : "");
            set.intent_count++;
        } else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    bool changes = set.busy_reply || set.after_hours_reply || sticky || sla_day || sla_night ||
                   set.night_shift || reassign || set.overflow_order || set.intent_count;
    if (!shop_id || !changes) {
        fprintf (stderr, "%s: needs <shop> and at least one setting to change (see --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) ||
        (set.busy_reply &&
         kefuctl_check_text (cmd, "--busy-reply", set.busy_reply, S_REPLY_MAX, true)) ||
        (set.after_hours_reply && kefuctl_check_text (cmd, "--after-hours-reply",
                                                      set.after_hours_reply, S_REPLY_MAX, true)) ||
        (sticky && kefuctl_parse_int (cmd, "--sticky-days", sticky, 0, 90, &set.sticky_days)) ||
        (sla_day &&
         kefuctl_parse_duration (cmd, "--sla-day", sla_day, 1, 3600000, &set.sla_day_ms)) ||
        (sla_night &&
         kefuctl_parse_duration (cmd, "--sla-night", sla_night, 1, 3600000, &set.sla_night_ms)) ||
        (set.night_shift && kefuctl_check_name (cmd, "shift", set.night_shift)) ||
        (set.overflow_order &&
         kefuctl_parse_names (cmd, "group", set.overflow_order, true, &set.order)))
        return KEFUCTL_USAGE;
    if (reassign) {
        if (strcmp (reassign, "on") == 0)
            set.sla_reassign = 1;
        else if (strcmp (reassign, "off") == 0)
            set.sla_reassign = 0;
        else {
            fprintf (stderr, "%s: --sla-reassign takes on or off, not \"%s\"\n", cmd, reassign);
            return KEFUCTL_USAGE;
        }
    }
    by = kefuctl_by (cmd, by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_set_change, &set);
}

//  ---------------------------------------------------------------------------
//  routing prune

//  $1: the cut-off (epoch ms); deletes: $2 at most this many rows. Who
//  served whom also needs now (epoch ms): $2 when counting, $3 in a delete.
//  Assignments of open conversations stay (routing reads the latest on a
//  restart; the trail of a conversation under way stays whole).
#define S_PRUNE_ASSIGNMENTS                                                                        \
    "FROM assignments a WHERE a.assigned_at < to_timestamp ($1::int8 / 1000.0::float8) "           \
    "AND NOT EXISTS (SELECT 1 FROM routing_conversations r "                                       \
    "  WHERE r.shop_id = a.shop_id AND r.conversation_id = a.conversation_id)"
//  Who served whom: also beyond the shop's stickiness window (routing_settings,
//  default 3 days), where routing would no longer use it.
#define S_PRUNE_SERVED(now)                                                                        \
    "FROM customer_agents c LEFT JOIN routing_settings s ON s.shop_id = c.shop_id "                \
    "WHERE c.last_served_at < to_timestamp ($1::int8 / 1000.0::float8) "                           \
    "AND c.last_served_at < to_timestamp (" now "::int8 / 1000.0::float8) "                        \
    "  - make_interval (days => coalesce (s.sticky_days, 3))"

static const struct {
    const char *what;   //  for the report
    const char *count;  //  --dry-run
    const char *delete; //  one batch
    bool now;           //  takes now as its last parameter
} s_prunes[] = {
    {"assignment rows (audit trail of closed conversations)",
     "SELECT count (*) " S_PRUNE_ASSIGNMENTS,
     "DELETE FROM assignments WHERE ctid = ANY (ARRAY (SELECT a.ctid " S_PRUNE_ASSIGNMENTS
     " LIMIT $2::int8))",
     false},
    {"customer_agents rows (who served whom)", "SELECT count (*) " S_PRUNE_SERVED ("$2"),
     "DELETE FROM customer_agents WHERE ctid = ANY (ARRAY (SELECT c.ctid " S_PRUNE_SERVED (
         "$3") " LIMIT $2::int8))",
     true},
};

static int
s_prune (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl routing prune";
    int64_t keep_ms = 180LL * 86400000;
    bool dry_run = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--keep"))) {
            if (kefuctl_parse_duration (cmd, "--keep", v, 86400000LL, 3650LL * 86400000, &keep_ms))
                return KEFUCTL_USAGE;
        } else if (strcmp (argv[i], "--dry-run") == 0)
            dry_run = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    int64_t cutoff = ctl->now_ms - keep_ms;
    time_t cut_s = (time_t) (cutoff / 1000);
    struct tm tm;
    char before[32] = "?";
    if (gmtime_r (&cut_s, &tm))
        strftime (before, sizeof before, "%Y-%m-%d %H:%M UTC", &tm);
    int rc = KEFUCTL_OK;
    for (size_t k = 0; rc == KEFUCTL_OK && k < sizeof s_prunes / sizeof s_prunes[0]; k++) {
        int64_t total = 0, n = 0;
        kf_error_t err;
        kf_error_clear (&err);
        do {
            kf_params_t params;
            kf_params_init (&params);
            kf_params_int (&params, cutoff);
            if (!dry_run)
                kf_params_int (&params, S_PRUNE_CHUNK);
            if (s_prunes[k].now)
                kf_params_int (&params, ctl->now_ms);
            if (kf_store_exec_sql (store, dry_run ? s_prunes[k].count : s_prunes[k].delete, &params,
                                   dry_run ? kefuctl_on_int : kefuctl_on_affected, &n, &err)) {
                fprintf (stderr, "%s: %s\n", cmd, err.reason);
                rc = KEFUCTL_FAILED;
                break;
            }
            total += n;
        } while (!dry_run && n == S_PRUNE_CHUNK);
        if (rc == KEFUCTL_OK)
            printf ("%s %" PRId64 " %s from before %s\n", dry_run ? "would prune" : "pruned", total,
                    s_prunes[k].what, before);
    }
    kf_store_destroy (&store);
    return rc;
}

int
kefuctl_routing (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    if (strcmp (argv[1], "show") == 0)
        return s_show (ctl, argc, argv);
    if (strcmp (argv[1], "set") == 0)
        return s_set (ctl, argc, argv);
    if (strcmp (argv[1], "prune") == 0)
        return s_prune (ctl, argc, argv);
    fprintf (stderr, "kefuctl routing: unknown verb \"%s\" (show, set, prune)\n", argv[1]);
    return KEFUCTL_USAGE;
}

int
kefuctl_list_by_shop (kefuctl_t *ctl, const char *cmd, int argc, char **argv, int first,
                      const char *sql, kf_store_rows_fn *fn)
{
    const char *shop_id = NULL;
    bool json = false;
    for (int i = first; i < argc; i++) {
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id) {
        fprintf (stderr, "%s: needs <shop>\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id))
        return KEFUCTL_USAGE;
    kf_store_t *store = NULL;
    char timezone[65];
    int rc = s_shop_open (ctl, cmd, shop_id, &store, timezone);
    if (rc)
        return rc;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_error_t err;
    kefuctl_list_t list = {json, timezone, ctl->now_ms};
    if (kf_store_exec_sql (store, sql, &params, fn, &list, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    return rc;
}
