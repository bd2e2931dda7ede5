# web-detector: one image for every role (see README.md, "Deployment"):
#   docker run IMAGE                                 serve, standalone (PGlite, in-process queue)
#   docker run IMAGE serve --no-workers              the API of a distributed deployment
#   docker run IMAGE worker --queues detect          a worker (also process,finalize,notify)
# Built with the classic builder or BuildKit: docker build -t web-detector .

# ---- dependencies: npm ci, running only the install scripts package.json's allowScripts allows
FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
# npm 10 (the image's) does not know allowScripts: install with every script off, then run the
# scripts of exactly the packages allowScripts sets to true (the policy npm >= 11 applies itself).
# xargs -r: with none allowed, `npm rebuild` is not run at all (without names it would run all).
RUN npm ci --ignore-scripts \
 && node -e "for (const [name, ok] of Object.entries(require('./package.json').allowScripts ?? {})) if (ok === true) console.log(name)" \
    | xargs -r npm rebuild

# ---- build: TypeScript to dist/, the default model converted to ONNX, the web UI bundled
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY scripts scripts
COPY src src
COPY web web
COPY models/calibration models/calibration
RUN node scripts/postinstall.mjs \
 && npm prune --omit=dev --ignore-scripts \
 # ONNX Runtime ships binaries for every platform: keep this one's
 && for dir in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      case "$dir" in */linux/"$(node -p process.arch)") ;; *) rm -rf "$dir" ;; esac; \
    done \
 # install scripts run as root here; the app runs as `node`: what
 # the owner may run, everyone may run (nothing becomes writable)
 && find node_modules -type f -perm -u+x ! -perm -o+x -exec chmod a+rx {} + \
 # the image converts and checks only the default model: the package's other models stay out
 && find node_modules/@vladmandic/human/models -type f ! -name 'centernet.*' -delete \
 && rm -rf node_modules/.cache

# ---- runtime: only what runs
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_PORT=9464 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/bin bin
COPY --from=build /app/dist dist
COPY --from=build /app/models/cache models/cache
COPY --from=build /app/models/calibration models/calibration
COPY --from=build /app/web/dist web/dist
COPY scripts/healthcheck.mjs scripts/healthcheck.mjs
# /data belongs to the unprivileged user, so a named volume mounted there starts out writable
RUN ln -s /app/bin/web-detector.js /usr/local/bin/web-detector \
 && mkdir -p /data && chown node:node /data \
 && web-detector --help >/dev/null
USER node
VOLUME ["/data"]
EXPOSE 3000 9464
# the API answers /healthz on PORT; a worker on METRICS_PORT (scripts/healthcheck.mjs)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/app/scripts/healthcheck.mjs"]
ENTRYPOINT ["web-detector"]
CMD ["serve"]
