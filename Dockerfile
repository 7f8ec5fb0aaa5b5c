# syntax=docker/dockerfile:1
# The meshwarden webhook image: `meshwarden serve` on port 8443 as a non-root user, production
# dependencies only. The Helm chart passes the cluster flags and mounts the TLS Secret at
# /etc/meshwarden/tls; no development certificate is generated or shipped.

ARG NODE_VERSION=22

# npm's settings for the two `npm ci` steps (a registry mirror, its token, a `cafile`) come in as
# build secrets, so nothing of them is kept in a layer; both are optional:
#   docker build --secret id=npmrc,src=$HOME/.npmrc --secret id=npm-ca,src=<CA bundle> .
# (the npmrc then says `cafile=/run/secrets/npm-ca`). Without them npm uses its defaults.

# 1. Compile TypeScript (needs the dev dependencies).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are copied.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=npm-ca \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# 2. Production dependencies only.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=npm-ca \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# package.json marks dist as ES modules. policies/ stays out: in a cluster the policy is the
# meshwarden-policy ConfigMap, and without one the built-in defaults are the same text.
COPY package.json ./
# The `node` user of the base image (uid 1000), by number so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8443
ENTRYPOINT ["node", "dist/src/cli/main.js", "serve"]
CMD ["--cert", "/etc/meshwarden/tls/tls.crt", "--key", "/etc/meshwarden/tls/tls.key"]
