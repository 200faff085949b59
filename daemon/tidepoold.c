/*
 * tidepoold: the real-time audio processing daemon.
 *
 *   tidepoold [-c FILE] [-f|--foreground] [-v]
 *   tidepoold --check [-c FILE]
 *   tidepoold --list-devices
 *   tidepoold --list-stages
 *
 * It stays in the foreground and logs to stderr, as systemd (Type=notify)
 * and journald expect; -f is accepted for the same meaning.  Exit status:
 * 0 after SIGTERM/SIGINT, 1 when it could not start (or --check found an
 * error), 2 for usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "daemon/cfgcheck.h"
#include "daemon/chainbuild.h"
#include "daemon/control.h"
#include "daemon/paudio.h"
#include "daemon/version.h"

#ifndef TIDEPOOL_CONFIG
#define TIDEPOOL_CONFIG "/etc/tidepool/tidepool.conf"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tidepoold [-c FILE] [-f|--foreground] [-v]\n"
	    "       tidepoold --check [-c FILE]\n"
	    "       tidepoold --list-devices | --list-stages | --help | --version\n"
	    "  -c FILE         config (default %s)\n"
	    "  -f, --foreground  stay in the foreground (always the case; "
	    "for systemd and journald)\n"
	    "  -v              log each client and reconnect attempt\n"
	    "  --check         load FILE and build its chain, print it, exit "
	    "(1 on an error)\n"
	    "  --list-devices  print the audio devices PortAudio sees\n"
	    "  --list-stages   print the stage types and their parameters\n"
	    "Signals: SIGTERM/SIGINT stop (recordings are finished), "
	    "SIGHUP reloads the config.\n", TIDEPOOL_CONFIG);
}

/*
 * --check: what the daemon would load and run, or the error.  Nothing is
 * opened but the file: no device, no socket, so it is safe beside a
 * running daemon (systemctl reload runs it first).
 */
static int
check(const char *path)
{
	const struct config_engine *en;
	struct config *cfg;
	char err[1024], input[512];

	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "tidepoold: %s\n", err);
		return 1;
	}
	en = &cfg->engine;
	if (en->input == CONFIG_INPUT_TONE)
		snprintf(input, sizeof(input), "tone:%g", en->tone_freq);
	else if (en->input == CONFIG_INPUT_FILE)
		snprintf(input, sizeof(input), "file:%s", en->input_path);
	else
		snprintf(input, sizeof(input), "%s",
		    en->input == CONFIG_INPUT_DEVICE ? "device" : "none");
	printf("%s: engine %u Hz, period %u frames, %u channels, device %s, "
	    "input %s\n", path, en->rate, en->period, en->channels,
	    en->device, input);
	if (cfgcheck_chain(cfg, en->rate, en->channels, en->period, stdout,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "tidepoold: %s\n", err);
		config_free(cfg);
		return 1;
	}
	printf("%s: ok\n", path);
	config_free(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check", no_argument, NULL, 'C' },
		{ "list-devices", no_argument, NULL, 'L' },
		{ "list-stages", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct control_opts o;
	int ch, checking = 0;

	memset(&o, 0, sizeof(o));
	o.config_path = TIDEPOOL_CONFIG;
	o.argv = argv;
	while ((ch = getopt_long(argc, argv, "c:fvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config_path = optarg;
			break;
		case 'f':
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'C':
			checking = 1;
			break;
		case 'L':
			return paudio_list(stdout) == 0 ? 0 : 1;
		case 'S':
			chainbuild_describe(stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tidepoold (tidepool) %s\n", TIDEPOOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (checking)
		return check(o.config_path);
	/* Line-buffered logs reach the journal whole and in time. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	return control_run(&o);
}
