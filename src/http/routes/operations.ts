import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { ServiceMetrics } from '../../observability/metrics.js'
import type { Store } from '../../store/store.js'
import { PUBLIC } from '../access.js'
import { sendProblem } from '../problem.js'
import { problemResponses } from '../schemas/common.js'

export interface OperationsDeps {
  store: Store
  metrics: ServiceMetrics
}

const READY_TIMEOUT_MS = 2000

export const operationsRoutes: FastifyPluginAsyncTypebox<OperationsDeps> = async (
  app,
  { store, metrics },
) => {
  const Status = Type.Object({ status: Type.String() })

  app.get(
    '/healthz',
    {
      config: { access: PUBLIC },
      schema: {
        tags: ['operations'],
        summary: 'The process is alive',
        response: { 200: Status },
      },
    },
    async () => ({ status: 'ok' }),
  )

  app.get(
    '/readyz',
    {
      config: { access: PUBLIC },
      schema: {
        tags: ['operations'],
        summary: 'The database answers and its schema is current; 503 otherwise',
        response: { 200: Status, ...problemResponses },
      },
    },
    async (request, reply) => {
      const why = await whyNotReady(store)
      if (why === null) return { status: 'ready' }

      // Answered here rather than thrown: a load balancer polls this every few seconds for
      // as long as an outage lasts, and each poll would log an error with a stack. One warn
      // line per poll carries what the detail promises the log says: the cause.
      request.log.warn({ err: why }, 'not ready')
      reply.header('retry-after', '5')

      return sendProblem(reply, request, {
        status: 503,
        code: 'NOT_READY',
        detail: 'The database is unreachable or its schema is not current; see the service log.',
      })
    },
  )

  app.get(
    '/metrics',
    {
      config: { access: PUBLIC },
      schema: { tags: ['operations'], summary: 'Prometheus metrics' },
    },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
}

/** Why the service cannot serve (the database's error, a timeout, pending migrations), or null. */
async function whyNotReady(store: Store): Promise<Error | null> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Error>((resolve) => {
    timer = setTimeout(
      () => resolve(new Error(`the database did not answer within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    )
  })
  const check = store.isReady().then(
    (migrated) => (migrated ? null : new Error('the schema is behind: migrations are pending')),
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  )
  try {
    return await Promise.race([check, timeout])
  } finally {
    clearTimeout(timer)
  }
}
