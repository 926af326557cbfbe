#!/usr/bin/env bash
# Installs the Debian packages the tests need when a machine lacks them:
# Chromium for Playwright (its own browser downloads cannot run here) and the
# PostgreSQL / MariaDB clients the backup engine drives.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v mysql >/dev/null 2>&1 || missing+=(mariadb-client)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing ${missing[*]} with apt-get"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
