/*  kefuctl — the operator's command-line tool: shared declarations.
    Each subcommand lives in its own file (kefuctl_<noun>.c) and returns the
    process exit code:
        0  success
        1  runtime failure (database unreachable, a service did not answer)
        2  bad usage or configuration
        3  the thing to add already exists
        4  the thing named does not exist */
#ifndef KEFUCTL_H
#define KEFUCTL_H

#include "kefu/v1/control.pb-c.h"
#include "kf_config.h"
#include "kf_outbox.h"
#include "kf_store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define KEFUCTL_OK        0
#define KEFUCTL_FAILED    1
#define KEFUCTL_USAGE     2
#define KEFUCTL_EXISTS    3
#define KEFUCTL_NOT_FOUND 4

typedef struct {
    char *migrations_dir;     //  KEFU_MIGRATIONS_DIR
    char *status_endpoints;   //  KEFU_STATUS_ENDPOINTS
    int64_t status_timeout;   //  KEFU_STATUS_TIMEOUT, ms
    char *metrics_endpoint;   //  KEFU_METRICS_ENDPOINT: metrics' query endpoint
    char *metrics_server_key; //  KEFU_METRICS_SERVER_KEY: its public key (Z85 or file)
    char *key_file;           //  KEFU_KEY_FILE: the operator's key pair for it
    int64_t query_timeout;    //  KEFU_QUERY_TIMEOUT, ms
    char *gateway_endpoint;   //  KEFU_GATEWAY_ENDPOINT: intake's (orders import)
    char *intake_server_key;  //  KEFU_INTAKE_SERVER_KEY: its public key (Z85)
} kefuctl_config_t;

typedef struct {
    kefuctl_config_t *config;   //  kefuctl's settings
    kf_common_config_t *common; //  shared settings (database URL)
    int64_t now_ms;             //  now, by KEFU_CLOCK (tests drive it)
} kefuctl_t;

//  Connect to the database or print why not (kefuctl_change.c). Caller
//  owns return value.
kf_store_t *kefuctl_store (kefuctl_t *ctl);

//  True when argv holds --help or -h (kefuctl_args.c).
int kefuctl_wants_help (int argc, char **argv);

