/* replay/ctl_main.c — tsrelayctl's command line: the options and words that pick a
 * command from the table, the admin address and token, the usage text, and main,
 * which prints the failure a command leaves in c->msg. What the files share, and the
 * exit codes, are in ctl.h. */
#include "ctl.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay/core/version.h"

#define DEFAULT_ADMIN "127.0.0.1:8093"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: tsrelayctl [-a [https://]HOST:PORT] [--token-file FILE] [--json] COMMAND\n"
        "\n"
        "commands:\n"
        "  status                      clusters (state, lag, last error), kafka, running replays\n"
        "  checkpoints [--cluster NAME]\n"
        "                              delivery position, high watermark and lag per partition\n"
        "  ledger --cluster NAME       when the cluster fell out of sync, each with the\n"
        "                              replay command that resends that interval\n"
        "  replay start --cluster NAME --since TIME [--until TIME] [--rate N] [--db DB]\n"
        "               [--measurement PREFIX] [--points-since TIME] [--points-until TIME]\n"
        "               [--dry-run] [--wait]\n"
        "                              resend what Kafka holds for [since, until) to one cluster\n"
        "  replay list                 every job, finished ones too\n"
        "  replay show ID [--follow]   one job; --follow shows progress until it finishes\n"
        "  replay pause ID | resume ID | cancel ID\n"
        "  reload                      have the relay re-read its config file (as SIGHUP):\n"
        "                              applied only if it validates; exit 1 with the reason\n"
        "                              otherwise, the running config kept\n"
        "  dlq list -c FILE [--since TIME] [--until TIME] [--reason TEXT] [--cluster NAME]\n"
        "           [--db DB] [--limit N]\n"
        "                              the dead-letter topic's records, partition by partition\n"
        "                              in order, read from Kafka with the relay's config FILE\n"
        "                              (no relay needed)\n"
        "  dlq show -c FILE PARTITION:OFFSET\n"
        "                              one record: every header and the whole value\n"
        "  dlq resend -c FILE (--to-topic | --to-cluster NAME) [dlq list's filters] [--dry-run]\n"
        "                              normalise the records' lines again (a line without a\n"
        "                              timestamp gets the time it was dead-lettered) and\n"
        "                              produce them into the relay's topic, or write them to\n"
        "                              one cluster through its rules, once the cause is fixed\n"
        "  verify -c FILE --cluster NAME --since TIME [--until TIME] [--window 5m] [--db DB]\n"
        "         [--repair]\n"
        "                              per window of the points' own time, the field values\n"
        "                              Kafka holds for the cluster against what it holds;\n"
        "                              exit 1 when a window differs. --repair replays each run\n"
        "                              of windows that misses values (through -a), then\n"
        "                              verifies again\n"
        "\n"
        "options:\n"
        "  -a, --admin HOST:PORT  the relay's admin listener (default: $TSRELAY_ADMIN,\n"
        "                         else " DEFAULT_ADMIN "); https://HOST:PORT for one with TLS\n"
        "  --ca-file FILE         https: trust the CA certificates in FILE (default:\n"
        "                         $TSRELAY_CA_FILE, else the system's)\n"
        "  --cert-file FILE, --key-file FILE\n"
        "                         https: a client certificate and its key, for a relay\n"
        "                         that asks for one (tls.client_ca_file)\n"
        "  --token-file FILE      send the admin token in FILE (Authorization: Bearer);\n"
        "                         default: $TSRELAY_TOKEN, else no token\n"
        "  --json                 print the server's JSON instead of tables\n"
        "  --since TIME           resend what entered Kafka from TIME (inclusive); also\n"
        "                         'earliest' (the default with --points-since/--points-until)\n"
        "  --until TIME           up to TIME (exclusive); default: the job's creation\n"
        "  --points-since TIME    only points whose own timestamp is at or after TIME\n"
        "  --points-until TIME    only points whose own timestamp is before TIME\n"
        "  --rate N               at most N points/s (the relay's default otherwise)\n"
        "  --db DB                only points of database DB\n"
        "  --measurement PREFIX   only measurements whose name starts with PREFIX\n"
        "  --dry-run              count what would be sent, per measurement; send nothing\n"
        "  --wait                 show progress until the job finishes\n"
        "  -c, --config FILE      dlq: the relay's config file (kafka.* and the topics)\n"
        "  --reason TEXT          dlq list: only records whose reason contains TEXT\n"
        "  --cluster NAME         dlq list: only what cluster NAME refused at delivery\n"
        "  --limit N              dlq list: at most N records (default 100)\n"
        "  --window DURATION      verify: the windows' width (30s, 5m, 1h; default 5m)\n"
        "  --repair               verify: replay the windows that miss values, verify again\n"
        "  --to-topic, --to-cluster NAME\n"
        "                         dlq resend: where the points go\n"
        "  -h, --help             this text          --version   print the version\n"
        "\n"
        "TIME: RFC 3339 (2026-11-23T05:00:00Z, 2026-11-23T07:00:00+02:00, fractions allowed),\n"
        "      relative to now (-2h, -30m, -90s, -1d, -1h30m), now, or Unix milliseconds\n"
        "\n"
        "exit codes: 0 success (--wait/--follow/--dry-run: the job is done)\n"
        "            1 the server refused (401: a token is needed or not known; 403: the\n"
        "              token's role may not do that), or the job failed or was cancelled\n"
        "            2 usage error (also an unreadable or empty --token-file)\n"
        "            3 the admin endpoint (dlq: Kafka) cannot be reached\n");
}

