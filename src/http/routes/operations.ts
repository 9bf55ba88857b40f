import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { ServiceMetrics } from '../../observability/metrics.js'
import type { Store } from '../../store/store.js'
import { HttpProblem } from '../problem.js'
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
      schema: {
        tags: ['operations'],
        summary: 'The database answers and its schema is current; 503 otherwise',
        response: { 200: Status, ...problemResponses },
      },
    },
    async () => {
      const ready = await Promise.race([
        store.isReady().catch(() => false),
        new Promise<false>((resolve) => setTimeout(resolve, READY_TIMEOUT_MS, false).unref()),
      ])
      if (!ready) {
        throw new HttpProblem(
          503,
          'NOT_READY',
          'The database is unreachable or its schema is not current; see the service log.',
        )
      }

      return { status: 'ready' }
    },
  )

  app.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus metrics' } },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
}
