/*  kefuctl_ask — asking kefu-metrics (the Query/Answer protocol of
    control.proto, metrics_query_call) on behalf of kefuctl's supervisor
    commands, and the CSV fields they print. */
#include "kefuctl.h"

#include "kf_error.h"
#include "metrics_query.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  ---------------------------------------------------------------------
//  Asking

//  metrics' public key from KEFU_METRICS_SERVER_KEY: Z85 as it is, or a
//  key file (kefuctl principal add --generate writes NAME.key).
static int
s_server_key (const char *cmd, const char *setting, char key[41])
{
    key[0] = '\0';
    if (!*setting)
        return 0;
    if (strlen (setting) == 40 && !strchr (setting, '/')) {
        snprintf (key, 41, "%s", setting);
        return 0;
    }
    zcert_t *cert = zcert_load (setting);
    if (!cert) {
        fprintf (stderr, "%s: cannot read metrics' public key from KEFU_METRICS_SERVER_KEY=%s\n",
                 cmd, setting);
        return KEFUCTL_USAGE;
    }
    snprintf (key, 41, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

//  Ask metrics; *out is the answer's JSON document (caller decrefs). Prints
//  why not and returns the exit code otherwise.
int
kefuctl_metrics_query (kefuctl_t *ctl, const char *cmd, const Kefu__V1__Query *query, json_t **out)
{
    char key[41];
    int rc = s_server_key (cmd, ctl->config->metrics_server_key, key);
    if (rc)
        return rc;
    zcert_t *cert = NULL;
    if (*key) {
        cert = *ctl->config->key_file ? zcert_load (ctl->config->key_file) : NULL;
        if (!cert) {
            fprintf (stderr,
                     "%s: KEFU_KEY_FILE must name your key pair (the _secret file of kefuctl "
                     "principal add ... --role supervisor --generate DIR)\n",
                     cmd);
            return KEFUCTL_USAGE;
        }
    }
    Kefu__V1__Answer *answer = metrics_query_call (ctl->config->metrics_endpoint, key, cert, query,
                                                   (int) ctl->config->query_timeout);
    zcert_destroy (&cert);
    if (!answer) {
        fprintf (stderr,
                 "%s: no answer from kefu-metrics at %s (is it running? is KEFU_METRICS_SERVER_KEY "
                 "its key, and is your key registered?)\n",
                 cmd, ctl->config->metrics_endpoint);
        return KEFUCTL_FAILED;
    }
    if (answer->status != KEFU__V1__ACK_STATUS__ACK_ACCEPTED) {
        fprintf (stderr, "%s: %s: %s\n", cmd, kf_error_code_name (answer->code), answer->reason);
        switch (answer->code) {
        case KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP:
            rc = KEFUCTL_NOT_FOUND;
            break;
        case KEFU__V1__ERROR_CODE__ERROR_SHOP_OUT_OF_SCOPE:
        case KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN:
        case KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED:
        case KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE:
        case KEFU__V1__ERROR_CODE__ERROR_INTERNAL:
            rc = KEFUCTL_FAILED;
            break;
        default:
            rc = KEFUCTL_USAGE;
        }
    } else {
        json_error_t jerr;
        *out = json_loadb ((const char *) answer->json.data, answer->json.len, 0, &jerr);
        if (!*out) {
            fprintf (stderr, "%s: the answer is not JSON: %s\n", cmd, jerr.text);
            rc = KEFUCTL_FAILED;
        }
    }
    kefu__v1__answer__free_unpacked (answer, NULL);
    return rc;
}

static ProtobufCBinaryData
s_bytes (const char *s)
{
    return (ProtobufCBinaryData){s ? strlen (s) : 0, (uint8_t *) s};
}

//  Ask kind about shop with the parameters gathered from the command line
//  (takes ownership of *params_p), unless parsing them failed already (rc
//  is that exit code). *out as for s_ask.
static int
s_ask_kind (kefuctl_t *ctl, const char *cmd, int rc, const char *kind, const char *shop,
            const char *by, json_t **params_p, json_t **out)
{
    char *text = json_dumps (*params_p, JSON_COMPACT);
    json_decref (*params_p);
    *params_p = NULL;
    if (!rc) {
        Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
        q.request_id = s_bytes ("kefuctl");
        q.kind = s_bytes (kind);
        q.shop_id = s_bytes (shop);
        q.group_by = s_bytes (by);
        q.params_json = s_bytes (text);
        rc = kefuctl_metrics_query (ctl, cmd, &q, out);
    }
    free (text);
    return rc;
}

int
kefuctl_metrics_ask (kefuctl_t *ctl, const char *cmd, const char *kind, const char *shop,
                     const char *by, json_t **params_p, json_t **out)
{
    return s_ask_kind (ctl, cmd, 0, kind, shop, by, params_p, out);
}

//  A CSV field: quoted when it holds a comma, quote or line break.
void
kefuctl_csv_field (const char *text)
{
    if (strpbrk (text, ",\"\n\r")) {
        putchar ('"');
        for (const char *c = text; *c; c++) {
            if (*c == '"')
                putchar ('"');
            putchar (*c);
        }
        putchar ('"');
    } else
        fputs (text, stdout);
}
