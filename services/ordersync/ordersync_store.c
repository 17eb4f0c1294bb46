/*  ordersync_store — kefu-ordersync's SQL: one pipeline per transaction. */
#include "ordersync_store.h"

#include "kf_batch.h"

#include <czmq.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  ms (0 = none) <-> timestamptz
#define T(x)  "to_timestamp (nullif (" x ", 0) / 1000.0::float8)"
#define MS(x) "coalesce ((extract (epoch FROM " x ") * 1000)::int8, 0)"

#define S_UPSERT_ORDERS                                                                                                                                                      \
    "INSERT INTO orders (shop_id, order_id, customer_id, channel, channel_customer_id, state, "                                                                              \
    "  payment, amount_cents, currency, created_at, paid_at, shipped_at, delivered_at, "                                                                                     \
    "  logistics_at, modified_at, tracking_no, items, receiver_address, receiver_phone, "                                                                                    \
    "  reminded_at, cod_opened_at, cod_confirmed_at, cod_escalated_at, task_owner, "                                                                                         \
    "  address_opened_at, address_confirmed_at, address_note, late_at, stalled_at, "                                                                                         \
    "  credited_agent, credited_conversation, credited_reply_at, credit_rule, credit_window_s, "                                                                             \
    "  refused) "                                                                                                                                                            \
    "SELECT s, o, nullif (cu, 0), ch, cc, st, pm, am, cur, " T ("cr") ", " T ("pa") ", " T (                                                                                 \
        "sh") ", " T ("de") ", " T ("lg") ", to_timestamp (mo / 1000.0::float8), nullif (tn, "                                                                               \
                                          "''), "                                                                                                                            \
                                          "  nullif (it, ''), nullif (ad, ''), nullif (ph, "                                                                                 \
                                          "''), " T ("re") ", " T ("co") ", " T ("cc2") ", " T ("ce") ", nullif (ow, ''), " T ("ao") ", " T ("ac") ", nullif (an, ''), " T ( \
                                              "la") ", " T ("sa") ", nullif (ca, ''), nullif "                                                                               \
                                                                  "(cv, 0), " T ("cra") ", "                                                                                 \
                                                                                        "  CASE "                                                                            \
                                                                                        "WHEN ca "                                                                           \
                                                                                        "<> '' "                                                                             \
                                                                                        "THEN "                                                                              \
                                                                                        "'last_"                                                                             \
                                                                                        "reply_"                                                                             \
                                                                                        "within_"                                                                            \
                                                                                        "window' "                                                                           \
                                                                                        "END, "                                                                              \
                                                                                        "nullif "                                                                            \
                                                                                        "(cw / "                                                                             \
                                                                                        "1000, "                                                                             \
                                                                                        "0), rf "                                                                            \
                                                                                        "FROM "                                                                              \
                                                                                        "(SELECT "                                                                           \
                                                                                        "unnest "                                                                            \
                                                                                        "($1::"                                                                              \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS s, "                                                                             \
                                                                                        "unnest "                                                                            \
                                                                                        "($2::"                                                                              \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS o, "                                                                             \
                                                                                        "unnest "                                                                            \
                                                                                        "($3::"                                                                              \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS cu, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($4::"                                                                              \
                                                                                        "int2[]) "                                                                           \
                                                                                        "AS ch, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($5::"                                                                              \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS cc, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($6::"                                                                              \
                                                                                        "int2[]) "                                                                           \
                                                                                        "AS st, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($7::"                                                                              \
                                                                                        "int2[]) "                                                                           \
                                                                                        "AS pm, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($8::"                                                                              \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS am, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($9::"                                                                              \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS cur, "                                                                           \
                                                                                        "unnest "                                                                            \
                                                                                        "($10::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS cr, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($11::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS pa, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($12::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS sh, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($13::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS de, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($14::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS lg, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($15::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS mo, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($16::"                                                                             \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS tn, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($17::"                                                                             \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS it, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($18::"                                                                             \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS ad, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($19::"                                                                             \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS ph, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($20::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS re, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($21::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS co, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($22::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS cc2, "                                                                           \
                                                                                        "unnest "                                                                            \
                                                                                        "($23::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS ce, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($24::"                                                                             \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS ow, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($25::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS ao, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($26::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS ac, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($27::"                                                                             \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS an, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($28::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS la, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($29::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS sa, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($30::"                                                                             \
                                                                                        "text[]) "                                                                           \
                                                                                        "AS ca, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($31::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS cv, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($32::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS cra, "                                                                           \
                                                                                        "unnest "                                                                            \
                                                                                        "($33::"                                                                             \
                                                                                        "int8[]) "                                                                           \
                                                                                        "AS cw, "                                                                            \
                                                                                        "unnest "                                                                            \
                                                                                        "($34::"                                                                             \
                                                                                        "int4[]) "                                                                           \
                                                                                        "AS rf) "                                                                            \
                                                                                        "AS t "                                                                              \
                                                                                        "ON "                                                                                \
                                                                                        "CONFLICT"                                                                           \
                                                                                        " (shop_"                                                                            \
                                                                                        "id, "                                                                               \
                                                                                        "order_"                                                                             \
                                                                                        "id) DO "                                                                            \
                                                                                        "UPDATE "                                                                            \
                                                                                        "SET "                                                                               \
                                                                                        "customer"                                                                           \
                                                                                        "_id = "                                                                             \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".custome"                                                                           \
                                                                                        "r_id, "                                                                             \
                                                                                        "channel "                                                                           \
                                                                                        "= "                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".channel"                                                                           \
                                                                                        ", "                                                                                 \
                                                                                        "channel_"                                                                           \
                                                                                        "customer"                                                                           \
                                                                                        "_id = "                                                                             \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".channel"                                                                           \
                                                                                        "_custome"                                                                           \
                                                                                        "r_id, "                                                                             \
                                                                                        "state = "                                                                           \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".state, "                                                                           \
                                                                                        "payment "                                                                           \
                                                                                        "= "                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".payment"                                                                           \
                                                                                        ", "                                                                                 \
                                                                                        "amount_"                                                                            \
                                                                                        "cents = "                                                                           \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".amount_"                                                                           \
                                                                                        "cents, "                                                                            \
                                                                                        "currency"                                                                           \
                                                                                        " = "                                                                                \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".currenc"                                                                           \
                                                                                        "y, "                                                                                \
                                                                                        "created_"                                                                           \
                                                                                        "at = "                                                                              \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".created"                                                                           \
                                                                                        "_at, "                                                                              \
                                                                                        "paid_at "                                                                           \
                                                                                        "= "                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".paid_"                                                                             \
                                                                                        "at, "                                                                               \
                                                                                        "shipped_"                                                                           \
                                                                                        "at = "                                                                              \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".shipped"                                                                           \
                                                                                        "_at, "                                                                              \
                                                                                        "delivere"                                                                           \
                                                                                        "d_at = "                                                                            \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".deliver"                                                                           \
                                                                                        "ed_at, "                                                                            \
                                                                                        "logistic"                                                                           \
                                                                                        "s_at = "                                                                            \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".logisti"                                                                           \
                                                                                        "cs_at, "                                                                            \
                                                                                        "modified"                                                                           \
                                                                                        "_at = "                                                                             \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".modifie"                                                                           \
                                                                                        "d_at, "                                                                             \
                                                                                        "tracking"                                                                           \
                                                                                        "_no = "                                                                             \
                                                                                        "coalesce"                                                                           \
                                                                                        " ("                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".trackin"                                                                           \
                                                                                        "g_no, "                                                                             \
                                                                                        "orders."                                                                            \
                                                                                        "tracking"                                                                           \
                                                                                        "_no), "                                                                             \
                                                                                        "items = "                                                                           \
                                                                                        "coalesce"                                                                           \
                                                                                        " ("                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".items, "                                                                           \
                                                                                        "orders."                                                                            \
                                                                                        "items), "                                                                           \
                                                                                        "receiver"                                                                           \
                                                                                        "_address"                                                                           \
                                                                                        " = "                                                                                \
                                                                                        "coalesce"                                                                           \
                                                                                        " ("                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".receive"                                                                           \
                                                                                        "r_"                                                                                 \
                                                                                        "address,"                                                                           \
                                                                                        " orders."                                                                           \
                                                                                        "receiver"                                                                           \
                                                                                        "_address"                                                                           \
                                                                                        "), "                                                                                \
                                                                                        "receiver"                                                                           \
                                                                                        "_phone "                                                                            \
                                                                                        "= "                                                                                 \
                                                                                        "coalesce"                                                                           \
                                                                                        " ("                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".receive"                                                                           \
                                                                                        "r_phone,"                                                                           \
                                                                                        " orders."                                                                           \
                                                                                        "receiver"                                                                           \
                                                                                        "_phone),"                                                                           \
                                                                                        " "                                                                                  \
                                                                                        "reminded"                                                                           \
                                                                                        "_at = "                                                                             \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".reminde"                                                                           \
                                                                                        "d_at, "                                                                             \
                                                                                        "cod_"                                                                               \
                                                                                        "opened_"                                                                            \
                                                                                        "at = "                                                                              \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".cod_"                                                                              \
                                                                                        "opened_"                                                                            \
                                                                                        "at, "                                                                               \
                                                                                        "cod_"                                                                               \
                                                                                        "confirme"                                                                           \
                                                                                        "d_at = "                                                                            \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".cod_"                                                                              \
                                                                                        "confirme"                                                                           \
                                                                                        "d_at, "                                                                             \
                                                                                        "cod_"                                                                               \
                                                                                        "escalate"                                                                           \
                                                                                        "d_at = "                                                                            \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".cod_"                                                                              \
                                                                                        "escalate"                                                                           \
                                                                                        "d_at, "                                                                             \
                                                                                        "task_"                                                                              \
                                                                                        "owner = "                                                                           \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".task_"                                                                             \
                                                                                        "owner, "                                                                            \
                                                                                        "address_"                                                                           \
                                                                                        "opened_"                                                                            \
                                                                                        "at = "                                                                              \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".address"                                                                           \
                                                                                        "_opened_"                                                                           \
                                                                                        "at, "                                                                               \
                                                                                        "address_"                                                                           \
                                                                                        "confirme"                                                                           \
                                                                                        "d_at = "                                                                            \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".address"                                                                           \
                                                                                        "_confirm"                                                                           \
                                                                                        "ed_at, "                                                                            \
                                                                                        "address_"                                                                           \
                                                                                        "note = "                                                                            \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".address"                                                                           \
                                                                                        "_note, "                                                                            \
                                                                                        "late_at "                                                                           \
                                                                                        "= "                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".late_"                                                                             \
                                                                                        "at, "                                                                               \
                                                                                        "stalled_"                                                                           \
                                                                                        "at = "                                                                              \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".stalled"                                                                           \
                                                                                        "_at, "                                                                              \
                                                                                        "credited"                                                                           \
                                                                                        "_agent "                                                                            \
                                                                                        "= "                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".credite"                                                                           \
                                                                                        "d_agent,"                                                                           \
                                                                                        " "                                                                                  \
                                                                                        "credited"                                                                           \
                                                                                        "_convers"                                                                           \
                                                                                        "ation = "                                                                           \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".credite"                                                                           \
                                                                                        "d_"                                                                                 \
                                                                                        "conversa"                                                                           \
                                                                                        "tion, "                                                                             \
                                                                                        "credited"                                                                           \
                                                                                        "_reply_"                                                                            \
                                                                                        "at = "                                                                              \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".credite"                                                                           \
                                                                                        "d_reply_"                                                                           \
                                                                                        "at, "                                                                               \
                                                                                        "credit_"                                                                            \
                                                                                        "rule = "                                                                            \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".credit_"                                                                           \
                                                                                        "rule, "                                                                             \
                                                                                        "credit_"                                                                            \
                                                                                        "window_"                                                                            \
                                                                                        "s = "                                                                               \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".credit_"                                                                           \
                                                                                        "window_"                                                                            \
                                                                                        "s, "                                                                                \
                                                                                        "refused "                                                                           \
                                                                                        "= "                                                                                 \
                                                                                        "EXCLUDED"                                                                           \
                                                                                        ".refused"

#define S_LOAD_ORDERS                                                                                                                                                           \
    "SELECT shop_id, order_id, coalesce (customer_id, 0), channel, channel_customer_id, state, "                                                                                \
    "payment, amount_cents, currency, " MS ("created_at") ", " MS ("paid_at") ", " MS (                                                                                         \
        "shipped_"                                                                                                                                                              \
        "at") ","                                                                                                                                                               \
              " " MS ("delivered_at") ", " MS ("logistics_at") ", " MS ("modified_at") ", " MS ("reminded_at") ", " MS ("cod_opened_at") ", " MS ("cod_confirmed_at") ", " MS ( \
                  "cod_escalated_at") ", coalesce (task_owner, "                                                                                                                \
                                      "''), " MS (                                                                                                                              \
                                          "address_opened_"                                                                                                                     \
                                          "at") ", " MS ("ad"                                                                                                                   \
                                                         "dr"                                                                                                                   \
                                                         "es"                                                                                                                   \
                                                         "s_"                                                                                                                   \
                                                         "co"                                                                                                                   \
                                                         "nf"                                                                                                                   \
                                                         "ir"                                                                                                                   \
                                                         "me"                                                                                                                   \
                                                         "d_"                                                                                                                   \
                                                         "a"                                                                                                                    \
                                                         "t") ", coalesce (address_note, "                                                                                      \
                                                              "''), " MS ("late_at") ", " MS (                                                                                  \
                                                                  "st"                                                                                                          \
                                                                  "al"                                                                                                          \
                                                                  "le"                                                                                                          \
                                                                  "d_"                                                                                                          \
                                                                  "a"                                                                                                           \
                                                                  "t") ", coalesce "                                                                                            \
                                                                       "(credited_agent, ''), "                                                                                 \
                                                                       "coalesce "                                                                                              \
                                                                       "(credited_conversation, "                                                                               \
                                                                       "0), " MS ("credited_"                                                                                   \
                                                                                  "reply_at") ", "                                                                              \
                                                                                              "co"                                                                              \
                                                                                              "al"                                                                              \
                                                                                              "es"                                                                              \
                                                                                              "ce"                                                                              \
                                                                                              " ("                                                                              \
                                                                                              "cr"                                                                              \
                                                                                              "ed"                                                                              \
                                                                                              "it"                                                                              \
                                                                                              "_w"                                                                              \
                                                                                              "in"                                                                              \
                                                                                              "do"                                                                              \
                                                                                              "w_"                                                                              \
                                                                                              "s,"                                                                              \
                                                                                              " 0"                                                                              \
                                                                                              "):"                                                                              \
                                                                                              ":i"                                                                              \
                                                                                              "nt"                                                                              \
                                                                                              "8 "                                                                              \
                                                                                              "* "                                                                              \
                                                                                              "10"                                                                              \
                                                                                              "00"                                                                              \
                                                                                              ", "                                                                              \
                                                                                              "re"                                                                              \
                                                                                              "fu"                                                                              \
                                                                                              "se"                                                                              \
                                                                                              "d "                                                                              \
                                                                                              "FR"                                                                              \
                                                                                              "OM"                                                                              \
                                                                                              " o"                                                                              \
                                                                                              "rd"                                                                              \
                                                                                              "er"                                                                              \
                                                                                              "s"

static const kf_stmt_t s_statements[] = {
    {"ordersync_upsert_orders", S_UPSERT_ORDERS},
    {"ordersync_insert_states",
     "INSERT INTO order_states (shop_id, order_id, at, state, previous_state, recorded_at) "
     "SELECT s, o, to_timestamp (at / 1000.0::float8), st, nullif (pr, 0), "
     "  to_timestamp (now_ms / 1000.0::float8) "
     "FROM (SELECT unnest ($1::text[]) AS s, unnest ($2::text[]) AS o, unnest ($3::int8[]) AS at, "
     "unnest ($4::int2[]) AS st, unnest ($5::int2[]) AS pr, unnest ($6::int8[]) AS now_ms) AS t "
     "ON CONFLICT DO NOTHING"},
    {"ordersync_insert_flags",
     "INSERT INTO order_flags (shop_id, order_id, at, flag, task, note, agent_id) "
     "SELECT s, o, to_timestamp (at / 1000.0::float8), f, tk, n, a "
     "FROM (SELECT unnest ($1::text[]) AS s, unnest ($2::text[]) AS o, unnest ($3::int8[]) AS at, "
     "unnest ($4::text[]) AS f, unnest ($5::text[]) AS tk, unnest ($6::text[]) AS n, "
     "unnest ($7::text[]) AS a) AS t"},
    {"ordersync_insert_refused",
     "INSERT INTO order_refused (shop_id, order_id, state, modified_at, reason, order_state, "
     "  recorded_at) "
     "SELECT s, o, st, to_timestamp (mo / 1000.0::float8), r, os, "
     "  to_timestamp (now_ms / 1000.0::float8) "
     "FROM (SELECT unnest ($1::text[]) AS s, unnest ($2::text[]) AS o, unnest ($3::int2[]) AS st, "
     "unnest ($4::int8[]) AS mo, unnest ($5::text[]) AS r, unnest ($6::int2[]) AS os, "
     "unnest ($7::int8[]) AS now_ms) AS t"},
    {"ordersync_insert_replies",
     "INSERT INTO ordersync_replies (shop_id, customer_id, at, agent_id, conversation_id) "
     "SELECT s, c, to_timestamp (at / 1000.0::float8), a, cv "
     "FROM (SELECT unnest ($1::text[]) AS s, unnest ($2::int8[]) AS c, unnest ($3::int8[]) AS at, "
     "unnest ($4::text[]) AS a, unnest ($5::int8[]) AS cv) AS t ON CONFLICT DO NOTHING"},
    {"ordersync_insert_commands",
     "INSERT INTO ordersync_outbox (shop_id, request_id, payload, created_at) "
     "SELECT s, r, p, to_timestamp (at / 1000.0::float8) "
     "FROM (SELECT unnest ($1::text[]) AS s, unnest ($2::text[]) AS r, unnest ($3::bytea[]) AS p, "
     "unnest ($4::int8[]) AS at) AS t ON CONFLICT (shop_id, request_id) DO NOTHING"},
    {"ordersync_forget_commands",
     "DELETE FROM ordersync_outbox o USING (SELECT unnest ($1::text[]) AS s, "
     "unnest ($2::text[]) AS r) AS u WHERE o.shop_id = u.s AND o.request_id = u.r"},
    //  The orders something may still be due for (ordersync_model.h): an
    //  open COD confirmation, paid and not late, shipped and not stalled,
    //  unpaid of the last two days ($1 = now - ORDERSYNC_OPEN_MS).
    {"ordersync_load_orders",
     S_LOAD_ORDERS " WHERE (cod_opened_at IS NOT NULL AND cod_confirmed_at IS NULL "
                   "AND cod_escalated_at IS NULL) "
                   "OR (state = 2 AND paid_at IS NOT NULL AND late_at IS NULL) "
                   "OR (state = 3 AND stalled_at IS NULL) "
                   "OR (state = 1 AND payment <> 2 AND reminded_at IS NULL "
                   "AND created_at >= to_timestamp ($1::int8 / 1000.0::float8))"},
    {"ordersync_list_orders", S_LOAD_ORDERS
     " WHERE shop_id = $1 AND ($2::int2 = 0 OR state = $2) "
     "AND (NOT $3::bool OR (state = 1 AND payment = 1)) AND (NOT $4::bool OR late_at IS NOT NULL) "
     "AND ($5::text IS NULL OR channel_customer_id = $5) "
     "AND (NOT $7::bool OR cod_opened_at IS NOT NULL OR address_opened_at IS NOT NULL) "
     "AND (NOT $8::bool OR (cod_opened_at IS NOT NULL AND cod_confirmed_at IS NULL) "
     "  OR (address_opened_at IS NOT NULL AND address_confirmed_at IS NULL)) "
     "ORDER BY created_at DESC, order_id LIMIT $6"},
    {"ordersync_load_created_bound",
     "SELECT shop_id, coalesce ((extract (epoch FROM max (created_at)) * 1000)::int8, 0) "
     "FROM orders GROUP BY shop_id"},
    {"ordersync_get_order", S_LOAD_ORDERS " WHERE shop_id = $1 AND order_id = $2"},
    //  A batch's orders memory let go of: ($1[i], $2[i]) pairs, one lookup.
    {"ordersync_get_orders", S_LOAD_ORDERS " WHERE (shop_id, order_id) IN "
                                           "(SELECT unnest ($1::text[]), unnest ($2::text[]))"},
    {"ordersync_order_history",
     "SELECT what, coalesce ((extract (epoch FROM at) * 1000)::int8, 0), st, pr, f, tk, n, a "
     "FROM (SELECT 'state' AS what, at, state AS st, coalesce (previous_state, 0) AS pr, "
     "  '' AS f, '' AS tk, '' AS n, '' AS a "
     "  FROM order_states WHERE shop_id = $1 AND order_id = $2 "
     "UNION ALL SELECT 'flag', at, 0, 0, flag, task, note, agent_id "
     "  FROM order_flags WHERE shop_id = $1 AND order_id = $2 "
     "UNION ALL SELECT 'refused', modified_at, state, order_state, '', '', reason, '' "
     "  FROM order_refused WHERE shop_id = $1 AND order_id = $2) AS h "
     "ORDER BY at, what DESC"},
    {"ordersync_load_replies",
     "SELECT shop_id, customer_id, agent_id, conversation_id, " MS (
         "at") " FROM ordersync_replies "
               "WHERE at > to_timestamp ($1::int8 / 1000.0::float8) ORDER BY at"},
    {"ordersync_load_outbox",
     "SELECT shop_id, request_id, payload FROM ordersync_outbox ORDER BY created_at, request_id"},
    {"ordersync_load_settings",
     "SELECT s.shop_id, s.timezone, coalesce (o.remind_minute, 960), "
     "  coalesce (o.cutoff_minute, 1020), coalesce (o.cod_notice_s, 7200)::int8 * 1000, "
     "  coalesce (o.stall_after_s, 172800)::int8 * 1000, coalesce (o.window_s, 86400)::int8 * "
     "1000, "
     "  coalesce (o.cod_group, 'presales'), o.remind_text, coalesce (o.open_minute, 510), "
     "  coalesce (o.close_minute, 1380) "
     "FROM shops s LEFT JOIN ordersync_settings o USING (shop_id) "
     "WHERE $1::text IS NULL OR s.shop_id = $1 ORDER BY s.shop_id"},
    {"ordersync_save_settings",
     "INSERT INTO ordersync_settings (shop_id, remind_minute, cutoff_minute, cod_notice_s, "
     "  stall_after_s, window_s, cod_group, remind_text, open_minute, close_minute) "
     "VALUES ($1, $2, $3, $4::int8 / 1000, $5::int8 / 1000, $6::int8 / 1000, $7, $8, $9, $10) "
     "ON CONFLICT (shop_id) DO UPDATE SET remind_minute = EXCLUDED.remind_minute, "
     "cutoff_minute = EXCLUDED.cutoff_minute, cod_notice_s = EXCLUDED.cod_notice_s, "
     "stall_after_s = EXCLUDED.stall_after_s, window_s = EXCLUDED.window_s, "
     "cod_group = EXCLUDED.cod_group, remind_text = EXCLUDED.remind_text, "
     "open_minute = EXCLUDED.open_minute, close_minute = EXCLUDED.close_minute"},
    {"ordersync_upsert_agents",
     "INSERT INTO ordersync_agents (shop_id, agent_id, on_shift, offline) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS s, unnest ($2::text[]) AS a, "
     "unnest ($3::bool[]) AS on_shift, unnest ($4::bool[]) AS offline) AS t "
     "ON CONFLICT (shop_id, agent_id) DO UPDATE SET on_shift = EXCLUDED.on_shift, "
     "offline = EXCLUDED.offline"},
    {"ordersync_load_agents",
     "SELECT shop_id, agent_id, on_shift::int, offline::int FROM ordersync_agents"},
    {NULL, NULL}};

void
ordersync_store_register (kf_store_t *store)
{
    kf_store_add_statements (store, s_statements);
}

//  ---------------------------------------------------------------------

//  An order's row waiting for the transaction (the latest wins).
typedef struct {
    char shop_id[65];    //  shop
    ordersync_order_t o; //  the order as now
    char *tracking;      //  owned, NULL: keep the stored one
    char *items;         //  owned, NULL: keep
    char *address;       //  owned, NULL: keep
    char *phone;         //  owned, NULL: keep
} s_row_t;

struct _ordersync_writes_t {
    zhashx_t *orders;     //  "shop\x1forder" -> s_row_t
    zlistx_t *order_seq;  //  keys in first-change order (stable row order: no deadlocks)
    kf_batch_t *states;   //  order_states rows
    kf_batch_t *flags;    //  order_flags rows
    kf_batch_t *refused;  //  order_refused rows
    kf_batch_t *replies;  //  ordersync_replies rows
    kf_batch_t *commands; //  ordersync_outbox rows
    kf_batch_t *forgets;  //  ordersync_outbox rows to delete
    kf_batch_t *agents;   //  ordersync_agents rows (shift and presence)
    kf_batch_t *rows;     //  the orders' upsert, built at queue time
};

static void
s_row_destroy (void **item_p)
{
    s_row_t *r = *item_p;
    if (!r)
        return;
    free (r->tracking);
    free (r->items);
    free (r->address);
    free (r->phone);
    free (r);
    *item_p = NULL;
}

ordersync_writes_t *
ordersync_writes_new (void)
{
    ordersync_writes_t *self = calloc (1, sizeof *self);
    self->orders = zhashx_new ();
    zhashx_set_destructor (self->orders, s_row_destroy);
    self->order_seq = zlistx_new ();
    zlistx_set_destructor (self->order_seq, (zlistx_destructor_fn *) zstr_free);
    kf_col_type_t st[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8,
                          KF_COL_INT2, KF_COL_INT2, KF_COL_INT8};
    self->states = kf_batch_new (6, st);
    kf_col_type_t fl[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT,
                          KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT};
    self->flags = kf_batch_new (7, fl);
    kf_col_type_t rf[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT2, KF_COL_INT8,
                          KF_COL_TEXT, KF_COL_INT2, KF_COL_INT8};
    self->refused = kf_batch_new (7, rf);
    kf_col_type_t rp[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_TEXT, KF_COL_INT8};
    self->replies = kf_batch_new (5, rp);
    kf_col_type_t cm[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_BYTEA, KF_COL_INT8};
    self->commands = kf_batch_new (4, cm);
    kf_col_type_t fg[] = {KF_COL_TEXT, KF_COL_TEXT};
    self->forgets = kf_batch_new (2, fg);
    kf_col_type_t ag[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_BOOL, KF_COL_BOOL};
    self->agents = kf_batch_new (4, ag);
    kf_col_type_t ro[] = {
        KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT2, KF_COL_TEXT, KF_COL_INT2, KF_COL_INT2,
        KF_COL_INT8, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8,
        KF_COL_INT8, KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8,
        KF_COL_INT8, KF_COL_INT8, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_TEXT, KF_COL_INT8,
        KF_COL_INT8, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8, KF_COL_INT4};
    self->rows = kf_batch_new (34, ro);
    return self;
}

void
ordersync_writes_destroy (ordersync_writes_t **self_p)
{
    ordersync_writes_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    zhashx_destroy (&self->orders);
    zlistx_destroy (&self->order_seq);
    kf_batch_destroy (&self->states);
    kf_batch_destroy (&self->flags);
    kf_batch_destroy (&self->refused);
    kf_batch_destroy (&self->replies);
    kf_batch_destroy (&self->commands);
    kf_batch_destroy (&self->forgets);
    kf_batch_destroy (&self->agents);
    kf_batch_destroy (&self->rows);
    free (self);
    *self_p = NULL;
}

static void
s_take (char **dst, const char *src)
{
    if (!src)
        return;
    free (*dst);
    *dst = strdup (src);
}

void
ordersync_writes_order (ordersync_writes_t *self, const char *shop_id, const ordersync_order_t *o,
                        const ordersync_snapshot_t *snap, const char *items, const char *address,
                        const char *phone)
{
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%s", shop_id, o->order_id);
    s_row_t *r = zhashx_lookup (self->orders, key);
    if (!r) {
        r = calloc (1, sizeof *r);
        snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
        zhashx_insert (self->orders, key, r);
        zlistx_add_end (self->order_seq, strdup (key));
    }
    r->o = *o;
    if (snap) {
        s_take (&r->tracking, snap->tracking_no);
        s_take (&r->items, items);
        s_take (&r->address, address);
        s_take (&r->phone, phone);
    }
}

void
ordersync_writes_state (ordersync_writes_t *self, const char *shop_id, const char *order_id,
                        int64_t at, int state, int previous, int64_t now)
{
    kf_batch_str (self->states, 0, shop_id);
    kf_batch_str (self->states, 1, order_id);
    kf_batch_int (self->states, 2, at);
    kf_batch_int (self->states, 3, state);
    kf_batch_int (self->states, 4, previous);
    kf_batch_int (self->states, 5, now);
}

void
ordersync_writes_flag (ordersync_writes_t *self, const char *shop_id, const char *order_id,
                       int64_t at, const char *flag, const char *task, const char *note,
                       const char *agent_id)
{
    kf_batch_str (self->flags, 0, shop_id);
    kf_batch_str (self->flags, 1, order_id);
    kf_batch_int (self->flags, 2, at);
    kf_batch_str (self->flags, 3, flag);
    kf_batch_str (self->flags, 4, task);
    kf_batch_str (self->flags, 5, note);
    kf_batch_str (self->flags, 6, agent_id);
}

void
ordersync_writes_refused (ordersync_writes_t *self, const char *shop_id,
                          const ordersync_snapshot_t *snap, const char *reason, int order_state,
                          int64_t now)
{
    kf_batch_str (self->refused, 0, shop_id);
    kf_batch_str (self->refused, 1, snap->order_id);
    kf_batch_int (self->refused, 2, snap->state);
    kf_batch_int (self->refused, 3, snap->modified_at);
    kf_batch_str (self->refused, 4, reason);
    kf_batch_int (self->refused, 5, order_state);
    kf_batch_int (self->refused, 6, now);
}

void
ordersync_writes_reply (ordersync_writes_t *self, const char *shop_id, int64_t customer_id,
                        const char *agent_id, int64_t conversation_id, int64_t at)
{
    kf_batch_str (self->replies, 0, shop_id);
    kf_batch_int (self->replies, 1, customer_id);
    kf_batch_int (self->replies, 2, at);
    kf_batch_str (self->replies, 3, agent_id);
    kf_batch_int (self->replies, 4, conversation_id);
}

void
ordersync_writes_command (ordersync_writes_t *self, const char *shop_id, const char *request_id,
                          const uint8_t *payload, size_t size, int64_t at)
{
    kf_batch_str (self->commands, 0, shop_id);
    kf_batch_str (self->commands, 1, request_id);
    kf_batch_text (self->commands, 2, payload, size);
    kf_batch_int (self->commands, 3, at);
}

void
ordersync_writes_forget (ordersync_writes_t *self, const char *shop_id, const char *request_id)
{
    kf_batch_str (self->forgets, 0, shop_id);
    kf_batch_str (self->forgets, 1, request_id);
}

void
ordersync_writes_agent (ordersync_writes_t *self, const char *shop_id, const char *agent_id,
                        bool on_shift, bool offline)
{
    kf_batch_str (self->agents, 0, shop_id);
    kf_batch_str (self->agents, 1, agent_id);
    kf_batch_bool (self->agents, 2, on_shift);
    kf_batch_bool (self->agents, 3, offline);
}

bool
ordersync_writes_empty (const ordersync_writes_t *self)
{
    return zhashx_size (self->orders) == 0 && kf_batch_rows (self->states) == 0 &&
           kf_batch_rows (self->flags) == 0 && kf_batch_rows (self->refused) == 0 &&
           kf_batch_rows (self->replies) == 0 && kf_batch_rows (self->commands) == 0 &&
           kf_batch_rows (self->forgets) == 0 && kf_batch_rows (self->agents) == 0;
}

static void
s_opt (kf_batch_t *b, int col, const char *s)
{
    kf_batch_str (b, col, s ? s : "");
}

static void
s_queue_batch (kf_store_t *store, const char *stmt, kf_batch_t *batch)
{
    if (kf_batch_rows (batch) == 0)
        return;
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    kf_store_pipeline_add (store, stmt, &params, NULL, NULL);
}

void
ordersync_writes_queue (ordersync_writes_t *self, kf_store_t *store)
{
    kf_batch_t *b = self->rows;
    kf_batch_reset (b);
    for (const char *key = zlistx_first (self->order_seq); key;
         key = zlistx_next (self->order_seq)) {
        const s_row_t *r = zhashx_lookup (self->orders, key);
        const ordersync_order_t *o = &r->o;
        int c = 0;
        kf_batch_str (b, c++, r->shop_id);
        kf_batch_str (b, c++, o->order_id);
        kf_batch_int (b, c++, o->customer_id);
        kf_batch_int (b, c++, o->channel);
        kf_batch_str (b, c++, o->channel_customer_id);
        kf_batch_int (b, c++, o->state);
        kf_batch_int (b, c++, o->payment);
        kf_batch_int (b, c++, o->amount_cents);
        kf_batch_str (b, c++, o->currency);
        int64_t times[] = {o->created_at,   o->paid_at,      o->shipped_at,
                           o->delivered_at, o->logistics_at, o->modified_at};
        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
            kf_batch_int (b, c++, times[i]);
        s_opt (b, c++, r->tracking);
        s_opt (b, c++, r->items);
        s_opt (b, c++, r->address);
        s_opt (b, c++, r->phone);
        kf_batch_int (b, c++, o->reminded_at);
        kf_batch_int (b, c++, o->cod_opened_at);
        kf_batch_int (b, c++, o->cod_confirmed_at);
        kf_batch_int (b, c++, o->cod_escalated_at);
        kf_batch_str (b, c++, o->task_owner);
        kf_batch_int (b, c++, o->address_opened_at);
        kf_batch_int (b, c++, o->address_confirmed_at);
        kf_batch_str (b, c++, o->address_note);
        kf_batch_int (b, c++, o->late_at);
        kf_batch_int (b, c++, o->stalled_at);
        kf_batch_str (b, c++, o->credited_agent);
        kf_batch_int (b, c++, o->credited_conversation);
        kf_batch_int (b, c++, o->credited_reply_at);
        kf_batch_int (b, c++, o->credit_window_ms);
        kf_batch_int (b, c++, o->refused);
    }
    s_queue_batch (store, "ordersync_upsert_orders", b);
    s_queue_batch (store, "ordersync_insert_states", self->states);
    s_queue_batch (store, "ordersync_insert_flags", self->flags);
    s_queue_batch (store, "ordersync_insert_refused", self->refused);
    s_queue_batch (store, "ordersync_insert_replies", self->replies);
    s_queue_batch (store, "ordersync_insert_commands", self->commands);
    s_queue_batch (store, "ordersync_forget_commands", self->forgets);
    s_queue_batch (store, "ordersync_upsert_agents", self->agents);
}

void
ordersync_writes_clear (ordersync_writes_t *self)
{
    zhashx_purge (self->orders);
    zlistx_purge (self->order_seq);
    kf_batch_reset (self->states);
    kf_batch_reset (self->flags);
    kf_batch_reset (self->refused);
    kf_batch_reset (self->replies);
    kf_batch_reset (self->commands);
    kf_batch_reset (self->forgets);
    kf_batch_reset (self->agents);
}

//  ---------------------------------------------------------------------
//  Loads

typedef struct {
    void *fn;  //  the caller's callback
    void *arg; //  its argument
} s_cb_t;

static int
s_on_settings (const PGresult *res, void *arg)
{
    s_cb_t *cb = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        ordersync_settings_t s;
        ordersync_settings_defaults (&s, kf_store_text (res, r, 0));
        snprintf (s.timezone, sizeof s.timezone, "%s", kf_store_text (res, r, 1));
        s.remind_minute = (int) kf_store_int (res, r, 2);
        s.cutoff_minute = (int) kf_store_int (res, r, 3);
        s.cod_notice_ms = kf_store_int (res, r, 4);
        s.stall_ms = kf_store_int (res, r, 5);
        s.window_ms = kf_store_int (res, r, 6);
        snprintf (s.cod_group, sizeof s.cod_group, "%s", kf_store_text (res, r, 7));
        if (!kf_store_isnull (res, r, 8))
            snprintf (s.remind_text, sizeof s.remind_text, "%s", kf_store_text (res, r, 8));
        s.open_minute = (int) kf_store_int (res, r, 9);
        s.close_minute = (int) kf_store_int (res, r, 10);
        ((ordersync_settings_fn *) cb->fn) (cb->arg, &s);
    }
    return 0;
}

int
ordersync_store_load_settings (kf_store_t *store, const char *shop_id_or_null,
                               ordersync_settings_fn *fn, void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    if (shop_id_or_null)
        kf_params_str (&params, shop_id_or_null);
    else
        kf_params_null (&params);
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_load_settings", &params, s_on_settings, &cb, err);
}

int
ordersync_store_save_settings (kf_store_t *store, const ordersync_settings_t *s, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, s->shop_id);
    kf_params_int (&params, s->remind_minute);
    kf_params_int (&params, s->cutoff_minute);
    kf_params_int (&params, s->cod_notice_ms);
    kf_params_int (&params, s->stall_ms);
    kf_params_int (&params, s->window_ms);
    kf_params_str (&params, s->cod_group);
    kf_params_str (&params, s->remind_text);
    kf_params_int (&params, s->open_minute);
    kf_params_int (&params, s->close_minute);
    return kf_store_exec (store, "ordersync_save_settings", &params, NULL, NULL, err);
}

static int
s_on_orders (const PGresult *res, void *arg)
{
    s_cb_t *cb = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        ordersync_order_t o;
        memset (&o, 0, sizeof o);
        int c = 1;
        snprintf (o.order_id, sizeof o.order_id, "%s", kf_store_text (res, r, c++));
        o.customer_id = kf_store_int (res, r, c++);
        o.channel = (int) kf_store_int (res, r, c++);
        snprintf (o.channel_customer_id, sizeof o.channel_customer_id, "%s",
                  kf_store_text (res, r, c++));
        o.state = (int) kf_store_int (res, r, c++);
        o.payment = (int) kf_store_int (res, r, c++);
        o.amount_cents = kf_store_int (res, r, c++);
        snprintf (o.currency, sizeof o.currency, "%s", kf_store_text (res, r, c++));
        o.created_at = kf_store_int (res, r, c++);
        o.paid_at = kf_store_int (res, r, c++);
        o.shipped_at = kf_store_int (res, r, c++);
        o.delivered_at = kf_store_int (res, r, c++);
        o.logistics_at = kf_store_int (res, r, c++);
        o.modified_at = kf_store_int (res, r, c++);
        o.reminded_at = kf_store_int (res, r, c++);
        o.cod_opened_at = kf_store_int (res, r, c++);
        o.cod_confirmed_at = kf_store_int (res, r, c++);
        o.cod_escalated_at = kf_store_int (res, r, c++);
        snprintf (o.task_owner, sizeof o.task_owner, "%s", kf_store_text (res, r, c++));
        o.address_opened_at = kf_store_int (res, r, c++);
        o.address_confirmed_at = kf_store_int (res, r, c++);
        snprintf (o.address_note, sizeof o.address_note, "%s", kf_store_text (res, r, c++));
        o.late_at = kf_store_int (res, r, c++);
        o.stalled_at = kf_store_int (res, r, c++);
        snprintf (o.credited_agent, sizeof o.credited_agent, "%s", kf_store_text (res, r, c++));
        o.credited_conversation = kf_store_int (res, r, c++);
        o.credited_reply_at = kf_store_int (res, r, c++);
        o.credit_window_ms = kf_store_int (res, r, c++);
        o.refused = (int) kf_store_int (res, r, c++);
        ((ordersync_order_fn *) cb->fn) (cb->arg, kf_store_text (res, r, 0), &o);
    }
    return 0;
}

int
ordersync_store_load_orders (kf_store_t *store, int64_t now_ms, ordersync_order_fn *fn, void *arg,
                             kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, now_ms - ORDERSYNC_OPEN_MS);
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_load_orders", &params, s_on_orders, &cb, err);
}

int
ordersync_store_list_orders (kf_store_t *store, const char *shop_id,
                             const ordersync_filter_t *filter, ordersync_order_fn *fn, void *arg,
                             kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, filter->state);
    kf_params_bool (&params, filter->unpaid);
    kf_params_bool (&params, filter->late);
    if (filter->customer)
        kf_params_str (&params, filter->customer);
    else
        kf_params_null (&params);
    kf_params_int (&params, filter->limit);
    kf_params_bool (&params, filter->tasks);
    kf_params_bool (&params, filter->open);
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_list_orders", &params, s_on_orders, &cb, err);
}

int
ordersync_store_get_order (kf_store_t *store, const char *shop_id, const char *order_id,
                           ordersync_order_fn *fn, void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, order_id);
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_get_order", &params, s_on_orders, &cb, err);
}

int
ordersync_store_get_orders (kf_store_t *store, kf_batch_t *keys, ordersync_order_fn *fn, void *arg,
                            kf_error_t *err)
{
    if (kf_batch_rows (keys) == 0)
        return 0;
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (keys, &params);
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_get_orders", &params, s_on_orders, &cb, err);
}

static int
s_on_history (const PGresult *res, void *arg)
{
    s_cb_t *cb = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        ordersync_history_t h = {.what = kf_store_text (res, r, 0),
                                 .at = kf_store_int (res, r, 1),
                                 .state = (int) kf_store_int (res, r, 2),
                                 .previous = (int) kf_store_int (res, r, 3),
                                 .flag = kf_store_text (res, r, 4),
                                 .task = kf_store_text (res, r, 5),
                                 .note = kf_store_text (res, r, 6),
                                 .agent = kf_store_text (res, r, 7)};
        ((ordersync_history_fn *) cb->fn) (cb->arg, &h);
    }
    return 0;
}

int
ordersync_store_order_history (kf_store_t *store, const char *shop_id, const char *order_id,
                               ordersync_history_fn *fn, void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, order_id);
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_order_history", &params, s_on_history, &cb, err);
}

