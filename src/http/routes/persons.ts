import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { IdParams, PageQuery, pageOf, problemResponses } from '../schemas/common.js'
import { PersonSchema, PersonStateSchema } from '../schemas/entities.js'
import type { RouteDeps } from './deps.js'

export const personRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (
  app,
  { service, reads },
) => {
  app.post(
    '/persons',
    {
      schema: {
        tags: ['persons'],
        summary: 'Create an inspector',
        body: Type.Object(
          {
            // The 100-character limit applies once surrounding spaces are trimmed, so the
            // rules check it; the body limit bounds what reaches them.
            name: Type.String({
              minLength: 1,
              pattern: '\\S',
              description: '1 to 100 characters once surrounding spaces are trimmed.',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: PersonSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const person = await service.createPerson(request.body.name)

      return reply.status(201).header('location', `/persons/${person.id}`).send(person)
    },
  )

  app.get(
    '/persons',
    {
      schema: {
        tags: ['persons'],
        summary: 'List inspectors by id, optionally in one state',
        querystring: Type.Object(
          { state: Type.Optional(PersonStateSchema), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(PersonSchema), ...problemResponses },
      },
    },
    async (request) => reads.persons(request.query),
  )

  app.get(
    '/persons/available',
    {
      schema: {
        tags: ['persons'],
        summary: 'Free, logged-in inspectors, the next to be served first',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: pageOf(PersonSchema), ...problemResponses },
      },
    },
    async (request) => reads.availablePersons(request.query),
  )

  app.get(
    '/persons/:id',
    {
      schema: {
        tags: ['persons'],
        summary: 'One inspector, with the task they hold',
        params: IdParams,
        response: { 200: PersonSchema, ...problemResponses },
      },
    },
    async (request) => reads.person(Number(request.params.id)),
  )
}