int fail(struct ctl *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    return rc;
}

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct command {
    const char *word, *sub; /* "replay" "start", or "status" NULL */
    int takes_id;
    unsigned allowed; /* OPT_* bits; -a, --token-file and --json go with every command */
    int (*run)(struct ctl *c);
} commands[] = {
    {"status", NULL, 0, 0, cmd_status},
    {"reload", NULL, 0, 0, cmd_reload},
    {"checkpoints", NULL, 0, OPT_CLUSTER, cmd_checkpoints},
    {"ledger", NULL, 0, OPT_CLUSTER, cmd_ledger},
    {"replay", "start", 0,
     OPT_CLUSTER | OPT_SINCE | OPT_UNTIL | OPT_RATE | OPT_DB | OPT_MEASUREMENT | OPT_DRY_RUN |
         OPT_WAIT | OPT_POINTS_SINCE | OPT_POINTS_UNTIL,
     cmd_replay_start},
    {"replay", "list", 0, 0, cmd_replay_list},
    {"dlq", "list", 0,
     OPT_CONFIG | OPT_SINCE | OPT_UNTIL | OPT_REASON | OPT_CLUSTER | OPT_DB | OPT_LIMIT,
     cmd_dlq_list},
    {"dlq", "show", 2, OPT_CONFIG, cmd_dlq_show},
    {"dlq", "resend", 0,
     OPT_CONFIG | OPT_SINCE | OPT_UNTIL | OPT_REASON | OPT_CLUSTER | OPT_DB | OPT_TO_TOPIC |
         OPT_TO_CLUSTER | OPT_DRY_RUN,
     cmd_dlq_resend},
    {"verify", NULL, 0,
     OPT_CONFIG | OPT_CLUSTER | OPT_SINCE | OPT_UNTIL | OPT_DB | OPT_WINDOW | OPT_REPAIR, cmd_verify},
    {"replay", "show", 1, OPT_FOLLOW, cmd_replay_show},
    {"replay", "pause", 1, 0, cmd_replay_pause},
    {"replay", "resume", 1, 0, cmd_replay_resume},
    {"replay", "cancel", 1, 0, cmd_replay_cancel},
};

