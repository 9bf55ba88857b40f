import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Id, PageQuery, pageOf, problemResponses } from '../schemas/common.js'
import { AssignmentSchema } from '../schemas/entities.js'
import type { RouteDeps } from './deps.js'

export const assignmentRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { reads }) => {
  app.get(
    '/assignments',
    {
      schema: {
        tags: ['assignments'],
        summary: 'Assignment history, newest first, for a task, an inspector or all',
        querystring: Type.Object(
          { task_id: Type.Optional(Id), person_id: Type.Optional(Id), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(AssignmentSchema), ...problemResponses },
      },
    },
    async (request) =>
      reads.assignments({
        taskId: request.query.task_id,
        personId: request.query.person_id,
        limit: request.query.limit,
        cursor: request.query.cursor,
      }),
  )
}
