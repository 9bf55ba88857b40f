import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { DomainError } from '../../domain/errors.js'
import {
  ADMIN_AND_INSPECTORS,
  actingFor,
  READERS,
  READERS_AND_INSPECTORS,
  requireOwnership,
  STAFF,
  STAFF_AND_INSPECTORS,
} from '../access.js'
import { Id, IdParams, Nullable, PageQuery, pageOf, problemResponses } from '../schemas/common.js'
import { TaskSchema, TaskStatusSchema } from '../schemas/entities.js'
import { optionalBody } from '../validation.js'
import type { RouteDeps } from './deps.js'

const TaskAction = { tags: ['tasks'], params: IdParams }

/** Optional: who is acting as the holder; an inspector's session says so already. */
const HolderBody = optionalBody(
  Type.Object({ person_id: Type.Optional(Id) }, { additionalProperties: false }),
)

/** The refusals that, to an inspector, mean only "this task is not yours". */
const NOT_THEIRS = new Set([
  'TASK_NOT_FOUND',
  'NOT_YOUR_TASK',
  'TASK_ALREADY_DONE',
  'TASK_NOT_IN_PROGRESS',
])

export const taskRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { service, reads }) => {
  /**
   * Runs an action only a task's holder (or a key) may take. An inspector acts only as
   * themselves, so the rules refuse any task that is not theirs; to them that refusal is a
   * plain 403, whatever state the other task is in.
   */
  const asHolder = async <T>(
    request: Pick<FastifyRequest, 'caller'> & { params: { id: string } },
    named: number | undefined,
    action: (id: number, byPersonId: number | undefined) => Promise<T>,
  ): Promise<T> => {
    const id = Number(request.params.id)
    const byPersonId = actingFor(request, named)
    try {
      return await action(id, byPersonId)
    } catch (error) {
      const { caller } = request
      if (caller.kind === 'session' && error instanceof DomainError && NOT_THEIRS.has(error.code)) {
        // Read only on this path: their own task in the wrong state keeps its 409.
        const holder = await reads.task(id).then(
          (task) => task.assigned_person_id,
          () => null,
        )
        requireOwnership(request, holder, `task ${id}`)
      }
      throw error
    }
  }

  // '/tasks/' (the original path) reaches this route too: the router ignores a trailing slash.
  app.post(
    '/tasks',
    {
      config: { access: READERS },
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
        request.caller.actor,
      )
      if (replayed) reply.header('idempotent-replayed', 'true')

      return reply.status(201).header('location', `/tasks/${task.id}`).send(task)
    },
  )

  app.get(
    '/tasks',
    {
      config: { access: READERS },
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
      config: { access: READERS },
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
      config: { access: READERS_AND_INSPECTORS },
      schema: {
        tags: ['tasks'],
        summary: 'One task; inspectors read only tasks they hold or have held',
        params: IdParams,
        response: { 200: TaskSchema, ...problemResponses },
      },
    },
    async (request) => {
      const task = await reads.task(Number(request.params.id))
      const { caller } = request
      if (caller.kind === 'session' && task.assigned_person_id !== caller.personId) {
        const held = await reads.hasHeld(caller.personId, task.id)
        requireOwnership(request, held ? caller.personId : null, `task ${task.id}`)
      }

      return task
    },
  )

  app.post(
    '/tasks/:id/complete',
    {
      config: { access: ADMIN_AND_INSPECTORS },
      schema: {
        tags: ['tasks'],
        summary: 'Complete a task in progress; its inspector gets their next task in the answer',
        description:
          'The body is optional. With {"person_id"}, only the holder may complete, and a ' +
          'retry by the inspector who already completed the task is answered again with ' +
          'already_completed: true instead of 409. An inspector completes only their own ' +
          'task, and may leave person_id out.',
        params: IdParams,
        body: HolderBody,
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
    async (request) =>
      asHolder(request, request.body?.person_id, (id, byPersonId) =>
        service.completeTask(id, byPersonId, request.caller.actor),
      ),
  )

  app.post(
    '/tasks/:id/release',
    {
      config: { access: STAFF_AND_INSPECTORS },
      schema: {
        ...TaskAction,
        summary: 'Take a task back from its inspector and return it to the queue at its place',
        description:
          'Another free inspector gets it first; the former holder stays logged in, joins ' +
          'the back of the free line and may get it back only if nobody else is free. ' +
          'To keep an inspector from getting work, log them out instead. An inspector ' +
          'releases only their own task.',
        body: HolderBody,
        response: {
          200: Type.Object({ released: TaskSchema, next_task: Nullable(TaskSchema) }),
          ...problemResponses,
        },
      },
    },
    async (request) =>
      asHolder(request, request.body?.person_id, (id, byPersonId) =>
        service.releaseTask(id, byPersonId, request.caller.actor),
      ),
  )

  app.post(
    '/tasks/:id/cancel',
    {
      config: { access: STAFF },
      schema: {
        ...TaskAction,
        summary: 'Withdraw a task that is not DONE; its inspector, if any, gets the next one',
        description: 'Cancelling a CANCELLED task again answers it unchanged.',
        response: { 200: TaskSchema, ...problemResponses },
      },
    },
    async (request) => service.cancelTask(Number(request.params.id), request.caller.actor),
  )
}
