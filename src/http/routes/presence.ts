import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Id, Nullable, problemResponses } from '../schemas/common.js'
import { PersonSchema, TaskSchema } from '../schemas/entities.js'
import type { RouteDeps } from './deps.js'

const PersonRef = Type.Object({ person_id: Id }, { additionalProperties: false })

export const presenceRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { service }) => {
  app.post(
    '/login',
    {
      schema: {
        tags: ['presence'],
        summary: 'Log an inspector in; they get the oldest pending task at once',
        description: 'Logging in again only refreshes the heartbeat.',
        body: PersonRef,
        response: {
          200: Type.Object({ person: PersonSchema, task: Nullable(TaskSchema) }),
          ...problemResponses,
        },
      },
    },
    async (request) => service.login(request.body.person_id),
  )

  app.post(
    '/logout',
    {
      schema: {
        tags: ['presence'],
        summary: 'Log an inspector out; their task goes back to the queue at its place',
        description: 'Logging out again changes nothing.',
        body: PersonRef,
        response: {
          200: Type.Object({ person: PersonSchema, released_task: Nullable(TaskSchema) }),
          ...problemResponses,
        },
      },
    },
    async (request) => service.logout(request.body.person_id),
  )

  app.post(
    '/heartbeat',
    {
      schema: {
        tags: ['presence'],
        summary: 'Tell the service a logged-in inspector is still there',
        body: PersonRef,
        response: { 200: PersonSchema, ...problemResponses },
      },
    },
    async (request) => service.heartbeat(request.body.person_id),
  )
}
