# shellcheck shell=bash
# Sourced by .ci/run: PostgreSQL and Redis on 127.0.0.1 for the ledger, worker and shared-limit tests.
# Installs Debian's packages when the machine lacks them, starts both on free ports in a temporary folder,
# exports the URLs the tests read, and defines stop_services (the caller traps it on EXIT).
# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' user the package made.

services_dir="$(mktemp -d)"
chmod 755 "$services_dir"

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
    echo "installing ${missing[*]} (Debian packages)"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

pg_bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port="$(free_port)"
redis_port="$(free_port)"

as_pg_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_data="$services_dir/pg"
mkdir "$pg_data"
[ "$(id -u)" = 0 ] && chown postgres: "$pg_data"
as_pg_owner "$pg_bin/initdb" --pgdata="$pg_data" --username=postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null
as_pg_owner "$pg_bin/pg_ctl" --pgdata="$pg_data" --wait --log="$pg_data/server.log" \
    --options="-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_data -c fsync=off" \
    start >/dev/null

stop_services() {
    as_pg_owner "$pg_bin/pg_ctl" --pgdata="$pg_data" --mode=fast stop >/dev/null 2>&1 || true
    if [ -f "$services_dir/redis.pid" ]; then kill "$(cat "$services_dir/redis.pid")" 2>/dev/null || true; fi
    rm -rf "$services_dir"
}

# The tests connect as an ordinary role: superusers and BYPASSRLS roles would skip the tenants' row security.
psql "postgresql://postgres@127.0.0.1:$pg_port/postgres" -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE lms_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE" \
    -c "CREATE DATABASE lms_test OWNER lms_app"

redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --daemonize yes \
    --dir "$services_dir" --pidfile "$services_dir/redis.pid" --logfile "$services_dir/redis.log"
for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$redis_port" ping | grep -q PONG

export LMS_CONNECTORS_TEST_POSTGRES_DSN="postgresql://lms_app@127.0.0.1:$pg_port/lms_test"
export LMS_CONNECTORS_TEST_POSTGRES_ADMIN_DSN="postgresql://postgres@127.0.0.1:$pg_port/lms_test"
export LMS_CONNECTORS_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
echo "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
