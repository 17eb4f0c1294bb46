/*  kf_config — one declarative table of KEFU_* variables per program.

    Each program describes its settings once:

        static const kf_config_entry_t s_entries[] = {
            { "KEFU_INTAKE_GATEWAY_ENDPOINT", KF_CFG_STRING, offsetof (intake_config_t, endpoint),
              "tcp://0.0.0.0:5555", "ROUTER endpoint gateways connect to", 0, 0, NULL, 0 },
            ...
            KF_CONFIG_END
        };

    kf_config_load () fills the program's struct from, in order: the default,
    an optional JSON file (KEFU_CONFIG=/path, an object of NAME: value),
    the environment, and `NAME=VALUE` / `--set NAME=VALUE` arguments. `--help`
    and `--print-config` are generated from the table. A bad value prints one
    line naming the variable, the value and why, and the program exits 2.

    Value syntax: STRING any text; INT decimal; BOOL 1/0/true/false/yes/no/on/off;
    DURATION a number with unit ms, s, m, h or d (bare number = ms);
    BYTES a number with unit B, k/KiB, M/MiB (bare number = bytes);
    CHOICE one of the '|'-separated words in `choices`. */
#ifndef KF_CONFIG_H
#define KF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    KF_CFG_STRING,   //  char * (owned by the struct; freed by kf_config_free)
    KF_CFG_INT,      //  int64_t
    KF_CFG_BOOL,     //  bool
    KF_CFG_DURATION, //  int64_t milliseconds
    KF_CFG_BYTES,    //  int64_t bytes
    KF_CFG_CHOICE,   //  char * (one of choices)
} kf_cfg_type_t;

#define KF_CFG_RELOADABLE 1 //  applied on SIGHUP reload
#define KF_CFG_SECRET     2 //  masked by --print-config
//  A BOOL that the argument --<word> also sets to true: <word> is the name
//  after KEFU_<PROGRAM>_, lowercase, '-' for '_' (KEFU_METRICS_REBUILD:
//  kefu-metrics --rebuild).
#define KF_CFG_OPTION 4

typedef struct {
    const char *name;          //  KEFU_* variable name
    kf_cfg_type_t type;        //  value type, decides the storage type at offset
    size_t offset;             //  offsetof () into the program's config struct
    const char *default_value; //  default, in the same text form as the environment
    const char *help;          //  one line for --help
    int64_t min, max;          //  INT/DURATION/BYTES: allowed range; min == max == 0: any >= 0
    const char *choices;       //  CHOICE: "text|json"
    int flags;                 //  KF_CFG_RELOADABLE | KF_CFG_SECRET | KF_CFG_OPTION
} kf_config_entry_t;

#define KF_CONFIG_END                                                                              \
    {                                                                                              \
        NULL, KF_CFG_STRING, 0, NULL, NULL, 0, 0, NULL, 0                                          \
    }

typedef struct {
    const char *program;              //  "kefu-intake"
    const char *summary;              //  one paragraph: what the program is
    const char *usage;                //  extra usage text (subcommands), may be NULL
    const kf_config_entry_t *entries; //  the table, ended by KF_CONFIG_END
    const kf_config_entry_t *common;  //  a second table shared by all programs, may be NULL
} kf_config_spec_t;

//  The settings every program has (log level/format, database URL), as a
//  table for kf_config_spec_t.common and the struct it fills.
typedef struct {
    char *log_level;     //  KEFU_LOG_LEVEL
    char *log_format;    //  KEFU_LOG_FORMAT
    char *database_url;  //  KEFU_DATABASE_URL
    char *clock;         //  KEFU_CLOCK: "real", or "manual[:start]" in tests
    int64_t events_keep; //  KEFU_EVENTS_KEEP, ms (0: no automatic pruning)
} kf_common_config_t;
extern const kf_config_entry_t kf_common_config_entries[];

typedef enum {
    KF_CONFIG_OK = 0,      //  loaded; go on
    KF_CONFIG_EXIT_OK = 1, //  --help / --print-config / --version printed: exit 0
    KF_CONFIG_BAD = 2,     //  a bad value or argument was reported: exit 2
} kf_config_result_t;

//  Fill `cfg` (the program's struct) and `common` (may be NULL when the spec
//  has no common table). Arguments that are not settings are left in
//  argv and their count returned in *rest_argc (may be NULL: then any such
//  argument is an error). Messages go to `out` (--help) or stderr (errors).
kf_config_result_t kf_config_load (const kf_config_spec_t *spec, void *cfg,
                                   kf_common_config_t *common, int *argc, char **argv);

//  Parse one value for one entry into `cfg`. Returns 0, or -1 with the reason
//  in `why` (e.g. "not a duration (use 500ms, 30s, 5m, 1h, 1d)").
int kf_config_set (const kf_config_entry_t *entry, void *cfg, const char *value, char *why,
                   size_t why_size);

//  Print the generated help / current values.
void kf_config_print_help (const kf_config_spec_t *spec, FILE *out);
void kf_config_print (const kf_config_spec_t *spec, const void *cfg,
                      const kf_common_config_t *common, FILE *out);

//  Re-read the JSON file and environment; on success copy the RELOADABLE
//  entries into `cfg` and return 0; on a bad value keep `cfg`, log a warning
//  and return -1.
int kf_config_reload (const kf_config_spec_t *spec, void *cfg);

//  Free the strings a load allocated. Safe to call twice.
void kf_config_free (const kf_config_entry_t *entries, void *cfg);

//  Apply KEFU_LOG_LEVEL / KEFU_LOG_FORMAT from a loaded common config.
void kf_config_apply_logging (const kf_common_config_t *common);

#endif
