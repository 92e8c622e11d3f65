#!/bin/bash
# The read-only account Tableau reads the results with, recsys_tableau@'%', with SELECT on the
# pipeline's database alone. MariaDB's entrypoint runs this once, as root, when it initialises the
# data volume; to create the account later or change its password, run it again:
#   docker compose exec mysql /docker-entrypoint-initdb.d/01-tableau-reader.sh
# Accounts are made here, at deploy time, because no account the pipeline runs with may create,
# alter or drop accounts. Does nothing without RECSYS_TABLEAU_PASSWORD.
#
# No password is a command-line argument or in the SQL sent: root's reaches the client in an
# option file that is a pipe (process substitution; printf is a bash builtin, so no process is
# started with it), and the statements carry Tableau's password only as its hash, computed here
# from standard input (the same form scripts/mysql_server.sh uses, tested there).

# A subshell, so that its exit and set -eu stay here should the entrypoint source this file (it
# does when the file has lost its executable bit).
(
set -eu
if [ -z "${RECSYS_TABLEAU_PASSWORD:-}" ]; then
  echo "RECSYS_TABLEAU_PASSWORD is not set: no Tableau account"
  exit 0
fi
# mysql_native_password's stored form of the password on stdin: '*' and HEX(SHA1(SHA1(password))).
native_hash() {
  local first
  first=$(sha1sum | cut -c1-40)
  # shellcheck disable=SC2059  # the format is the digest's bytes as \xHH escapes
  printf "$(printf '%s' "$first" | sed 's/../\\x&/g')" | sha1sum | cut -c1-40 | tr 'a-f' 'A-F' | sed 's/^/*/'
}
hash=$(printf '%s' "$RECSYS_TABLEAU_PASSWORD" | native_hash)
# An option file reads \ and " in a quoted value as escapes: escape them in root's password.
root_pw=${MARIADB_ROOT_PASSWORD//\\/\\\\}
root_pw=${root_pw//\"/\\\"}
db=${MARIADB_DATABASE:-recsys}
db=${db//_/\\_}  # in a GRANT, _ is a wildcard
# SOCKET: the entrypoint's, when it sources this file; else the client's default, the server's socket.
printf "CREATE USER IF NOT EXISTS 'recsys_tableau'@'%%' IDENTIFIED BY PASSWORD '%s';
ALTER USER 'recsys_tableau'@'%%' IDENTIFIED BY PASSWORD '%s';
GRANT SELECT ON \`%s\`.* TO 'recsys_tableau'@'%%';
" "$hash" "$hash" "$db" |
  mariadb --defaults-extra-file=<(printf '[client]\nuser=root\npassword="%s"\n' "$root_pw") \
    --protocol=socket -hlocalhost ${SOCKET:+"--socket=$SOCKET"}
echo "recsys_tableau@%: SELECT on ${MARIADB_DATABASE:-recsys}"
)
