#!/usr/bin/env bash
# Installs the system packages the local stack (infra/) needs, only those that are missing:
#   java 17 (runs Kafka and the schema registry), maven (fetches their jars from Maven Central),
#   redis-server, postgresql (server binaries + psql).
# Idempotent: a machine that has everything is left alone and `apt-get update` is not run.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-system-deps: not root and no sudo; install the packages below by hand" >&2
  fi
fi

missing=()
have_java17() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  [ "${v%%.*}" -ge 17 ] 2>/dev/null
}
have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null && command -v psql >/dev/null 2>&1
}

have_java17 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
{ command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; } || missing+=(redis-server)
have_postgres || missing+=(postgresql)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-deps: java, maven, redis-server and postgresql already present; nothing to do"
  exit 0
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

echo "install-system-deps: installed ${missing[*]}"
