/*  kefuctl — operator CLI: migrate, shops, principals, service status, and
    routing administration (shifts, groups, agents, settings, transfers). */
#include "kefuctl.h"

#include "kf_clock.h"
#include "kf_daemon.h"
#include "kf_log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const kf_config_entry_t s_entries[] = {
    {"KEFU_MIGRATIONS_DIR", KF_CFG_STRING, offsetof (kefuctl_config_t, migrations_dir), "",
     "directory of NNNN_*.sql migrations (empty: the installed or source-tree deploy/migrations)",
     0, 0, NULL, 0},
    {"KEFU_STATUS_ENDPOINTS", KF_CFG_STRING, offsetof (kefuctl_config_t, status_endpoints),
     "intake=tcp://127.0.0.1:5581,routing=tcp://127.0.0.1:5582,ordersync=tcp://127.0.0.1:5583,"
     "escalation=tcp://127.0.0.1:5584,metrics=tcp://127.0.0.1:5585",
     "control endpoints `kefuctl status` asks, as name=endpoint,... (every service's default)", 0,
     0, NULL, 0},
    {"KEFU_STATUS_TIMEOUT", KF_CFG_DURATION, offsetof (kefuctl_config_t, status_timeout), "1500ms",
     "how long `kefuctl status` waits for the services' answers (all are asked at once)", 1, 60000,
     NULL, 0},
    {"KEFU_METRICS_ENDPOINT", KF_CFG_STRING, offsetof (kefuctl_config_t, metrics_endpoint),
     "tcp://127.0.0.1:5577", "kefu-metrics' query endpoint (`kefuctl kpi`, `kefuctl now`)", 0, 0,
     NULL, 0},
    {"KEFU_METRICS_SERVER_KEY", KF_CFG_STRING, offsetof (kefuctl_config_t, metrics_server_key), "",
     "kefu-metrics' public key (Z85, or its .key file); empty: plain (KEFU_INSECURE)", 0, 0, NULL,
     0},
    {"KEFU_KEY_FILE", KF_CFG_STRING, offsetof (kefuctl_config_t, key_file), "",
     "your key pair for kefu-metrics (the _secret file of kefuctl principal add --generate)", 0, 0,
     NULL, 0},
    {"KEFU_QUERY_TIMEOUT", KF_CFG_DURATION, offsetof (kefuctl_config_t, query_timeout), "10s",
     "how long `kefuctl kpi` and `kefuctl now` wait for kefu-metrics", 100, 600000, NULL, 0},
    {"KEFU_GATEWAY_ENDPOINT", KF_CFG_STRING, offsetof (kefuctl_config_t, gateway_endpoint),
     "tcp://127.0.0.1:5555", "intake's gateway endpoint (`kefuctl orders import` pushes there)", 0,
     0, NULL, 0},
    {"KEFU_INTAKE_SERVER_KEY", KF_CFG_STRING, offsetof (kefuctl_config_t, intake_server_key), "",
     "intake's public key (Z85) for `kefuctl orders import`, with KEFU_KEY_FILE (a gateway "
     "principal's key pair); empty: plain (KEFU_INSECURE)",
     0, 0, NULL, 0},
    KF_CONFIG_END};

