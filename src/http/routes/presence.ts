import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { unauthenticated } from '../../domain/access/credentials.js'
import { personActor } from '../../domain/access/roles.js'
import type { Who } from '../../domain/access/sign-in.js'
import { InvalidInputError } from '../../domain/errors.js'
import { actingFor, PUBLIC, READERS_AND_INSPECTORS, STAFF_AND_INSPECTORS } from '../access.js'
import { Id, Nullable, problemResponses } from '../schemas/common.js'
import { BadgeCode, PersonSchema, Pin, SessionSchema, TaskSchema } from '../schemas/entities.js'
import { optionalBody } from '../validation.js'
import type { RouteDeps } from './deps.js'

const PersonRef = optionalBody(
  Type.Object(
    {
      // Required with a key; an inspector's session already says who they are.
      person_id: Type.Optional(Id),
    },
    { additionalProperties: false },
  ),
)

/** With a key the request must name the person; an inspector's session names them already. */
function requiredPerson(personId: number | undefined): number {
  if (personId === undefined) {
    throw new InvalidInputError(
      'VALIDATION_FAILED',
      "body is missing the required field 'person_id'",
    )
  }

  return personId
}

export const presenceRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { service, reads, credentials, signIn } = deps

  app.post(
    '/login',
    {
      config: { access: PUBLIC },
      schema: {
        tags: ['presence'],
        summary: 'Sign an inspector in (with a PIN) or log them in; they get the oldest task',
        description:
          'With a PIN and no credential: the inspector signs in with person_id or ' +
          'badge_code and gets a session token (shown once). With a supervisor, ' +
          'integration or admin key: logs the named inspector in on their behalf (a badge ' +
          'reader), no token. With an inspector session: logs that inspector in again. ' +
          'Repeated wrong PINs are slowed down, then refused for SIGN_IN_LOCKOUT_S (429). ' +
          'Logging in again only refreshes the heartbeat.',
        // Optional: an inspector's session already names who logs in.
        body: optionalBody(
          Type.Object(
            {
              person_id: Type.Optional(Id),
              badge_code: Type.Optional(BadgeCode),
              pin: Type.Optional(Pin),
            },
            { additionalProperties: false },
          ),
        ),
        response: {
          200: Type.Object({
            person: PersonSchema,
            task: Nullable(TaskSchema),
            session: Type.Optional(SessionSchema),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { person_id, badge_code, pin } = request.body ?? {}
      if (person_id !== undefined && badge_code !== undefined) {
        throw new InvalidInputError(
          'VALIDATION_FAILED',
          'Name the inspector by person_id or by badge_code, not both.',
        )
      }
      if (pin !== undefined) {
        const who: Who | undefined =
          person_id !== undefined
            ? { personId: person_id }
            : badge_code !== undefined
              ? { badgeCode: badge_code }
              : undefined
        if (!who) {
          throw new InvalidInputError(
            'VALIDATION_FAILED',
            'A PIN sign-in names the inspector by person_id or badge_code.',
          )
        }
        const personId = await signIn.verify(who, pin, request.ip)
        const session = await credentials.openSession(personId)
        request.log.info({ personId }, 'inspector signed in')
        // The answer holds the token: no cache, shared or private, may keep it.
        reply.header('cache-control', 'no-store')

        return { ...(await service.login(personId, personActor(personId))), session }
      }

      const { caller } = request
      if (caller.kind === 'anonymous') throw unauthenticated()
      const named = badge_code === undefined ? person_id : await reads.personIdByBadge(badge_code)

      return service.login(requiredPerson(actingFor(request, named)), caller.actor)
    },
  )

  app.post(
    '/logout',
    {
      config: { access: STAFF_AND_INSPECTORS },
      schema: {
        tags: ['presence'],
        summary: 'Log an inspector out; their task goes back to the queue at its place',
        description:
          "Ends the inspector's sessions too. Logging out again changes nothing. " +
          'An inspector logs out only themselves, and may leave person_id out.',
        body: PersonRef,
        response: {
          200: Type.Object({ person: PersonSchema, released_task: Nullable(TaskSchema) }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const personId = requiredPerson(actingFor(request, request.body?.person_id))

      return service.logout(personId, request.caller.actor)
    },
  )

  app.post(
    '/heartbeat',
    {
      config: { access: STAFF_AND_INSPECTORS },
      schema: {
        tags: ['presence'],
        summary: 'Tell the service a logged-in inspector is still there',
        body: PersonRef,
        response: { 200: PersonSchema, ...problemResponses },
      },
    },
    async (request) =>
      service.heartbeat(requiredPerson(actingFor(request, request.body?.person_id))),
  )

  app.get(
    '/me',
    {
      config: { access: READERS_AND_INSPECTORS },
      schema: {
        tags: ['presence'],
        summary: 'Who the credential belongs to; for an inspector, their state and task',
        response: {
          200: Type.Object({
            role: Type.String(),
            actor: Type.String(),
            person: Type.Optional(PersonSchema),
            task: Type.Optional(Nullable(TaskSchema)),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { caller } = request
      const who = { role: caller.role ?? 'anonymous', actor: caller.actor }
      if (caller.kind !== 'session') return who
      const person = await reads.person(caller.personId)
      const task = person.current_task_id === null ? null : await reads.task(person.current_task_id)

      return { ...who, person, task }
    },
  )
}
