#!/usr/bin/env bash
# Makes sure a MySQL-compatible server is reachable for the pipeline and for the tests.
#
#   mysql_server.sh ensure   use the servers named by AIRFLOW_CONN_RECSYS_MYSQL (pipeline) and
#                            RECSYS_TEST_MYSQL_CONN (tests) when they are set and reachable;
#                            otherwise start a private MariaDB under .local/mysql on its own port,
#                            with a database and a dedicated user for each, and leave it running.
#   mysql_server.sh stop     stop the private server.
#   mysql_server.sh status   say which servers are in use.
#
# The private server's accounts, each with rights on its own databases alone: recsys (the pipeline)
# and recsys_test (the tests: recsys_test and one more per parallel test worker, recsys_test_gw1...)
# with all rights, recsys_tableau (Tableau, on recsys) and recsys_test_reader (the tests' reader, on
# the tests' databases) with SELECT. Accounts are made here, by the server's administrator, and never at
# run time: no account the pipeline or the tests use may create, alter or drop accounts.
# Passwords are generated once and kept in .local/mysql/connections.env (mode 600), which
# scripts/env.sh exports as connections. No password is ever a command-line argument (printf and
# echo are builtins; connections are passed to programs by the name of their variable) or in the
# SQL sent to the server, which gets each password's hash.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCAL=${RECSYS_LOCAL:-$PWD/.local}
DIR=$LOCAL/mysql
DATA=$DIR/data
SOCK=$DIR/mysqld.sock
PORT_FILE=$DIR/port
CONN_FILE=$DIR/connections.env
PY=$LOCAL/venv/bin/python
ME=$(id -un)

