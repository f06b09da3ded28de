# The server image for docker-compose.yml. Node 24 LTS, production dependencies only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
COPY types ./types
COPY test/support/ferretdb.ts ./test/support/ferretdb.ts
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY views ./views
COPY config ./config
# The `authtoken` CLI's launcher: docker compose exec authtoken npx authtoken client list
COPY bin ./bin
USER node
EXPOSE 3000 3001
CMD ["node", "dist/src/main.js"]