static const struct {
    unsigned bit;
    const char *name;
} opt_names[] = {
    {OPT_CLUSTER, "--cluster"}, {OPT_SINCE, "--since"}, {OPT_UNTIL, "--until"},
    {OPT_RATE, "--rate"},       {OPT_DB, "--db"},       {OPT_MEASUREMENT, "--measurement"},
    {OPT_DRY_RUN, "--dry-run"}, {OPT_WAIT, "--wait"},   {OPT_FOLLOW, "--follow"},
    {OPT_POINTS_SINCE, "--points-since"}, {OPT_POINTS_UNTIL, "--points-until"},
    {OPT_CONFIG, "--config"}, {OPT_REASON, "--reason"}, {OPT_LIMIT, "--limit"},
    {OPT_WINDOW, "--window"}, {OPT_REPAIR, "--repair"}, {OPT_TO_TOPIC, "--to-topic"},
    {OPT_TO_CLUSTER, "--to-cluster"},
};

/* HOST:PORT (an IPv6 host in brackets), optionally written as http://HOST:PORT/ or
 * https://HOST:PORT/. */
static int set_admin(struct ctl *c, const char *addr, const char *from)
{
    const char *a = addr, *scheme = "http";
    if (strncmp(a, "http://", 7) == 0) a += 7;
    else if (strncmp(a, "https://", 8) == 0) a += 8, scheme = "https";
    size_t n = strlen(a);
    if (n && a[n - 1] == '/') n--;
    const char *colon = NULL;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (rb && rb + 1 < a + n && rb[1] == ':') colon = rb + 1;
    } else {
        colon = memchr(a, ':', n);
        if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - a))) colon = NULL;
    }
    size_t plen = colon ? n - (size_t)(colon + 1 - a) : 0;
    int port_ok = colon && colon > a && plen >= 1 && plen <= 5 &&
                  strspn(colon + 1, "0123456789") >= plen && atoi(colon + 1) >= 1 &&
                  atoi(colon + 1) <= 65535;
    if (!port_ok || n >= sizeof(c->admin))
        return fail(c, EXIT_USAGE,
                    "invalid admin address '%s'%s: expected HOST:PORT (like " DEFAULT_ADMIN ")",
                    addr, from);
    snprintf(c->admin, sizeof(c->admin), "%.*s", (int)n, a);
    snprintf(c->base_url, sizeof(c->base_url), "%s://%s", scheme, c->admin);
    return 0;
}

/* --ca-file (else TSRELAY_CA_FILE), --cert-file and --key-file: readable files, and a
 * certificate only with its key. */
static int set_tls(struct ctl *c)
{
    const char *env = getenv("TSRELAY_CA_FILE");
    if (!c->ca_file && env && *env) c->ca_file = env;
    if (!c->cert_file != !c->key_file)
        return fail(c, EXIT_USAGE, "--cert-file and --key-file go together");
    const char *files[] = {c->ca_file, c->cert_file, c->key_file};
    for (size_t i = 0; i < 3; i++)
        if (files[i] && access(files[i], R_OK) != 0)
            return fail(c, EXIT_USAGE, "cannot read '%s': %s", files[i], strerror(errno));
    return 0;
}

/* The admin token from --token-file FILE (file non-NULL), else TSRELAY_TOKEN, into
 * c->token; none when neither is given. The file is read with read(2) straight into
 * c->token, so no stdio buffer keeps a copy. Trailing whitespace goes (the newline of
 * echo or an editor; HTTP trims it from a header value anyway). A control character
 * inside would end the header line early, so it is refused. No message shows the
 * token. */
