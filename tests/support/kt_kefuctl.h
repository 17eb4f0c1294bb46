/*  kt_kefuctl — run the real kefuctl binary from a test and check what it
    did: exit code, stdout, stderr. */
#ifndef KT_KEFUCTL_H
#define KT_KEFUCTL_H

#include <jansson.h>

//  One run of kefuctl: exit code and what it printed.
typedef struct {
    int rc;          //  exit status, -1 if it did not exit normally
    char out[32768]; //  stdout
    char err[8192];  //  stderr
} kt_run_t;

//  The last run of KT_EXPECT (large: not on the stack).
extern kt_run_t kt_kefuctl_last;

//  Run kefuctl with the NULL-terminated arguments against conninfo `url`
//  (KEFU_DATABASE_URL); the operator is $USER=supervisor1 unless --by says
//  otherwise. Returns the exit code (also in run->rc).
int kt_kefuctl (const char *url, kt_run_t *run, ...);

//  Run and require an exit code; on a mismatch fail showing what it said.
#define KT_EXPECT(url, code, ...)                                                                  \
    do {                                                                                           \
        kt_run_t *r_ = &kt_kefuctl_last;                                                           \
        int rc_ = kt_kefuctl (url, r_, __VA_ARGS__, NULL);                                         \
        if (rc_ != (code))                                                                         \
            fail_msg ("line %d: exit %d, expected %d\nstdout: %s\nstderr: %s", __LINE__, rc_,      \
                      (code), r_->out, r_->err);                                                   \
    } while (0)

//  The last run's stdout as JSON (a --json answer); fails the test when it
//  is not JSON. Caller owns return value (json_decref).
json_t *kt_kefuctl_json (void);
//  The string member key of o (borrowed), "(missing)" when o has none.
const char *kt_json_member (json_t *o, const char *key);

//  Run one SQL command (or several) against url; fail the test on error.
void kt_sql (const char *url, const char *sql);

#endif
