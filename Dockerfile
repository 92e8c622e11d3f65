# The image of docker-compose.yaml: Airflow 3 with the pinned providers, PySpark and a Java runtime.
# It runs the Airflow services and, with pyspark's own launcher (spark-class), the Spark standalone
# master and worker, so executors have exactly the driver's Python packages.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless pkg-config libmariadb-dev \
      build-essential libopenblas0-pthread liblapack3 \
 && ln -s "java-17-openjdk-$(dpkg --print-architecture)" /usr/lib/jvm/java-17 \
 && rm -rf /var/lib/apt/lists/*
# The same path on amd64 and arm64 hosts.
ENV JAVA_HOME=/usr/lib/jvm/java-17
USER airflow
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
# The project's own packages (recsys, recsys_pipeline, recsys_tools), editable: docker-compose.yaml
# mounts the checkout's folders over these paths, so the containers import the checkout's code.
COPY --chown=airflow:root pyproject.toml /opt/airflow/project/
COPY --chown=airflow:root spark_jobs /opt/airflow/project/spark_jobs
COPY --chown=airflow:root plugins /opt/airflow/project/plugins
COPY --chown=airflow:root tools /opt/airflow/project/tools
RUN pip install --no-cache-dir --no-deps -e /opt/airflow/project