static const char *s_usage =
    "Commands:\n"
    "  migrate [--dry-run]                 apply pending database migrations (idempotent)\n"
    "  shop add <shop_id> --name NAME [--timezone TZ]\n"
    "                                      register a shop (time zone default Asia/Shanghai)\n"
    "  shop list [--json]                  list shops\n"
    "  principal add <id> --role ROLE (--shops A,B | --all-shops) [--key Z85 | --generate DIR]\n"
    "        [--gateway-id GW]...          register a gateway/supervisor/admin/service key (and\n"
    "                                      the gateway ids it may say: by default its own id)\n"
    "  principal bind <id> --gateway-id GW...\n"
    "  principal token <id>                a new dashboard token for a supervisor (printed once)\n"
    "                                      give a gateway key more gateway ids\n"
    "  principal list [--json]             list principals, their shops and gateway ids\n"
    "  principal disable <id>              revoke a principal (its key stops working)\n"
    "  status [--service NAME=ENDPOINT]... [--json]\n"
    "                                      ask running services for their status and counters\n"
    "  events list [--json]                how far each consumer has applied each event stream\n"
    "  events prune [--keep 7d] [--dry-run]\n"
    "                                      delete events every consumer has applied (cron it)\n"
    "  events forget-consumer <consumer>   drop a retired consumer's offsets\n"
    "  events watch ENDPOINT [keys]        print a service's events as they are published\n"
    "Routing (分流) of a shop:\n"
    "  shift defaults <shop>               day/night shifts, 售前/售后 groups, default settings\n"
    "  shift add|set|list <shop> ...       shifts (白班, 晚班, ...) in the shop's time zone\n"
    "  group add|set|list <shop> ...       agent groups and their queues' overflow\n"
    "  agent add|set|schedule|list <shop> ...\n"
    "                                      agents: groups, capacity, VIP, shifts, days, rotation\n"
    "  handover <shop> <agent> --note TEXT set an agent's handover note (交接留言)\n"
    "  routing show|set <shop> ...         auto-replies, 首问责任制, SLA, intent -> group\n"
    "  transfer <shop> <conversation> --to AGENT --reason TEXT\n"
    "                                      move a conversation to another agent (recorded)\n"
    "  queue <shop> [--json]               conversations waiting for an agent, in queue order\n"
    "  phrases add|list|remove|import|export <shop> ...\n"
    "                                      quick replies (快捷短语) suggested to agents by intent\n"
    "Metrics (asked of kefu-metrics):\n"
    "  kpi <shop> [--from D] [--to D] [--by agent|group|channel|hour|day|week|month] "
    "[--json|--csv]\n"
    "                                      the shop's numbers: 接线率, response times, CSAT, ...\n"
    "  now <shop> [--json|--csv]           who is online, their load, who waits right now\n"
    "  scorecard <shop> [--month YYYY-MM] [--agent ID] [--json|--csv]\n"
    "                                      each agent's scorecard of a month, the shop's weights\n"
    "  attendance <shop> [--date D | --month YYYY-MM] [--agent ID] [--json|--csv]\n"
    "                                      shifts worked: present, late, early leave, absent\n"
    "  score set <shop> <agent> --month YYYY-MM [--service-check N] [--key-promotion N]\n"
    "                                      enter the items kefu has no data for (percent)\n"
    "  metrics settings <shop> [--weight-sales N ...] [--conversion-coefficient X]\n"
    "                                      the shop's scorecard weights and coefficients\n"
    "After-sales (complaints, 中差评, the ledger; kefu-escalation follows them up):\n"
    "  complaint add|list|show|judge|investigate|propose|approve|done|revisit|close <shop> ...\n"
    "  review add|list <shop> ...          bad reviews and their contact ladder\n"
    "  review outcome <shop> <id> --outcome changed|promised|refused|after_compensation\n"
    "  ledger <shop> --month YYYY-MM [--json|--csv]\n"
    "                                      compensation by category, responsible party, agent\n"
    "  escalation settings <shop> [--approval-limit M] [--sms-delay D] [--phone-after D] ...\n"
    "                                      deadlines, approval limit, SMS delay, calling windows\n"
    "Orders (kefu-ordersync):\n"
    "  orders import <shop> <file> [--encoding gbk|utf-8] [--map field=COLUMN,...]\n"
    "  orders list|tasks|settings <shop> ...\n"
    "                                      the shop's orders, their tasks, its order settings\n"
    "                                      push a platform's order export (CSV) through intake\n"
    "Every command takes --help.\n"
    "Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration,\n"
    "            3 already exists, 4 not found.";

