#!/usr/bin/env bash
# Writes the Spark drivers' properties file from SPARK_AUTH_SECRET, then runs the given command.
#
# The compose cluster's master and worker accept only applications that know the shared secret.
# A standalone driver takes it from its conf alone (not from the environment, as the master,
# worker and executors do), and spark-submit's --conf is seen by every `ps` and logged: so it goes
# in a file only this user can read, RECSYS_SPARK_PROPERTIES_FILE, which every submission names
# (--properties-file).
set -euo pipefail
: "${SPARK_AUTH_SECRET:?SPARK_AUTH_SECRET is not set: the Spark cluster would refuse every job}"
: "${RECSYS_SPARK_PROPERTIES_FILE:?RECSYS_SPARK_PROPERTIES_FILE is not set}"
umask 077
mkdir -p "$(dirname "$RECSYS_SPARK_PROPERTIES_FILE")"
printf 'spark.authenticate true\nspark.authenticate.secret %s\n' "$SPARK_AUTH_SECRET" \
  > "$RECSYS_SPARK_PROPERTIES_FILE.partial"
mv "$RECSYS_SPARK_PROPERTIES_FILE.partial" "$RECSYS_SPARK_PROPERTIES_FILE"
exec "$@"
