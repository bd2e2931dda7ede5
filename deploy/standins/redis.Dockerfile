# TEST STAND-IN for the registry image redis:7 (see README.md beside this file): Debian's redis-server.
FROM debian:bookworm
LABEL org.web-detector.standin="redis:7"
RUN set -eux; apt-get update; apt-get install -y --no-install-recommends redis-server; \
    apt-get clean; rm -rf /var/lib/apt/lists/*; redis-server --version
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