static const kf_config_spec_t s_spec = {
    "kefuctl",
    "kefuctl is the operator's tool for kefu, the customer-service backbone: it migrates the\n"
    "database, registers shops and the keys of gateways and supervisors, shows what the\n"
    "running services are doing, and lets a shop's supervisor set up routing: shifts,\n"
    "groups, agents, auto-replies, transfers and the queue; and shows a shop's numbers\n"
    "(kefuctl kpi, kefuctl now) as kefu-metrics answers them.",
    NULL, s_entries, kf_common_config_entries};

int
main (int argc, char **argv)
{
    kf_log_init ("kefuctl");
    kf_log_set_level (KF_LOG_WARN);
    zsys_handler_set (NULL);
    //  Find the subcommand first: everything after it belongs to it.
    int cmd_at = 0;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' && !strchr (argv[i], '=')) {
            cmd_at = i;
            break;
        }
    int global_argc = cmd_at ? cmd_at : argc;
    static kefuctl_config_t config;
    static kf_common_config_t common;
    kf_config_spec_t spec = s_spec;
    spec.usage = s_usage;
    kf_config_result_t loaded = kf_config_load (&spec, &config, &common, &global_argc, argv);
    if (common.log_level && strcmp (common.log_level, "info") == 0)
        kf_log_set_level (KF_LOG_WARN); //  a CLI is quiet unless asked (KEFU_LOG_LEVEL=debug)
    int rc;
    kf_clock_t *clock = NULL;
    if (loaded != KF_CONFIG_OK)
        rc = loaded == KF_CONFIG_EXIT_OK ? 0 : 2;
    else if (global_argc > 1) {
        fprintf (stderr, "kefuctl: unexpected argument \"%s\" (see --help)\n", argv[1]);
        rc = 2;
    } else if (!cmd_at) {
        kf_config_print_help (&spec, stderr);
        rc = 2;
    } else if (!(clock = kf_clock_new_from_spec (common.clock))) {
        fprintf (stderr, "kefuctl: bad KEFU_CLOCK \"%s\": use real or manual:<time>\n",
                 common.clock);
        rc = 2;
    } else {
        kefuctl_t ctl = {&config, &common, kf_clock_now_ms (clock)};
        const char *cmd = argv[cmd_at];
        int sub_argc = argc - cmd_at;
        char **sub_argv = argv + cmd_at;
        if (strcmp (cmd, "migrate") == 0)
            rc = kefuctl_migrate (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "shop") == 0)
            rc = kefuctl_shop (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "principal") == 0)
            rc = kefuctl_principal (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "status") == 0)
            rc = kefuctl_status (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "events") == 0)
            rc = kefuctl_events (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "shift") == 0)
            rc = kefuctl_shift (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "group") == 0)
            rc = kefuctl_group (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "phrases") == 0)
            rc = kefuctl_phrases (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "agent") == 0)
            rc = kefuctl_agent (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "handover") == 0)
            rc = kefuctl_handover (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "routing") == 0)
            rc = kefuctl_routing (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "transfer") == 0)
            rc = kefuctl_transfer (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "queue") == 0)
            rc = kefuctl_queue (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "kpi") == 0)
            rc = kefuctl_kpi (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "now") == 0)
            rc = kefuctl_now (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "scorecard") == 0)
            rc = kefuctl_scorecard (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "attendance") == 0)
            rc = kefuctl_attendance (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "score") == 0)
            rc = kefuctl_score (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "metrics") == 0)
            rc = kefuctl_metrics (&ctl, sub_argc, sub_argv);
        else if (strcmp (cmd, "orders") == 0)
            rc = kefuctl_orders (&ctl, sub_argc, sub_argv);
        else if ((rc = kefuctl_aftersales (&ctl, sub_argc, sub_argv)) < 0) {
            fprintf (stderr, "kefuctl: unknown command \"%s\" (see kefuctl --help)\n", cmd);
            rc = 2;
        }
    }
    kf_clock_destroy (&clock);
    kf_config_free (s_entries, &config);
    kf_config_free (kf_common_config_entries, &common);
    return rc;
}
