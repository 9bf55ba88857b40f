import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { fileURLToPath } from 'node:url'
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import type { Config } from './config.js'
import { ApiKeys } from './domain/access/api-keys.js'
import { Credentials } from './domain/access/credentials.js'
import type { Audience } from './domain/access/roles.js'
import { SignIn } from './domain/access/sign-in.js'
import { AssignmentService } from './domain/assignment-service.js'
import { EventFeed } from './domain/event-feed.js'
import type { DomainEvent, DomainEventListener } from './domain/events.js'
import { ReadModel } from './domain/read-model.js'
import { Reports } from './domain/reports.js'
import { Roster } from './domain/roster.js'
import { RedisFanout } from './fanout/redis-fanout.js'
import { ADMIN, documentAccess, PUBLIC, registerAccessControl } from './http/access.js'
import { answerClientError } from './http/client-errors.js'
import { registerLenientJsonParser } from './http/content-type.js'
import { registerProblemHandlers, sendProblem } from './http/problem.js'
import { apiKeyRoutes } from './http/routes/api-keys.js'
import { historyRoutes } from './http/routes/assignments.js'
import { consoleRoutes } from './http/routes/console.js'
import { eventRoutes } from './http/routes/events.js'
import { operationsRoutes } from './http/routes/operations.js'
import { personRoutes } from './http/routes/persons.js'
import { presenceRoutes } from './http/routes/presence.js'
import { reportRoutes } from './http/routes/reports.js'
import { taskRoutes } from './http/routes/tasks.js'
import { Problem } from './http/schemas/common.js'
import { BODY_IS_OPTIONAL, registerValidators } from './http/validation.js'
import { eventLogger } from './observability/event-log.js'
import { ServiceMetrics } from './observability/metrics.js'
import { rateLimitedWarning } from './observability/rate-limited-warning.js'
import { Sweeper } from './scheduler/sweeper.js'
import type { Store } from './store/store.js'

export interface AppOptions {
  config: Config
  store: Store
  /** Off in tests that drive the sweep themselves. */
  startSweeper?: boolean
  /** Told of every domain event after commit, besides the log and the metrics. */
  onEvent?: DomainEventListener
  logger?: boolean
  /** The time source for every state change; tests pass a controllable one. */
  clock?: () => Date
}

/** A route and who may call it, as registered: what the access matrix test walks. */
export interface RouteSummary {
  method: string
  url: string
  access: readonly Audience[]
}

export interface App {
  server: FastifyInstance
  routes: readonly RouteSummary[]
  service: AssignmentService
  apiKeys: ApiKeys
  sweeper: Sweeper
  metrics: ServiceMetrics
}

const DOCS_PREFIX = '/docs'
/** The built console (npm run build); the same folder from src/ under tsx and from dist/. */
const CONSOLE_ROOT = fileURLToPath(new URL('../dist/web', import.meta.url))
/** The wildcard route the static plugin serves the console's files on. */
const CONSOLE_FILES = '/*'

const CLIENT_REQUEST_ID = /^[\w.:-]{1,64}$/

/** The caller's x-request-id when it is short and plain, else a fresh UUID: unique per fleet. */
function requestId(request: IncomingMessage): string {
  const offered = request.headers['x-request-id']

  return typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID()
}

type OpenApiDocument = { paths?: Record<string, Record<string, OpenApiOperation>> }
type OpenApiOperation = {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: object }> }
}

/** The docs say a body is optional where the route accepts none (see optionalBody). */
function markOptionalBodies<T>(document: T): T {
  for (const path of Object.values((document as OpenApiDocument).paths ?? {})) {
    for (const operation of Object.values(path)) {
      const body = operation.requestBody
      const schemas = Object.values(body?.content ?? {}).map((media) => media.schema ?? {})
      if (body && schemas.some((schema) => BODY_IS_OPTIONAL in schema)) body.required = false
    }
  }

  return document
}