int kefuctl_migrate (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_shop (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_principal (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_status (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_events (kefuctl_t *ctl, int argc, char **argv);
//  kefuctl events watch (kefuctl_watch.c).
int kefuctl_events_watch (kefuctl_t *ctl, int argc, char **argv);

//  A supervisor's numbers, asked of kefu-metrics (kefuctl_metrics.c).
int kefuctl_kpi (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_now (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_scorecard (kefuctl_t *ctl, int argc, char **argv);
//  kefuctl attendance: shifts worked, asked of kefu-metrics (kefuctl_metrics.c).
int kefuctl_attendance (kefuctl_t *ctl, int argc, char **argv);
//  kefuctl phrases usage: quick replies used, asked of kefu-metrics (kefuctl_desk.c).
int kefuctl_phrases_usage (kefuctl_t *ctl, int argc, char **argv);
//  kefuctl kpi SHOP --orders | --aftersales (kefuctl_desk.c).
int kefuctl_kpi_desk (kefuctl_t *ctl, int argc, char **argv);
//  Ask kefu-metrics kind about shop with params (taken; may be NULL) and
//  group_by by; *out is the answer's JSON (caller decrefs), or the exit
//  code after printing why not (kefuctl_ask.c).
int kefuctl_metrics_ask (kefuctl_t *ctl, const char *cmd, const char *kind, const char *shop,
                         const char *by, json_t **params_p, json_t **out);
//  A CSV field on stdout: quoted when it holds a comma, quote or line break.
void kefuctl_csv_field (const char *text);
//  The same for a whole Query.
int kefuctl_metrics_query (kefuctl_t *ctl, const char *cmd, const Kefu__V1__Query *query,
                           json_t **out);
//  What supervisors give the scorecards (kefuctl_score.c).
int kefuctl_score (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_metrics (kefuctl_t *ctl, int argc, char **argv);

//  The after-sales desk (kefuctl_complaint.c): argv[0] complaint, review or
//  ledger; -1 when argv[0] is none of them.
int kefuctl_aftersales (kefuctl_t *ctl, int argc, char **argv);
//  The order desk (kefuctl_orders.c).
int kefuctl_orders (kefuctl_t *ctl, int argc, char **argv);

//  Routing administration (kefuctl_shift.c, kefuctl_group.c, kefuctl_agent.c,
//  kefuctl_transfer.c, kefuctl_routing.c).
int kefuctl_shift (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_group (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_agent (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_handover (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_routing (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_transfer (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_queue (kefuctl_t *ctl, int argc, char **argv);
//  The shop's quick-reply library (kefuctl_phrases.c).
int kefuctl_phrases (kefuctl_t *ctl, int argc, char **argv);

//  What the commands share: changes and lists (kefuctl_change.c), argument
//  parsing, checks and formatting (kefuctl_args.c). Every check prints
//  "<cmd>: <why>" to stderr and returns an exit code (0 when fine).

//  One configuration change: a transaction on the shop, with the events
//  for the "admin" stream, and what to print once it committed.
typedef struct {
    kf_store_t *store;   //  borrowed, inside the transaction
    kf_outbox_t *outbox; //  borrowed, stream "admin"
    const char *cmd;     //  "kefuctl agent add", for messages
    const char *shop_id; //  the shop (known to exist)
    const char *by;      //  who makes the change (--by or $USER)
    FILE *out;           //  printed to stdout after COMMIT, dropped on ROLLBACK
    kf_error_t err;      //  scratch error for statements
    int64_t now_ms;      //  now (kefuctl_t)
    char timezone[65];   //  the shop's time zone
} kefuctl_change_t;

//  Makes the change inside the transaction; returns an exit code (nonzero
//  rolls everything back, the function has printed why).
typedef int (kefuctl_change_fn) (kefuctl_change_t *change, void *arg);

//  Connect, BEGIN, check the shop exists (4), run fn, write its events,
//  COMMIT, publish. Returns the exit code.
int kefuctl_change_run (kefuctl_t *ctl, const char *cmd, const char *shop_id, const char *by,
                        kefuctl_change_fn *fn, void *arg);
//  Add the config.changed{what, by} event for the change's shop. Exit code.
int kefuctl_change_config (kefuctl_change_t *change, const char *what);
//  Print the last statement error and return KEFUCTL_FAILED.
int kefuctl_change_failed (kefuctl_change_t *change);

//  For read-only commands: connect and check the shop exists. On 0,
//  *store_p is the caller's to destroy.
int kefuctl_shop_open (kefuctl_t *ctl, const char *cmd, const char *shop_id, kf_store_t **store_p);

//  The operator's name: given (validated) or $USER, $LOGNAME, "kefuctl".
//  Returns a borrowed string, or NULL after printing why `given` is bad.
const char *kefuctl_by (const char *cmd, const char *given);

//  Argument helpers. kefuctl_opt returns argv[*i + 1] and advances *i when
//  argv[*i] is `name` and has a value, else NULL. kefuctl_bad_arg reports
//  argv[i] (an option without value, or an unexpected word); returns 2.
const char *kefuctl_opt (int argc, char **argv, int *i, const char *name);
int kefuctl_bad_arg (const char *cmd, int argc, char **argv, int i);

//  Text tables for list commands (kefuctl_table.c): columns line up by
//  display width, so CJK names (two columns a character) align too.
typedef struct _kefuctl_table_t kefuctl_table_t;
//  A table of `columns` columns and its head (copied). Caller owns return
//  value and must destroy it.
kefuctl_table_t *kefuctl_table_new (size_t columns, const char *const *head);
//  Add a row of `columns` cells (copied; NULL prints as empty).
void kefuctl_table_add (kefuctl_table_t *self, const char *const *cells);
//  Print head and rows, each column padded to its widest cell, two spaces apart.
void kefuctl_table_print (const kefuctl_table_t *self, FILE *out);
void kefuctl_table_destroy (kefuctl_table_t **self_p);
//  Terminal columns UTF-8 text takes (wide CJK 2, combining marks 0).
int kefuctl_text_width (const char *s);

//  Checks that return 0 or print and return KEFUCTL_USAGE.
int kefuctl_check_shop (const char *cmd, const char *shop_id);
//  The arguments of a command on one shop, from argv[first] on: <shop>,
//  and --json / --by NAME where json / by are given. The shop id is
//  checked, *by resolved (kefuctl_by). Returns an exit code.
int kefuctl_shop_args (const char *cmd, int argc, char **argv, int first, const char **shop_id,
                       bool *json, const char **by);
//  The shape every "<noun> list <shop> [--json]" shares: arguments from
//  argv[first] on, the shop checked and opened, and fn lists the rows,
//  read by the owning service's store (0, or -1 with err set).
typedef struct {
    bool json;            //  --json: JSON wanted
    const char *timezone; //  the shop's time zone
    int64_t now_ms;       //  now (kefuctl_t)
    kf_store_t *store;    //  connected (kefuctl_list_run)
    const char *shop_id;  //  the shop (kefuctl_list_run)
    void *arg;            //  the caller's (kefuctl_list_run)
} kefuctl_list_t;
typedef int (kefuctl_lister_fn) (kefuctl_list_t *list, kf_error_t *err);
int kefuctl_list_run (kefuctl_t *ctl, const char *cmd, int argc, char **argv, int first,
                      kefuctl_lister_fn *fn, void *arg);
int kefuctl_check_agent_id (const char *cmd, const char *agent_id);
//  Group and shift names: 1-32 of a-z 0-9 _ . - starting with a letter or digit.
int kefuctl_check_name (const char *cmd, const char *what, const char *name);
//  One-line text (names): UTF-8, 1..max bytes, no control characters.
int kefuctl_check_label (const char *cmd, const char *what, const char *text, size_t max);
//  Free text (notes, replies): UTF-8, no NUL, at most max bytes.
int kefuctl_check_text (const char *cmd, const char *what, const char *text, size_t max,
                        bool required);

//  A comma-separated list of group or shift names, validated and deduplicated.
#define KEFUCTL_NAMES_MAX 16
typedef struct {
    int count;                        //  names in the list
    char name[KEFUCTL_NAMES_MAX][33]; //  each validated
    char csv[KEFUCTL_NAMES_MAX * 33]; //  "a,b": the SQL parameter
} kefuctl_names_t;
int kefuctl_parse_names (const char *cmd, const char *what, const char *list, bool allow_empty,
                         kefuctl_names_t *out);
//  Inside a change: every name must be a group ("group") or shift ("shift")
//  of the shop, else print the unknown ones with a hint and return 2.
int kefuctl_require (kefuctl_change_t *change, const char *what, const kefuctl_names_t *names);

//  Values. Each returns 0 or prints and returns KEFUCTL_USAGE.
int kefuctl_parse_int (const char *cmd, const char *opt, const char *text, int64_t min, int64_t max,
                       int64_t *out);
//  A duration with unit (500ms, 30s, 2m, 1h) within [min_ms, max_ms].
int kefuctl_parse_duration (const char *cmd, const char *opt, const char *text, int64_t min_ms,
                            int64_t max_ms, int64_t *out);
//  HH:MM -> minutes after midnight; 24:00 only when allow_24.
int kefuctl_parse_clock (const char *cmd, const char *opt, const char *text, bool allow_24,
                         int *out);
//  Days of the week -> bitmask, bit 0 = Monday: all, weekdays, weekends,
//  mon-fri, sat,sun, mon,wed,fri ...
int kefuctl_parse_days (const char *cmd, const char *text, int *out);
//  Rotation "N:K": every N weeks (1-8), in week K (0..N-1) of the cycle, or
//  K = this / next: the cycle's week that this or next week is, in the
//  shop's time zone (*offset KEFUCTL_ROTATION_THIS / _NEXT until
//  kefuctl_rotation_resolve turns it into 0..N-1 inside the change).
#define KEFUCTL_ROTATION_THIS (-1)
#define KEFUCTL_ROTATION_NEXT (-2)
int kefuctl_parse_rotation (const char *cmd, const char *text, int *weeks, int *offset);
//  The week (kf_tz_week_of_day) now_ms falls in in a time zone; -1 if the
//  zone is unknown.
int64_t kefuctl_week (const char *timezone, int64_t now_ms);
//  Inside a change: *offset of THIS / NEXT becomes the week of the cycle.
int kefuctl_rotation_resolve (kefuctl_change_t *change, int weeks, int *offset);

//  Formatting into buf (returned). Days: "all", "mon-fri", "sat,sun".
const char *kefuctl_fmt_days (char *buf, size_t size, int days);
//  A rotation: "" for every week (weeks <= 1), else "[N:K]", or
//  "[N:K this week]" when week (kefuctl_week, -1: unknown) is one of its.
const char *kefuctl_fmt_rotation (char *buf, size_t size, int weeks, int offset, int64_t week);
const char *kefuctl_fmt_clock (char *buf, size_t size, int minute);
const char *kefuctl_fmt_duration (char *buf, size_t size, int64_t ms);

#endif
