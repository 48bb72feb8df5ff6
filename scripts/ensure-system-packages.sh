#!/usr/bin/env bash
# The suite drives real tools from Debian, never downloaded builds: Chromium for the browser tests and
# SpamAssassin for the email score checks (spamd and spamc: the tests start one spamd of their own, so the
# rules load once per test process instead of once per email). Install whichever is missing.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v spamassassin >/dev/null || missing+=(spamassassin)
[ -x /usr/sbin/spamd ] || missing+=(spamd)
command -v spamc >/dev/null || missing+=(spamc)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-system-packages: ${missing[*]} missing and apt-get is not available; install them" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  SUDO="sudo"
fi
echo "ensure-system-packages: installing Debian packages for the tests: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
/usr/bin/chromium --version
spamassassin --version | head -1
spamc -V | head -1
