import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { IdParams, Nullable, PageQuery, pageOf, problemResponses } from '../schemas/common.js'
import { TaskSchema, TaskStatusSchema } from '../schemas/entities.js'
import type { RouteDeps } from './deps.js'

export const taskRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { service, reads }) => {
  // '/tasks/' (the original path) reaches this route too: the router ignores a trailing slash.
  app.post(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Create a task; it is assigned at once if an inspector is free',
        body: Type.Object(
          { description: Type.String({ minLength: 1, maxLength: 10_000, pattern: '\\S' }) },
          { additionalProperties: false },
        ),
        response: { 201: TaskSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const task = await service.createTask(request.body.description)

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
    async (request) => reads.task(request.params.id),
  )

  app.post(
    '/tasks/:id/complete',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Complete a task in progress; its inspector gets their next task in the answer',
        params: IdParams,
        response: {
          200: Type.Object({ completed: TaskSchema, next_task: Nullable(TaskSchema) }),
          ...problemResponses,
        },
      },
    },
    async (request) => service.completeTask(request.params.id),
  )
}
