import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import type { Config } from './config.js'
import { AssignmentService } from './domain/assignment-service.js'
import type { DomainEventListener } from './domain/events.js'
import { ReadModel } from './domain/read-model.js'
import { registerLenientJsonParser } from './http/content-type.js'
import { registerProblemHandlers, sendProblem } from './http/problem.js'
import { assignmentRoutes } from './http/routes/assignments.js'
import { operationsRoutes } from './http/routes/operations.js'
import { personRoutes } from './http/routes/persons.js'
import { presenceRoutes } from './http/routes/presence.js'
import { taskRoutes } from './http/routes/tasks.js'
import { Problem } from './http/schemas/common.js'
import { BODY_IS_OPTIONAL, registerValidators } from './http/validation.js'
import { eventLogger } from './observability/event-log.js'
import { ServiceMetrics } from './observability/metrics.js'
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

export interface App {
  server: FastifyInstance
  service: AssignmentService
  sweeper: Sweeper
  metrics: ServiceMetrics
}

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
    logger: options.logger === false ? false : { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestId,
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
  const service = new AssignmentService(store, {
    publish: (event) => {
      metrics.record(event)
      log(event)
      options.onEvent?.(event)
    },
    clock: options.clock,
    reportError: (error, context) => server.log.warn({ err: error }, context),
  })
  const sweeper = new Sweeper(
    service,
    {
      intervalMs: config.sweepIntervalMs,
      heartbeatTimeoutS: config.heartbeatTimeoutS,
      idempotencyKeyTtlS: config.idempotencyKeyTtlS,
    },
    server.log.child({ component: 'sweeper' }),
    (seconds) => metrics.sweepSeconds.observe(seconds),
  )

  registerValidators(server)
  registerLenientJsonParser(server)
  registerProblemHandlers(server, (error) => store.classifyFailure(error))
  server.addSchema(Problem)
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
      info: {
        title: 'qc-assign',
        version: '0.1.0',
        description:
          'Gives the oldest pending QC task to the inspector free the longest, at once. ' +
          'Errors are RFC 9457 application/problem+json.',
      },
    },
  })
  await server.register(swaggerUi, { routePrefix: '/docs' })
  server.get('/openapi.json', { schema: { hide: true } }, async () => server.swagger())

  const reads = new ReadModel(store)
  await server.register(personRoutes, { service, reads })
  await server.register(presenceRoutes, { service, reads })
  await server.register(taskRoutes, { service, reads })
  await server.register(assignmentRoutes, { service, reads })
  await server.register(operationsRoutes, { store, metrics })

  if (options.startSweeper !== false) {
    server.addHook('onReady', async () => sweeper.start())
  }
  // Fastify closes the listener and drains requests first, then runs onClose hooks.
  server.addHook('onClose', async () => {
    await sweeper.stop()
    await store.close()
  })

  return { server, service, sweeper, metrics }
}
