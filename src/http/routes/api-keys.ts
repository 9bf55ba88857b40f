import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ADMIN } from '../access.js'
import { IdParams, problemResponses } from '../schemas/common.js'
import { ApiKeySchema, KeyRoleSchema } from '../schemas/entities.js'
import type { RouteDeps } from './deps.js'

export const apiKeyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { apiKeys }) => {
  app.post(
    '/api-keys',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['api keys'],
        summary: 'Create an API key; the answer shows the key once',
        body: Type.Object(
          {
            name: Type.String({
              minLength: 1,
              maxLength: 100,
              description: 'Unique, never reused; the audit trail names the key by it.',
            }),
            role: KeyRoleSchema,
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Composite([ApiKeySchema, Type.Object({ key: Type.String() })]),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { name, role } = request.body
      const issued = await apiKeys.create(name, role, request.caller.actor)
      request.log.info({ keyId: issued.id, name, role }, 'api key created')

      // The answer holds the key itself: no cache may keep it.
      return reply
        .status(201)
        .header('location', `/api-keys/${issued.id}`)
        .header('cache-control', 'no-store')
        .send(issued)
    },
  )

  app.get(
    '/api-keys',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['api keys'],
        summary: 'Every API key, revoked ones included; never the keys themselves',
        response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...problemResponses },
      },
    },
    async () => ({ items: await apiKeys.list() }),
  )

  app.delete(
    '/api-keys/:id',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['api keys'],
        summary: 'Revoke an API key at once; revoking again changes nothing',
        params: IdParams,
        response: { 200: ApiKeySchema, ...problemResponses },
      },
    },
    async (request) => {
      const key = await apiKeys.revoke(Number(request.params.id), request.caller.actor)
      request.log.info({ keyId: key.id, name: key.name }, 'api key revoked')

      return key
    },
  )
}
