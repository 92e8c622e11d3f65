# The Airflow image for docker-compose.yaml: Airflow 3 with the pinned providers, PySpark and
# a Java runtime for Spark's local mode (a cluster needs only its connection changed).
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless pkg-config libmariadb-dev \
      build-essential libopenblas0-pthread liblapack3 \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
USER airflow
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
