#!/bin/sh
# usage: bench/audit_chain.sh DATABASE CLIENTS... (see bench/audit_chain/README.md)
set -e
db=$1; shift
dir=$(dirname "$0")/audit_chain
psql -qh 127.0.0.1 -U postgres "$db" -c "CREATE TABLE IF NOT EXISTS bench_registrations (id serial primary key, store_id int, referrer_id int, referee_id int, note text, at timestamptz default now())"
uptime
for c in "$@"; do
  for f in before own_step skip_locked floor; do
    psql -qh 127.0.0.1 -U postgres "$db" -c "TRUNCATE audit_events, bench_registrations" -c "UPDATE audit_head SET seq = 0, hash = md5('0x') || md5('0y'), keyed_from = NULL, mac = NULL"
    printf '%-12s clients=%-3s ' "$f" "$c"
    pgbench -h 127.0.0.1 -U postgres -n -M prepared -T "${SECONDS_PER_RUN:-20}" -c "$c" -j 2 -f "$dir/$f.sql" "$db" 2>&1 | grep -E '^tps' | sed 's/ (without initial connection time)//'
  done
done
uptime
