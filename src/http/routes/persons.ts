import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { actingFor, READERS, READERS_AND_INSPECTORS, STAFF } from '../access.js'
import { IdParams, Nullable, PageQuery, pageOf, problemResponses } from '../schemas/common.js'
import { BadgeCode, PersonSchema, PersonStateSchema, Pin } from '../schemas/entities.js'
import type { RouteDeps } from './deps.js'

// The 100-character limit applies once surrounding spaces are trimmed, so the rules check
// it; the body limit bounds what reaches them.
const Name = Type.String({
  minLength: 1,
  pattern: '\\S',
  description: '1 to 100 characters once surrounding spaces are trimmed.',
})

export const personRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (
  app,
  { reads, roster },
) => {
  app.post(
    '/persons',
    {
      config: { access: STAFF },
      schema: {
        tags: ['persons'],
        summary: 'Create an inspector, optionally with a badge and a PIN to sign in with',
        body: Type.Object(
          { name: Name, badge_code: Type.Optional(BadgeCode), pin: Type.Optional(Pin) },
          { additionalProperties: false },
        ),
        response: { 201: PersonSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const person = await roster.createPerson(request.body, request.caller.actor)

      return reply.status(201).header('location', `/persons/${person.id}`).send(person)
    },
  )

  app.patch(
    '/persons/:id',
    {
      config: { access: STAFF },
      schema: {
        tags: ['persons'],
        summary: 'Rename an inspector, or set or remove their badge or PIN',
        description: 'Fields left out stay as they are; null removes a badge or a PIN.',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            badge_code: Type.Optional(Nullable(BadgeCode)),
            pin: Type.Optional(Nullable(Pin)),
          },
          { additionalProperties: false },
        ),
        response: { 200: PersonSchema, ...problemResponses },
      },
    },
    async (request) =>
      roster.updatePerson(Number(request.params.id), request.body, request.caller.actor),
  )

  app.get(
    '/persons',
    {
      config: { access: READERS },
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
      config: { access: READERS },
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
      config: { access: READERS_AND_INSPECTORS },
      schema: {
        tags: ['persons'],
        summary: 'One inspector, with the task they hold; inspectors read only themselves',
        params: IdParams,
        response: { 200: PersonSchema, ...problemResponses },
      },
    },
    async (request) => reads.person(actingFor(request, Number(request.params.id)) as number),
  )
}