ping_conn() {  # $1: the name of a variable holding an Airflow connection; exit 0 when a query answers
  "$PY" scripts/mysql_ping.py "$1" >/dev/null 2>&1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The private server takes the first free port from RECSYS_MYSQL_PORT (default 3407), so
# another server on the machine never gets in the way; connections.env records the choice.
choose_port() {
  # A restart keeps the port it had, so connections made before it still work after it.
  PORT=$(cat "$PORT_FILE" 2>/dev/null || echo "${RECSYS_MYSQL_PORT:-3407}")
  while port_busy "$PORT"; do PORT=$((PORT + 1)); done
  echo "$PORT" > "$PORT_FILE"
}

server_up() { mariadb-admin --no-defaults --socket="$SOCK" -u "$ME" ping >/dev/null 2>&1; }

start_private() {
  mkdir -p "$DIR"
  if [ ! -d "$DATA/mysql" ]; then
    echo "mysql: initialising a private MariaDB in $DATA"
    mariadb-install-db --no-defaults --datadir="$DATA" --user="$ME" \
      --auth-root-authentication-method=socket --skip-test-db >"$DIR/install.log" 2>&1 || {
        tail -20 "$DIR/install.log" >&2; exit 1; }
  fi
  if ! server_up; then
    # The InnoDB buffer pool is RECSYS_MYSQL_BUFFER_POOL (default 2G): publishing reads a staged
    # generation of lists (about 0.7 GB at the seed's scale) several times, from disk when it does
    # not fit (docs/benchmarks.md, "Publishing at the seed's scale").
    choose_port
    echo "mysql: starting the private MariaDB on 127.0.0.1:$PORT"
    setsid nohup mariadbd --no-defaults --datadir="$DATA" --socket="$SOCK" --port="$PORT" \
      --bind-address=127.0.0.1 --pid-file="$DIR/mysqld.pid" --log-error="$DIR/error.log" \
      --user="$ME" --local-infile=1 --skip-name-resolve \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      --innodb-buffer-pool-size="${RECSYS_MYSQL_BUFFER_POOL:-2G}" --innodb-log-file-size=256M --max-allowed-packet=64M \
      --innodb-flush-log-at-trx-commit=2 >/dev/null 2>&1 < /dev/null &
    for _ in $(seq 1 60); do server_up && break; sleep 0.5; done
    server_up || { echo "mysql: the private server did not start; see $DIR/error.log" >&2;
                   tail -20 "$DIR/error.log" >&2; exit 1; }
  fi
}

admin_sql() { mariadb --no-defaults --socket="$SOCK" -u "$ME"; }

# mysql_native_password's stored form of the password on stdin (recsys-create-reader's): what the
# statements carry, so neither the SQL text nor the server's logs hold a password.
native_hash() { "$PY" -m recsys_tools.create_reader_account --hash; }

# $1 user, $2 password, $3 rights, $4 database, $5 '%' for every database whose name starts so
# (the tests' workers each have one: recsys_test, recsys_test_gw1, ...): the statements that give
# the account these rights on those databases alone (and set its password, which may have been rotated).
account_sql() {
  local hash grant_db=${4//_/\\_}${5:-}
  hash=$(printf '%s' "$2" | native_hash)
  printf "CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY PASSWORD '%s';\n" "$1" "$hash"
  printf "ALTER USER '%s'@'127.0.0.1' IDENTIFIED BY PASSWORD '%s';\n" "$1" "$hash"
  printf "GRANT %s ON \`%s\`.* TO '%s'@'127.0.0.1';\n" "$3" "$grant_db" "$1"
}

# $1..$4 the passwords of recsys, recsys_test, recsys_tableau, recsys_test_reader.
provision() {
  {
    for db in recsys recsys_test; do
      echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    done
    account_sql recsys "$1" "ALL PRIVILEGES" recsys
    account_sql recsys_test "$2" "ALL PRIVILEGES" recsys_test %
    # Earlier set-ups' accounts: the account manager, whose global CREATE USER let it alter or
    # drop any account, and the readers it made at run time.
    echo "DROP USER IF EXISTS 'recsys_admin'@'127.0.0.1', 'recsys_tableau'@'%', 'recsys_tableau_test'@'%';"
  } | admin_sql
  # The readers, made where every reader account is (recsys-create-reader), as the server's
  # administrator by its socket; each password in a variable of the tool's environment.
  local dba
  dba=$(printf '{"conn_type": "mysql", "host": "localhost", "login": "%s", "extra": {"unix_socket": "%s"}}' "$ME" "$SOCK")
  RECSYS_DBA_MYSQL_CONN=$dba RECSYS_TABLEAU_PASSWORD=$3 "$PY" -m recsys_tools.create_reader_account \
    --database recsys --user recsys_tableau --host 127.0.0.1 >/dev/null
  RECSYS_DBA_MYSQL_CONN=$dba RECSYS_TEST_READER_PASSWORD=$4 "$PY" -m recsys_tools.create_reader_account \
    --database recsys_test --databases-like --user recsys_test_reader --host 127.0.0.1 \
    --password-variable RECSYS_TEST_READER_PASSWORD >/dev/null
  # Earlier set-ups gave the tests' accounts recsys_test alone, which the pattern above covers now.
  for user in recsys_test recsys_test_reader; do
    echo "REVOKE ALL PRIVILEGES ON \`recsys\\_test\`.* FROM '$user'@'127.0.0.1';" | admin_sql 2>/dev/null || true
  done
}

conn_json() {  # $1 login, $2 password, $3 database (default: the login)
  printf '{"conn_type": "mysql", "host": "127.0.0.1", "port": %s, "login": "%s", "password": "%s", "schema": "%s", "extra": {"charset": "utf8mb4"}}' \
    "$PORT" "$1" "$2" "${3:-$1}"
}

password_for() {  # reuse the stored password so reruns keep working connections
  local key=$1 pw
  pw=$(grep -s "^#$key=" "$CONN_FILE" | cut -d= -f2- || true)
  [ -n "$pw" ] || pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
  echo "$pw"
}

ensure() {
  local want_pipeline=1 want_test=1
  if [ "${RECSYS_PRIVATE_MYSQL:-}" = 1 ]; then
    # Our own connections.env is loaded: keep the private server up and its accounts current.
    :
  elif [ -n "${AIRFLOW_CONN_RECSYS_MYSQL:-}" ]; then
    if ping_conn AIRFLOW_CONN_RECSYS_MYSQL; then
      echo "mysql: pipeline uses the server named by AIRFLOW_CONN_RECSYS_MYSQL"; want_pipeline=0
    else
      echo "mysql: AIRFLOW_CONN_RECSYS_MYSQL is set but not reachable; using a private server" >&2
    fi
  fi
  if [ "${RECSYS_PRIVATE_MYSQL:-}" != 1 ] && [ -n "${RECSYS_TEST_MYSQL_CONN:-}" ] && ping_conn RECSYS_TEST_MYSQL_CONN; then
    echo "mysql: tests use the server named by RECSYS_TEST_MYSQL_CONN"; want_test=0
  fi
  [ $want_pipeline = 1 ] || [ $want_test = 1 ] || return 0
  command -v mariadbd >/dev/null || {
    echo "mysql: no MySQL server is reachable and mariadbd is not installed;" \
         "run scripts/bootstrap.sh (as root) or: sudo apt-get install -y mariadb-server" >&2; exit 1; }
  start_private
  PORT=$(cat "$PORT_FILE")
  local pw_pipeline pw_test pw_tableau pw_reader
  pw_pipeline=$(password_for recsys); pw_test=$(password_for recsys_test)
  pw_tableau=$(password_for recsys_tableau); pw_reader=$(password_for recsys_test_reader)
  provision "$pw_pipeline" "$pw_test" "$pw_tableau" "$pw_reader"
  umask 077
  {
    echo "# Written by scripts/mysql_server.sh for the private server. Do not commit."
    echo "RECSYS_PRIVATE_MYSQL=1"
    echo "#recsys=$pw_pipeline"
    echo "#recsys_test=$pw_test"
    echo "#recsys_tableau=$pw_tableau"
    echo "#recsys_test_reader=$pw_reader"
    echo "AIRFLOW_CONN_RECSYS_MYSQL='$(conn_json recsys "$pw_pipeline")'"
    echo "RECSYS_TEST_MYSQL_CONN='$(conn_json recsys_test "$pw_test")'"
    echo "RECSYS_TEST_READER_CONN='$(conn_json recsys_test_reader "$pw_reader" recsys_test)'"
  } > "$CONN_FILE.tmp"
  mv "$CONN_FILE.tmp" "$CONN_FILE"
  echo "mysql: private server ready on 127.0.0.1:$PORT (databases recsys, recsys_test)"
}

case "${1:-ensure}" in
  ensure) ensure ;;
  stop)  # returns once the server has shut down
    if server_up; then
      pid=$(cat "$DIR/mysqld.pid"); kill "$pid"
      for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      echo "mysql: stopped"
    fi ;;
  status)
    server_up && echo "mysql: private server up on 127.0.0.1:$(cat "$PORT_FILE")" || echo "mysql: private server down" ;;
  *) echo "usage: $0 ensure|stop|status" >&2; exit 2 ;;
esac
