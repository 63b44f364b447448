# syntax=docker/dockerfile:1
# Baton's server as an image: `docker build -t baton .` then
# `docker run -p 127.0.0.1:3000:3000 -v baton-data:/data baton` (README, "Running in a container").

ARG NODE_IMAGE=node:20-bookworm-slim

# better-sqlite3 falls back to compiling from source when no prebuilt binary matches the
# platform; the slim image has no toolchain, so both install stages bring one.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Manifests first: the dependency layers are rebuilt only when a manifest or the lock changes.
COPY package.json package-lock.json ./
COPY packages/verify/package.json packages/verify/
COPY packages/client/package.json packages/client/
COPY packages/server/package.json packages/server/

# Build: the whole workspace's dependencies (TypeScript included), then every package.
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages ./packages
RUN npm run build

# The runtime's node_modules: what @baton-auth/server needs in production and nothing else
# (no TypeScript, no test tools, no client package), from the same lock file.
FROM toolchain AS prod-deps
RUN npm ci --omit=dev --workspace @baton-auth/server --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only for the server's user: only /data is writable.
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/packages/verify/package.json ./packages/verify/package.json
COPY --from=build /src/packages/verify/dist ./packages/verify/dist
COPY --from=build /src/packages/server/package.json ./packages/server/package.json
COPY --from=build /src/packages/server/dist ./packages/server/dist
COPY --from=build /src/packages/server/assets ./packages/server/assets
RUN mkdir /data && chown node:node /data
USER node
VOLUME ["/data"]
# 0.0.0.0 so the published port reaches the server. The issuer then defaults to
# http://127.0.0.1:3000; set BATON_ISSUER to the URL clients use.
ENV BATON_HOST=0.0.0.0 \
  BATON_PORT=3000 \
  BATON_DATABASE_URL=sqlite:/data/baton.db
EXPOSE 3000
# The slim image has no curl: Node's fetch asks /healthz (liveness, 200 while the process runs).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.BATON_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `baton serve` stops on SIGTERM: no new connections, requests in flight finish, stores close.
STOPSIGNAL SIGTERM
CMD ["node", "packages/server/dist/cli/main.js", "serve"]