/** Builds the whole service around a store; listening is the caller's business. */
export async function buildApp(options: AppOptions): Promise<App> {
  const { config, store } = options
  const server = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: config.logLevel,
            // Secrets never reach the log, even from a debug line that logs a request.
            redact: ['req.headers.authorization', '*.pin', '*.token', '*.key'],
          },
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestId,
    clientErrorHandler: answerClientError,
    trustProxy: config.trustProxy,
    // Per-request lines go out at debug (below); info stays for what an operator acts on.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    // Errors raised before routing (a URL that cannot be decoded) get problem+json too.
    frameworkErrors: (error, request, reply) =>
      sendProblem(reply, request, {
        status: 400,
        code: 'BAD_URL',
        detail: `The URL could not be read (${error.message}); percent-encode it properly.`,
      }),
  }).withTypeProvider<TypeBoxTypeProvider>()

  const metrics = new ServiceMetrics(store, (error) =>
    server.log.warn({ err: error }, 'metrics could not read the database'),
  )
  const log = eventLogger(server.log)
  const clock = options.clock ?? (() => new Date())
  const feedWarning = rateLimitedWarning(server.log, 30_000)
  const feed = new EventFeed(store, { pollMs: config.eventPollMs, gapWaitMs: 2000 }, (error) =>
    feedWarning(error, 'reading the event trail failed; /events streams wait for it'),
  )
  const fanout = config.redisUrl
    ? new RedisFanout({
        url: config.redisUrl,
        channel: config.redisChannel,
        onNudge: () => feed.nudge(),
        log: server.log.child({ component: 'redis-fanout' }),
      })
    : null
  const publish = (event: DomainEvent) => {
    metrics.record(event)
    log(event)
    options.onEvent?.(event)
    // Streams on this instance hear of the commit at once; other instances through Redis.
    feed.nudge()
    fanout?.announce()
  }
  const service = new AssignmentService(store, {
    publish,
    clock,
    reportError: (error, context) => server.log.warn({ err: error }, context),
  })
  const roster = new Roster(store, publish, clock)
  const apiKeys = new ApiKeys(store, clock, publish)
  const credentials = new Credentials(store, {
    adminApiKey: config.adminApiKey,
    sessionTtlS: config.sessionTtlS,
    clock,
  })
  const signIn = new SignIn(
    store,
    {
      maxFailuresPerPerson: config.signInMaxFailures,
      maxFailuresPerAddress: config.signInMaxFailures * 4,
      lockoutS: config.signInLockoutS,
      baseDelayMs: config.signInDelayMs,
      maxDelayMs: config.signInDelayMs * 16,
    },
    clock,
    ({ outcome, subject, address }) => {
      metrics.signInAttempts.inc({ outcome })
      // Who was tried and from where, so an operator can see a guessing run; never the PIN.
      if (outcome !== 'signed_in') server.log.info({ subject, address, outcome }, 'sign-in refused')
    },
  )
  const sweeper = new Sweeper(
    service,
    {
      intervalMs: config.sweepIntervalMs,
      heartbeatTimeoutS: config.heartbeatTimeoutS,
      idempotencyKeyTtlS: config.idempotencyKeyTtlS,
      forgetExpired: async () => (await signIn.forgetExpired()) + (await credentials.forgetEnded()),
    },
    server.log.child({ component: 'sweeper' }),
    (seconds) => metrics.sweepSeconds.observe(seconds),
  )

  registerValidators(server)
  registerLenientJsonParser(server)
  registerProblemHandlers(server, (error) => store.classifyFailure(error))
  server.addSchema(Problem)
  const routes: RouteSummary[] = []
  server.addHook('onRoute', (route) => {
    // Routes that plugins add (the documentation, the console's files) are public, like the
    // pages they serve; whatever those pages show comes from routes that check the caller.
    if (route.url.startsWith(DOCS_PREFIX) || route.url === CONSOLE_FILES) {
      route.config = { ...route.config, access: PUBLIC }
    }
    documentAccess(route)
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, access: route.config?.access ?? ADMIN })
    }
  })
  if (!config.authEnabled) {
    server.log.warn('AUTH=off: every request acts as an admin; for experiments on loopback only')
  }
  server.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  server.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request served',
    )
    metrics.httpSeconds.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    )
  })

  if (config.corsOrigins.length > 0) {
    await server.register(cors, {
      origin: [...config.corsOrigins],
      exposedHeaders: ['location', 'x-request-id', 'idempotent-replayed', 'retry-after'],
    })
  }
  await server.register(swagger, {
    // Shared schemas appear under their own $id (Problem) rather than def-0.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `def-${index}`,
    },
    transformObject: (document) =>
      'openapiObject' in document
        ? markOptionalBodies(document.openapiObject)
        : document.swaggerObject,
    openapi: {
      openapi: '3.1.0',
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (qck_…) or an inspector session token (qcs_…).',
          },
        },
      },
      info: {
        title: 'qc-assign',
        version: '0.1.0',
        description:
          'Gives the oldest pending QC task to the inspector free the longest, at once. ' +
          'Errors are RFC 9457 application/problem+json.',
      },
    },
  })
  await server.register(swaggerUi, { routePrefix: DOCS_PREFIX })
  server.get('/openapi.json', { config: { access: PUBLIC }, schema: { hide: true } }, async () =>
    server.swagger(),
  )
  await server.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        // What the /docs page needs, and nothing from elsewhere.
        scriptSrc: ["'self'", ...server.swaggerCSP.script],
        styleSrc: ["'self'", ...server.swaggerCSP.style],
        imgSrc: ["'self'", 'data:'],
        // Served over plain HTTP on a factory network too; do not force https.
        upgradeInsecureRequests: null,
      },
    },
  })

  // After CORS and helmet, so preflights are answered and refusals carry security headers.
  registerAccessControl(server, { enabled: config.authEnabled, credentials })

  const reads = new ReadModel(store)
  const deps = { service, reads, roster, credentials, signIn, apiKeys }
  await server.register(personRoutes, deps)
  await server.register(presenceRoutes, deps)
  await server.register(taskRoutes, deps)
  await server.register(historyRoutes, deps)
  await server.register(reportRoutes, { reports: new Reports(store, clock) })
  await server.register(apiKeyRoutes, deps)
  await server.register(eventRoutes, { feed, reads, keepAliveMs: 15_000 })
  await server.register(operationsRoutes, { store, metrics })
  await server.register(consoleRoutes, { root: CONSOLE_ROOT })

  if (options.startSweeper !== false) {
    server.addHook('onReady', async () => sweeper.start())
  }
  // Fastify closes the listener and drains requests first, then runs onClose hooks.
  server.addHook('onClose', async () => {
    await sweeper.stop()
    await fanout?.close()
    await feed.close()
    await store.close()
  })

  return { server, routes, service, apiKeys, sweeper, metrics }
}
