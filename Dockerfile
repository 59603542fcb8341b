# syntax=docker/dockerfile:1
#
# The Reelay worker (and CLI) as a container image: compiled JavaScript, production dependencies only,
# running as the unprivileged `node` user. See docs/deploying.md.
#
#   docker build -t reelay:0.1.0 .
#   docker run --rm -e TEMPORAL_ADDRESS=temporal:7233 -e REELAY_OUTPUT_URL=s3://media/reelay \
#     -e REELAY_METRICS_ADDR=0.0.0.0:9464 -p 9464:9464 reelay:0.1.0
#
# The default command is `reelay worker`; any other `reelay` command works too
# (`docker run … reelay:0.1.0 status <workflow-id>`). The worker bundles its workflows when it starts.
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Compile src/ to dist/ (needs the dev dependencies: TypeScript).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only, from the same lockfile.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. The image: no compiler, no tests, no sources; not root.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    REELAY_OUTPUT_DIR=/data/output \
    REELAY_STATE_DIR=/data/state
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json README.md ./
COPY bin ./bin
COPY schemas ./schemas
RUN mkdir -p /data/output /data/state && chown -R node:node /data
USER node
# REELAY_METRICS_ADDR: /metrics, /healthz and /readyz.
EXPOSE 9464
# SIGTERM drains: polling stops, running activities get REELAY_SHUTDOWN_GRACE (default 3m) to finish.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["node", "/app/bin/reelay", "worker", "--check"]
ENTRYPOINT ["node", "/app/bin/reelay"]
CMD ["worker"]
