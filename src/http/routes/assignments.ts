import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { actingFor, STAFF_AND_INSPECTORS } from '../access.js'
import { Id, PageQuery, pageOf, problemResponses } from '../schemas/common.js'
import { AssignmentSchema, EventSchema } from '../schemas/entities.js'
import type { RouteDeps } from './deps.js'

const HistoryQuery = Type.Object(
  { task_id: Type.Optional(Id), person_id: Type.Optional(Id), ...PageQuery },
  { additionalProperties: false },
)

export const historyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { reads }) => {
  app.get(
    '/assignments',
    {
      config: { access: STAFF_AND_INSPECTORS },
      schema: {
        tags: ['history'],
        summary: 'Assignment history, newest first, for a task, an inspector or all',
        description: 'Inspectors see only their own assignments.',
        querystring: HistoryQuery,
        response: { 200: pageOf(AssignmentSchema), ...problemResponses },
      },
    },
    async (request) =>
      reads.assignments({
        taskId: request.query.task_id,
        personId: actingFor(request, request.query.person_id),
        limit: request.query.limit,
        cursor: request.query.cursor,
      }),
  )

  app.get(
    '/audit',
    {
      config: { access: STAFF_AND_INSPECTORS },
      schema: {
        tags: ['history'],
        summary: 'The audit trail, newest first: every change, when, and by whom',
        description:
          'Each entry is written in the transaction that made the change. Inspectors see ' +
          'only entries about themselves.',
        querystring: HistoryQuery,
        response: { 200: pageOf(EventSchema), ...problemResponses },
      },
    },
    async (request) =>
      reads.events({
        taskId: request.query.task_id,
        personId: actingFor(request, request.query.person_id),
        limit: request.query.limit,
        cursor: request.query.cursor,
      }),
  )
}
