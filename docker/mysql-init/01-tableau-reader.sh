#!/bin/bash
# The read-only account Tableau reads the results with, recsys_tableau@'%', with SELECT on the
# pipeline's database alone. MySQL's entrypoint runs this once, as root, when it initialises the
# data volume; to create the account later or change its password, run it again:
#   docker compose exec mysql /docker-entrypoint-initdb.d/01-tableau-reader.sh
# Accounts are made here, at deploy time, because no account the pipeline runs with may create,
# alter or drop accounts. Does nothing without RECSYS_TABLEAU_PASSWORD.
#
# No password is a command-line argument: root's reaches the client in an option file that is a
# pipe (process substitution; printf is a bash builtin, so no process is started with it), and
# Tableau's in the statement on the client's standard input. That statement does hold it: MySQL
# 8.4 takes a caching_sha2_password account's password only as the password itself or as its
# SHA-256-crypt form, which this image has nothing to compute. What remains is that text on the
# local socket (during initialisation the server has networking off); MySQL writes the statement
# to its general, slow-query and binary logs with the password hashed.

# A subshell, so that its exit and set -eu stay here should the entrypoint source this file (it
# does when the file has lost its executable bit).
(
set -eu
if [ -z "${RECSYS_TABLEAU_PASSWORD:-}" ]; then
  echo "RECSYS_TABLEAU_PASSWORD is not set: no Tableau account"
  exit 0
fi
db=${MYSQL_DATABASE:-recsys}
db=${db//_/\\_}  # in a GRANT, _ is a wildcard
pw=${RECSYS_TABLEAU_PASSWORD//\\/\\\\}  # a string literal: \ and ' escaped
pw=${pw//\'/\\\'}
# SOCKET: the entrypoint's, when it sources this file; else the client's default, the server's socket.
printf "CREATE USER IF NOT EXISTS 'recsys_tableau'@'%%' IDENTIFIED BY '%s';
ALTER USER 'recsys_tableau'@'%%' IDENTIFIED BY '%s';
GRANT SELECT ON \`%s\`.* TO 'recsys_tableau'@'%%';
" "$pw" "$pw" "$db" |
  mysql --defaults-extra-file=<(printf '[client]\nuser=root\npassword="%s"\n' "$MYSQL_ROOT_PASSWORD") \
    --protocol=socket -hlocalhost ${SOCKET:+"--socket=$SOCKET"}
echo "recsys_tableau@%: SELECT on ${MYSQL_DATABASE:-recsys}"
)
