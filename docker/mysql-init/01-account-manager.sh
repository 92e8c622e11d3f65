#!/bin/bash
# Runs once, when the MySQL container initialises its data directory: the narrow account that
# lets the pipeline's apply_schema task create the read-only Tableau account (it may create users
# and pass on SELECT on the recsys database, nothing else). Skipped without RECSYS_ADMIN_PASSWORD.
set -eu
[ -n "${RECSYS_ADMIN_PASSWORD:-}" ] || exit 0
mysql -uroot -p"$MYSQL_ROOT_PASSWORD" <<SQL
CREATE USER IF NOT EXISTS 'recsys_admin'@'%' IDENTIFIED BY '${RECSYS_ADMIN_PASSWORD}';
GRANT CREATE USER ON *.* TO 'recsys_admin'@'%';
GRANT SELECT ON \`recsys\`.* TO 'recsys_admin'@'%' WITH GRANT OPTION;
SQL
