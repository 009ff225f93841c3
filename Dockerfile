# syntax=docker/dockerfile:1.7
#
# One image content for the whole platform, with one target per app so each has the right
# default command and port:
#
#   docker build --target gateway   -t maas-gateway:local   .
#   docker build --target inference -t maas-inference:local .
#   docker build --target trainer   -t maas-trainer:local   .
#   docker build --target migrate   -t maas-migrate:local   .
#
# The GPU trainer is Dockerfile.trainer-gpu (CUDA base, tfjs-node-gpu).

ARG NODE_IMAGE=node:20-bookworm-slim
# The lockfile is written by npm 11; its allowScripts setting is what keeps onnxruntime-node
# and the prisma engines from downloading binaries at install.
ARG NPM_VERSION=11.19.1

# --- base: Node 20 + pinned npm ------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
ARG NPM_VERSION
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
RUN npm install -g "npm@${NPM_VERSION}" && npm --version
WORKDIR /app

# --- manifests: only what `npm ci` reads, so source edits do not bust the install layers ---
# Workspace packages (@maas/*) are symlinked from node_modules into libs/*, so npm needs
# every libs/*/package.json; everything else under libs/ is dropped here.
FROM base AS manifests
COPY package.json package-lock.json .npmrc ./
COPY libs ./libs
RUN find libs -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

# --- build: full install, prisma generate, compile every project to its dist/ -------------
# (apps/console is bundled by Vite into static files, apps/console/dist, which the gateway
# image serves at /console.)
FROM base AS build
COPY --from=manifests /app/ ./
# --ignore-scripts: nothing the build needs has an install step that matters (SWC and
# argon2 ship their binaries as optional packages); tfjs-node's would download libtensorflow.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY . .
RUN npx prisma generate && node tools/build.mjs
# Stage just the runtime parts: each project's dist/ and package.json.
RUN mkdir -p /out \
 && for d in libs/* apps/*; do \
      mkdir -p "/out/$d" && cp -R "$d/dist" "/out/$d/dist"; \
      if [ -f "$d/package.json" ]; then cp "$d/package.json" "/out/$d/"; fi; \
    done

# --- prod-deps: production dependencies only ---------------------------------------------
FROM base AS prod-deps
COPY --from=manifests /app/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts
# The CPU image never loads the CUDA build of TensorFlow.
RUN rm -rf node_modules/@tensorflow/tfjs-node-gpu
# tfjs-node (native CPU TensorFlow, ~6x faster training than wasm) needs its install script,
# which downloads libtensorflow. Build with --build-arg TFJS_NODE=false where that host is
# not reachable: the trainer then falls back to the wasm backend.
ARG TFJS_NODE=true
RUN if [ "$TFJS_NODE" = "true" ]; then \
      npm rebuild @tensorflow/tfjs-node --foreground-scripts; \
    else \
      rm -rf node_modules/@tensorflow/tfjs-node; \
    fi

# --- runtime: what every app image contains ----------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    STORAGE_FS_ROOT=/app/data
WORKDIR /app
# Files stay root-owned (the app cannot rewrite its own code); only /app/data (fs storage
# driver) and /tmp are writable by the app user. In Kubernetes the root fs is read-only and
# /tmp is an emptyDir.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
COPY package.json ./
COPY prisma ./prisma
RUN mkdir -p /app/data && chown 1000:1000 /app/data
# The node user of the base image, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
STOPSIGNAL SIGTERM

FROM runtime AS migrate
CMD ["node", "libs/db/dist/migrate.cli.js"]

FROM runtime AS trainer
ENV PORT=3002
EXPOSE 3002
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3002)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/trainer/dist/main.js"]

FROM runtime AS inference
ENV PORT=8080
# 8080 (HTTP) and 8081 (link) answer only the gateway; 8082 (OPS_PORT) serves the health checks.
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.OPS_PORT||8082)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/inference/dist/main.js"]

# Last, so a plain `docker build .` gives the gateway.
FROM runtime AS gateway
ENV PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/gateway/dist/main.js"]