static int set_token(struct ctl *c, const char *file)
{
    const char *env = getenv("TSRELAY_TOKEN");
    const size_t max = sizeof(c->token) - 1;
    size_t len = 0;
    char from[300];
    c->token_file = file;
    if (file) {
        snprintf(from, sizeof(from), "token file '%s'", file);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail(c, EXIT_USAGE, "cannot read %s: %s", from, strerror(errno));
        ssize_t r;
        /* Up to one byte more than fits, to tell a full buffer from a longer file. */
        do {
            r = read(fd, c->token + len, max + 1 - len);
            if (r > 0) len += (size_t)r;
        } while ((r > 0 || (r < 0 && errno == EINTR)) && len <= max);
        int err = r < 0 ? errno : 0;
        close(fd);
        if (err) {
            explicit_bzero(c->token, sizeof(c->token));
            return fail(c, EXIT_USAGE, "cannot read %s: %s", from, strerror(err));
        }
    } else if (env && *env) {
        snprintf(from, sizeof(from), "TSRELAY_TOKEN");
        len = strnlen(env, max + 1);
        if (len <= max) memcpy(c->token, env, len);
    } else {
        return 0;
    }
    int rc = 0;
    if (len > max) {
        rc = fail(c, EXIT_USAGE, "%s is longer than %zu bytes: not an admin token", from, max);
    } else {
        while (len && (c->token[len - 1] == '\n' || c->token[len - 1] == '\r' ||
                       c->token[len - 1] == ' ' || c->token[len - 1] == '\t'))
            len--;
        c->token[len] = '\0';
        for (size_t i = 0; i < len && !rc; i++)
            if ((unsigned char)c->token[i] < 0x20 || c->token[i] == 0x7f)
                rc = fail(c, EXIT_USAGE,
                          "%s holds a control character (a line break, a NUL) inside the token: "
                          "write the token alone on one line",
                          from);
        if (!rc && len == 0) rc = fail(c, EXIT_USAGE, "%s is empty", from);
    }
    if (rc) explicit_bzero(c->token, sizeof(c->token));
    return rc;
}

