import type { Store } from '../../store/store.js'
import { toDbTime } from '../../store/time.js'
import { UnauthenticatedError } from '../errors.js'
import { type Caller, keyActor, personActor } from './roles.js'
import { newToken, sameSecret, TOKEN_PREFIX, tokenDigest } from './secrets.js'

export interface CredentialOptions {
  /** A key that is admin without being stored: the first credential of a new installation. */
  adminApiKey: string | null
  sessionTtlS: number
  clock: () => Date
}

export interface NewSession {
  token: string
  expires_at: string
}

const ADMIN_ENV_ACTOR = 'admin:env'

/** Turns a bearer token into a caller, and issues inspector sessions. */
export class Credentials {
  constructor(
    private readonly store: Store,
    private readonly options: CredentialOptions,
  ) {}

  /**
   * The caller a token belongs to. Every failure (unknown, revoked, expired, malformed) is
   * the same refusal, so a guess learns nothing about which tokens exist.
   */
  async callerFor(token: string): Promise<Caller> {
    const { adminApiKey } = this.options
    if (adminApiKey !== null && sameSecret(token, adminApiKey)) {
      return { kind: 'key', role: 'admin', actor: ADMIN_ENV_ACTOR, keyId: null }
    }
    if (token.startsWith(TOKEN_PREFIX.key)) {
      const key = await this.store.apiKeys.findLive(this.store.db, tokenDigest(token))
      if (key) return { kind: 'key', role: key.role, actor: keyActor(key.name), keyId: key.id }
    }
    if (token.startsWith(TOKEN_PREFIX.session)) {
      const now = toDbTime(this.options.clock())
      const session = await this.store.sessions.findLive(this.store.db, tokenDigest(token), now)
      if (session) {
        return {
          kind: 'session',
          role: 'inspector',
          actor: personActor(session.person_id),
          personId: session.person_id,
          sessionId: session.id,
        }
      }
    }

    throw unauthenticated()
  }

  /** A new session for an inspector whose PIN was just checked; the token is shown once. */
  async openSession(personId: number): Promise<NewSession> {
    const token = newToken('session')
    const now = this.options.clock()
    const expiresAt = new Date(now.getTime() + this.options.sessionTtlS * 1000)
    await this.store.sessions.insert(this.store.db, {
      tokenHash: tokenDigest(token),
      personId,
      now: toDbTime(now),
      expiresAt: toDbTime(expiresAt),
    })

    return { token, expires_at: expiresAt.toISOString() }
  }

  /** Deletes sessions nobody can use any more; the sweeper calls this. */
  forgetEnded(): Promise<number> {
    return this.store.sessions.forgetEnded(this.store.db, toDbTime(this.options.clock()))
  }
}

export function unauthenticated(): UnauthenticatedError {
  return new UnauthenticatedError(
    'UNAUTHENTICATED',
    'This needs a valid credential: send Authorization: Bearer <API key or session token>. ' +
      'Inspectors get a session token from POST /login with their PIN.',
  )
}
