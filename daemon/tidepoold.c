/*
 * tidepoold: the real-time audio processing daemon.
 *
 *   tidepoold [-c FILE] [-f|--foreground] [-v]
 *   tidepoold --list-devices
 *   tidepoold --list-stages
 *
 * It stays in the foreground and logs to stderr, as systemd (Type=notify)
 * and journald expect; -f is accepted for the same meaning.  Exit status:
 * 0 after SIGTERM/SIGINT, 1 when it could not start, 2 for usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "daemon/chainbuild.h"
#include "daemon/control.h"
#include "daemon/paudio.h"

#ifndef TIDEPOOL_CONFIG
#define TIDEPOOL_CONFIG "/etc/tidepool/tidepool.conf"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tidepoold [-c FILE] [-f|--foreground] [-v]\n"
	    "       tidepoold --list-devices\n"
	    "       tidepoold --list-stages\n"
	    "  -c FILE         config (default %s)\n"
	    "  -f, --foreground  stay in the foreground (always the case; "
	    "for systemd and journald)\n"
	    "  -v              log each client and reconnect attempt\n"
	    "  --list-devices  print the audio devices PortAudio sees\n"
	    "  --list-stages   print the stage types and their parameters\n"
	    "Signals: SIGTERM/SIGINT stop (recordings are finished), "
	    "SIGHUP reloads the config.\n", TIDEPOOL_CONFIG);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list-devices", no_argument, NULL, 'L' },
		{ "list-stages", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct control_opts o;
	int ch;

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
		case 'L':
			return paudio_list(stdout) == 0 ? 0 : 1;
		case 'S':
			chainbuild_describe(stdout);
			return 0;
		case 'h':
			usage(stdout);
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
	/* Line-buffered logs reach the journal whole and in time. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	return control_run(&o);
}
