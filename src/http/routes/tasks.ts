import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Id, IdParams, Nullable, PageQuery, pageOf, problemResponses } from '../schemas/common.js'
import { TaskSchema, TaskStatusSchema } from '../schemas/entities.js'
import { optionalBody } from '../validation.js'
import type { RouteDeps } from './deps.js'

export const taskRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { service, reads }) => {
  // '/tasks/' (the original path) reaches this route too: the router ignores a trailing slash.
  app.post(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Create a task; it is assigned at once if an inspector is free',
        description:
          'With an Idempotency-Key header, a retry of the same request answers the task the ' +
          'first one created (header Idempotent-Replayed: true) and creates nothing; the same ' +
          'key with another description answers 422. Keys are kept IDEMPOTENCY_KEY_TTL_S.',
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 200,
              pattern: '^[!-~]+$',
              description: '1 to 200 visible ASCII characters, unique per task to create.',
            }),
          ),
        }),
        body: Type.Object(
          { description: Type.String({ minLength: 1, maxLength: 10_000, pattern: '\\S' }) },
          { additionalProperties: false },
        ),
        response: { 201: TaskSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { task, replayed } = await service.createTask(
        request.body.description,
        request.headers['idempotency-key'],
      )
      if (replayed) reply.header('idempotent-replayed', 'true')

      return reply.status(201).header('location', `/tasks/${task.id}`).send(task)
    },
  )

  app.get(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Tasks, newest first, optionally in one status',
        querystring: Type.Object(
          { status: Type.Optional(TaskStatusSchema), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(TaskSchema), ...problemResponses },
      },
    },
    async (request) => reads.tasks(request.query),
  )

  app.get(
    '/tasks/pending',
    {
      schema: {
        tags: ['tasks'],
        summary: 'The queue: pending tasks, oldest first',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: pageOf(TaskSchema), ...problemResponses },
      },
    },
    async (request) => reads.pendingTasks(request.query),
  )

  app.get(
    '/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'One task',
        params: IdParams,
        response: { 200: TaskSchema, ...problemResponses },
      },
    },
    async (request) => reads.task(Number(request.params.id)),
  )

  app.post(
    '/tasks/:id/complete',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Complete a task in progress; its inspector gets their next task in the answer',
        description:
          'The body is optional. With {"person_id"}, only the holder may complete, and a ' +
          'retry by the inspector who already completed the task is answered again with ' +
          'already_completed: true instead of 409.',
        params: IdParams,
        body: optionalBody(
          Type.Object({ person_id: Type.Optional(Id) }, { additionalProperties: false }),
        ),
        response: {
          200: Type.Object({
            completed: TaskSchema,
            next_task: Nullable(TaskSchema),
            already_completed: Type.Boolean(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => service.completeTask(Number(request.params.id), request.body?.person_id),
  )
}
