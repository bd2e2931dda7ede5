# TEST STAND-IN for the registry image postgres:15 (see README.md beside this file): Debian's
# postgresql-15 with the official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB and PGDATA.
FROM debian:bookworm
LABEL org.web-detector.standin="postgres:15"
RUN set -eux; mkdir -p /etc/postgresql-common; \
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf; \
    apt-get update; apt-get install -y --no-install-recommends postgresql-15; \
    apt-get clean; rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