/* Everything from argv into c; returns the command, or NULL with the message set. */
static const struct command *parse_args(struct ctl *c, int argc, char **argv, int *rc)
{
    enum {
        O_JSON = 256,
        O_CLUSTER,
        O_SINCE,
        O_UNTIL,
        O_RATE,
        O_DB,
        O_MEASUREMENT,
        O_DRY_RUN,
        O_WAIT,
        O_FOLLOW,
        O_POINTS_SINCE,
        O_POINTS_UNTIL,
        O_REASON,
        O_LIMIT,
        O_WINDOW,
        O_REPAIR,
        O_TO_TOPIC,
        O_TO_CLUSTER,
        O_TOKEN_FILE,
        O_CA_FILE,
        O_CERT_FILE,
        O_KEY_FILE,
        O_VERSION
    };
    static const struct option opts[] = {
        {"admin", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, O_JSON},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {"ca-file", required_argument, NULL, O_CA_FILE},
        {"cert-file", required_argument, NULL, O_CERT_FILE},
        {"key-file", required_argument, NULL, O_KEY_FILE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {"cluster", required_argument, NULL, O_CLUSTER},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"rate", required_argument, NULL, O_RATE},
        {"db", required_argument, NULL, O_DB},
        {"measurement", required_argument, NULL, O_MEASUREMENT},
        {"dry-run", no_argument, NULL, O_DRY_RUN},
        {"wait", no_argument, NULL, O_WAIT},
        {"follow", no_argument, NULL, O_FOLLOW},
        {"points-since", required_argument, NULL, O_POINTS_SINCE},
        {"points-until", required_argument, NULL, O_POINTS_UNTIL},
        {"config", required_argument, NULL, 'c'},
        {"reason", required_argument, NULL, O_REASON},
        {"limit", required_argument, NULL, O_LIMIT},
        {"window", required_argument, NULL, O_WINDOW},
        {"repair", no_argument, NULL, O_REPAIR},
        {"to-topic", no_argument, NULL, O_TO_TOPIC},
        {"to-cluster", required_argument, NULL, O_TO_CLUSTER},
        {NULL, 0, NULL, 0},
    };
    const char *words[4] = {NULL}, *admin = NULL, *token_file = NULL;
    int nwords = 0, opt;
    opterr = 0; /* our own messages, in our style */
    /* The leading '-' hands over words in order wherever they are, so options may come
     * before or after the command ("tsrelayctl replay list --json") even under
     * POSIXLY_CORRECT. */
    while ((opt = getopt_long(argc, argv, "-:a:c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 1:
            if (nwords == 4) {
                *rc = fail(c, EXIT_USAGE, "unexpected argument '%s'", optarg);
                return NULL;
            }
            words[nwords++] = optarg;
            break;
        case 'a':
            admin = optarg;
            break;
        case O_JSON:
            c->json = 1;
            break;
        case O_TOKEN_FILE:
            token_file = optarg;
            break;
        case O_CA_FILE:
            c->ca_file = optarg;
            break;
        case O_CERT_FILE:
            c->cert_file = optarg;
            break;
        case O_KEY_FILE:
            c->key_file = optarg;
            break;
        case 'h':
            usage(stdout);
            *rc = EXIT_OK;
            return NULL;
        case O_VERSION:
            printf("tsrelayctl %s\n", TSR_VERSION);
            *rc = EXIT_OK;
            return NULL;
        case O_CLUSTER:
            c->cluster = optarg, c->given |= OPT_CLUSTER;
            break;
        case O_SINCE:
            c->since = optarg, c->given |= OPT_SINCE;
            break;
        case O_UNTIL:
            c->until = optarg, c->given |= OPT_UNTIL;
            break;
        case O_RATE:
            c->rate = optarg, c->given |= OPT_RATE;
            break;
        case O_DB:
            c->db = optarg, c->given |= OPT_DB;
            break;
        case O_MEASUREMENT:
            c->measurement = optarg, c->given |= OPT_MEASUREMENT;
            break;
        case O_DRY_RUN:
            c->given |= OPT_DRY_RUN;
            break;
        case O_WAIT:
            c->given |= OPT_WAIT;
            break;
        case O_FOLLOW:
            c->given |= OPT_FOLLOW;
            break;
        case O_POINTS_SINCE:
            c->points_since = optarg, c->given |= OPT_POINTS_SINCE;
            break;
        case O_POINTS_UNTIL:
            c->points_until = optarg, c->given |= OPT_POINTS_UNTIL;
            break;
        case 'c':
            c->config = optarg, c->given |= OPT_CONFIG;
            break;
        case O_REASON:
            c->reason = optarg, c->given |= OPT_REASON;
            break;
        case O_LIMIT:
            c->limit = optarg, c->given |= OPT_LIMIT;
            break;
        case O_WINDOW:
            c->window = optarg, c->given |= OPT_WINDOW;
            break;
        case O_REPAIR:
            c->given |= OPT_REPAIR;
            break;
        case O_TO_TOPIC:
            c->given |= OPT_TO_TOPIC;
            break;
        case O_TO_CLUSTER:
            c->to_cluster = optarg, c->given |= OPT_TO_CLUSTER;
            break;
        case ':':
            *rc = fail(c, EXIT_USAGE, "option '%s' needs a value", argv[optind - 1]);
            return NULL;
        default:
            /* optopt names an unknown short option; for a long one it is 0. */
            if (optopt)
                *rc = fail(c, EXIT_USAGE, "unknown option '-%c'", optopt);
            else
                *rc = fail(c, EXIT_USAGE, "unknown option '%s'", argv[optind - 1]);
            return NULL;
        }
    }

    if (nwords == 0) {
        *rc = fail(c, EXIT_USAGE, "missing command");
        return NULL;
    }
    const struct command *cmd = NULL;
    int known_word = 0;
    for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
        if (strcmp(commands[k].word, words[0]) != 0) continue;
        known_word = 1;
        if (!commands[k].sub || (nwords > 1 && strcmp(commands[k].sub, words[1]) == 0)) {
            cmd = &commands[k];
            break;
        }
    }
    if (!cmd) {
        if (!known_word)
            *rc = fail(c, EXIT_USAGE, "unknown command '%s'", words[0]);
        else if (nwords == 1)
            *rc = fail(c, EXIT_USAGE, "'%s' needs a subcommand: %s", words[0],
                       strcmp(words[0], "dlq") == 0 ? "list, show or resend"
                                                    : "start, list, show, pause, resume or cancel");
        else
            *rc = fail(c, EXIT_USAGE, "unknown command '%s %s'", words[0], words[1]);
        return NULL;
    }
    int used = cmd->sub ? 2 : 1;
    char name[64];
    snprintf(name, sizeof(name), "%s%s%s", cmd->word, cmd->sub ? " " : "",
             cmd->sub ? cmd->sub : "");
    if (cmd->takes_id == 2) {
        /* dlq show PARTITION:OFFSET, as dlq list prints it */
        char *end;
        long long p, o = -1;
        if (nwords <= used) {
            *rc = fail(c, EXIT_USAGE, "%s needs a record: PARTITION:OFFSET", name);
            return NULL;
        }
        errno = 0;
        p = strtoll(words[used], &end, 10);
        if (!errno && end != words[used] && *end == ':') o = strtoll(end + 1, &end, 10);
        if (errno || *end || p < 0 || p > INT32_MAX || o < 0) {
            *rc = fail(c, EXIT_USAGE, "invalid record '%s': expected PARTITION:OFFSET like 3:1042",
                       words[used]);
            return NULL;
        }
        c->ref_partition = (int32_t)p;
        c->ref_offset = o;
        used++;
    } else if (cmd->takes_id) {
        char *end;
        if (nwords <= used) {
            *rc = fail(c, EXIT_USAGE, "%s needs a replay ID", name);
            return NULL;
        }
        errno = 0;
        long long id = strtoll(words[used], &end, 10);
        if (errno || end == words[used] || *end || id <= 0) {
            *rc = fail(c, EXIT_USAGE, "invalid replay ID '%s': expected a number like 3",
                       words[used]);
            return NULL;
        }
        c->id = id;
        used++;
    }
    if (nwords > used) {
        *rc = fail(c, EXIT_USAGE, "unexpected argument '%s' after '%s'", words[used], name);
        return NULL;
    }
    for (size_t k = 0; k < sizeof(opt_names) / sizeof(opt_names[0]); k++) {
        if ((c->given & opt_names[k].bit) && !(cmd->allowed & opt_names[k].bit)) {
            *rc =
                fail(c, EXIT_USAGE, "option '%s' does not apply to '%s'", opt_names[k].name, name);
            return NULL;
        }
    }
    if (cmd->run == cmd_ledger && !c->cluster) {
        *rc = fail(c, EXIT_USAGE, "ledger needs --cluster NAME");
        return NULL;
    }

    const char *env = getenv("TSRELAY_ADMIN");
    if (admin)
        *rc = set_admin(c, admin, "");
    else if (env && *env)
        *rc = set_admin(c, env, " (from TSRELAY_ADMIN)");
    else
        *rc = set_admin(c, DEFAULT_ADMIN, "");
    if (!*rc) *rc = set_token(c, token_file);
    if (!*rc) *rc = set_tls(c);
    return *rc ? NULL : cmd;
}

int main(int argc, char **argv)
{
    struct ctl c = {0};
    int rc = EXIT_OK;
    const struct command *cmd = parse_args(&c, argc, argv, &rc);
    if (!cmd) {
        if (rc == EXIT_USAGE) fprintf(stderr, "%s\nrun 'tsrelayctl --help' for usage\n", c.msg);
        goto leave;
    }
    c.tty = isatty(STDOUT_FILENO);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c.curl = curl_easy_init())) {
        fprintf(stderr, "cannot initialise libcurl\n");
        rc = EXIT_FAIL;
        goto leave;
    }
    rc = cmd->run(&c);
    fflush(stdout);
    if (rc && c.msg[0]) {
        fprintf(stderr, "%s\n", c.msg);
        if (rc == EXIT_USAGE) fprintf(stderr, "run 'tsrelayctl --help' for usage\n");
    }
    curl_easy_cleanup(c.curl);
    curl_global_cleanup();
leave:
    explicit_bzero(c.token, sizeof(c.token));
    return rc;
}
