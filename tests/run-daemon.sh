#!/bin/sh
echo "tidepool: make run: the daemon (tidepoold) is not built yet; see issue 4." >&2
exit 1
