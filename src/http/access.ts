import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import type { Credentials } from '../domain/access/credentials.js'
import { unauthenticated } from '../domain/access/credentials.js'
import {
  type Audience,
  type Caller,
  EVERYONE,
  KEY_ROLES,
  type Role,
} from '../domain/access/roles.js'
import { ForbiddenError } from '../domain/errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; a route that says nothing is for admins only. */
    access?: readonly Audience[]
  }
  interface FastifyRequest {
    caller: Caller
  }
}

// Who may call what, by name, so each route reads as its rule.
export const PUBLIC: readonly Audience[] = EVERYONE
export const ADMIN: readonly Audience[] = ['admin']
export const STAFF: readonly Audience[] = ['admin', 'supervisor']
/** Everyone with a key may read tasks and people; inspectors read their own (see ownedBy). */
export const READERS: readonly Audience[] = KEY_ROLES
export const STAFF_AND_INSPECTORS: readonly Audience[] = [...STAFF, 'inspector']
/** Completing is the holder's act; an admin may stand in for them. */
export const ADMIN_AND_INSPECTORS: readonly Audience[] = ['admin', 'inspector']
export const READERS_AND_INSPECTORS: readonly Audience[] = [...READERS, 'inspector']

/** With AUTH=off every request acts as an admin, recorded as 'anonymous'. */
const OPEN_CALLER: Caller = { kind: 'key', role: 'admin', actor: 'anonymous', keyId: null }

const BEARER = /^Bearer +([\w.~+/=-]{1,512})$/i

export interface AccessOptions {
  enabled: boolean
  credentials: Credentials
}

/**
 * Identifies every caller before anything else runs, and refuses those the route's
 * `access` does not name: 401 without a valid credential, 403 for a role that may not.
 */
export function registerAccessControl(app: FastifyInstance, options: AccessOptions): void {
  // biome-ignore lint/suspicious/noExplicitAny: set by the hook below before any handler reads it
  app.decorateRequest('caller', null as any)
  app.addHook('onRequest', async (request) => {
    if (!options.enabled && request.headers['sec-fetch-site'] === 'cross-site') {
      // With no credential to steal, any web page the developer visits could send requests
      // to their loopback service; a browser marks those, and they are refused.
      throw new ForbiddenError(
        'CROSS_SITE',
        'With AUTH=off, requests from other sites are refused.',
      )
    }
    request.caller = options.enabled
      ? await identify(options.credentials, request.headers.authorization)
      : OPEN_CALLER
    // CORS preflights carry no credential by design; unknown paths answer 404 to anyone.
    if (request.method === 'OPTIONS' || request.is404) return
    const audience = request.routeOptions.config.access ?? ADMIN
    const { caller } = request
    if (audience.includes(caller.role ?? 'anonymous')) return
    if (caller.kind === 'anonymous') throw unauthenticated()
    throw new ForbiddenError(
      'FORBIDDEN',
      `The ${caller.role} role may not ${request.method} ${request.routeOptions.url}; ` +
        `it is open to: ${audience.filter((who) => who !== 'anonymous').join(', ')}.`,
    )
  })
}

async function identify(credentials: Credentials, header: string | undefined): Promise<Caller> {
  if (header === undefined) return { kind: 'anonymous', role: null, actor: 'anonymous' }
  const token = BEARER.exec(header)?.[1]
  if (token === undefined) throw unauthenticated()

  return credentials.callerFor(token)
}

/** Any request, however typed: only who is calling matters here. */
type CallerOf = Pick<FastifyRequest, 'caller'>

/**
 * Inspectors act only for themselves: the person id a request names, or theirs when it names
 * none. Everyone else may name anybody (or nobody).
 */
export function actingFor(request: CallerOf, named: number | undefined): number | undefined {
  const { caller } = request
  if (caller.kind !== 'session') return named
  if (named !== undefined && named !== caller.personId) throw notYours('inspector', named)

  return caller.personId
}

/** For inspectors: refuses a task (or anything else) that is not theirs. */
export function requireOwnership(request: CallerOf, ownerId: number | null, what: string) {
  const { caller } = request
  if (caller.kind === 'session' && ownerId !== caller.personId) {
    throw new ForbiddenError(
      'NOT_YOURS',
      `Inspectors act only on their own ${what}; ${what} belongs to someone else.`,
    )
  }
}

function notYours(what: string, id: number): ForbiddenError {
  return new ForbiddenError(
    'NOT_YOURS',
    `Inspectors act only for themselves; ${what} ${id} is someone else.`,
  )
}

/** The role list and the bearer scheme in each operation of the OpenAPI document. */
export function documentAccess(route: RouteOptions): void {
  const audience = route.config?.access ?? ADMIN
  const roles = audience.filter((who): who is Role => who !== 'anonymous')
  // A GET's automatic HEAD route shares its schema: note the roles once.
  if (!route.schema || route.method === 'HEAD') return
  const note = audience.includes('anonymous')
    ? 'No credential needed.'
    : `Roles: ${roles.join(', ')}.`
  route.schema.description = [route.schema.description, note].filter(Boolean).join('\n\n')
  if (!audience.includes('anonymous')) route.schema.security = [{ bearerAuth: [] }]
}