static int
s_on_created_bound (const PGresult *res, void *arg)
{
    s_cb_t *cb = arg;
    for (int r = 0; r < PQntuples (res); r++)
        ((ordersync_created_fn *) cb->fn) (cb->arg, kf_store_text (res, r, 0),
                                           kf_store_int (res, r, 1));
    return 0;
}

int
ordersync_store_load_created_bound (kf_store_t *store, ordersync_created_fn *fn, void *arg,
                                    kf_error_t *err)
{
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_load_created_bound", NULL, s_on_created_bound, &cb,
                          err);
}

static int
s_on_replies (const PGresult *res, void *arg)
{
    s_cb_t *cb = arg;
    for (int r = 0; r < PQntuples (res); r++)
        ((ordersync_reply_fn *) cb->fn) (cb->arg, kf_store_text (res, r, 0),
                                         kf_store_int (res, r, 1), kf_store_text (res, r, 2),
                                         kf_store_int (res, r, 3), kf_store_int (res, r, 4));
    return 0;
}

int
ordersync_store_load_replies (kf_store_t *store, int64_t since_ms, ordersync_reply_fn *fn,
                              void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, since_ms);
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_load_replies", &params, s_on_replies, &cb, err);
}

static int
s_on_agents (const PGresult *res, void *arg)
{
    s_cb_t *cb = arg;
    for (int r = 0; r < PQntuples (res); r++)
        ((ordersync_agent_fn *) cb->fn) (cb->arg, kf_store_text (res, r, 0),
                                         kf_store_text (res, r, 1), kf_store_int (res, r, 2) != 0,
                                         kf_store_int (res, r, 3) != 0);
    return 0;
}

int
ordersync_store_load_agents (kf_store_t *store, ordersync_agent_fn *fn, void *arg, kf_error_t *err)
{
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_load_agents", NULL, s_on_agents, &cb, err);
}

static int
s_on_outbox (const PGresult *res, void *arg)
{
    s_cb_t *cb = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        size_t len = 0;
        unsigned char *bytes =
            PQunescapeBytea ((const unsigned char *) kf_store_text (res, r, 2), &len);
        if (!bytes)
            continue;
        ((ordersync_command_fn *) cb->fn) (cb->arg, kf_store_text (res, r, 0),
                                           kf_store_text (res, r, 1), bytes, len);
        PQfreemem (bytes);
    }
    return 0;
}

int
ordersync_store_load_outbox (kf_store_t *store, ordersync_command_fn *fn, void *arg,
                             kf_error_t *err)
{
    s_cb_t cb = {(void *) fn, arg};
    return kf_store_exec (store, "ordersync_load_outbox", NULL, s_on_outbox, &cb, err);
}
