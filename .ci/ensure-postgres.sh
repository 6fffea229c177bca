#!/usr/bin/env bash
# Make sure the local PostgreSQL (127.0.0.1:5432, the DuckLake catalog of tests/scaleout) is up.
# Never fails: where there is no PostgreSQL, the tests that need it skip and say why.
set -u
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-postgres: pg_isready not found: PostgreSQL tests will skip"
  exit 0
fi
if pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "ensure-postgres: PostgreSQL is up"
  exit 0
fi
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do
    if pg_isready -q -h 127.0.0.1 -p 5432; then
      echo "ensure-postgres: PostgreSQL started"
      exit 0
    fi
    sleep 1
  done
fi
echo "ensure-postgres: PostgreSQL is not running and could not be started: PostgreSQL tests will skip"
exit 0
