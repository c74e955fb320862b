# The billing service image: one image, two roles (compose runs `npm run api` and `npm run worker`).
# TypeScript runs through tsx, a runtime dependency, so there is no build step.
FROM node:20-slim

ENV NODE_ENV=production \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false

WORKDIR /app

COPY package.json package-lock.json ./
# The lock file may lack other platforms' optional binaries (it was written against a registry
# mirror without them); `npm ci` then refuses, and `npm install` resolves them from the lock's
# versions instead.
RUN npm ci --omit=dev || npm install --omit=dev --no-save \
 && npm cache clean --force

# Only what runs: no tests, tools or local data (there is no .dockerignore to rely on).
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities

# Local mode (no DATABASE_URL / TEMPORAL_ADDRESS) keeps its data here; compose sets both URLs.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node

EXPOSE 3000

# Role per container: `npm run api` or `npm run worker`; plain `npm start` runs both.
CMD ["npm", "start"]
