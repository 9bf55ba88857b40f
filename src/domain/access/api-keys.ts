import type { Transaction } from 'kysely'
import type { ApiKeyRow } from '../../store/api-keys.js'
import type { Database } from '../../store/schema.js'
import type { Store } from '../../store/store.js'
import { isoFromDbTime, isoOrNull, toDbTime } from '../../store/time.js'
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js'
import { commitRecorded } from '../event-record.js'
import type { Actor, DomainEvent, DomainEventListener } from '../events.js'
import { KEY_ROLES, type KeyRole } from './roles.js'
import { newToken, tokenDigest } from './secrets.js'

export interface ApiKey {
  id: number
  name: string
  role: KeyRole
  created_at: string
  created_by: string
  revoked_at: string | null
}

export interface IssuedKey extends ApiKey {
  /** The key itself, shown this once: only its hash is kept. */
  key: string
}

const KEY_NAME = /^[\w.@-]{1,100}$/

/** Creates, lists and revokes API keys; used by the HTTP API and by `npm run keys`. */
export class ApiKeys {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
    /** Told of each key created or revoked, after the commit; the command line has no one. */
    private readonly publish: DomainEventListener = () => {},
  ) {}

  private commit<T extends { events: DomainEvent[] }>(
    work: (tx: Transaction<Database>, now: Date) => Promise<T>,
  ): Promise<T> {
    return commitRecorded({ store: this.store, clock: this.clock, publish: this.publish }, work)
  }

  async create(name: string, role: KeyRole, actor: Actor): Promise<IssuedKey> {
    if (!KEY_NAME.test(name)) {
      throw new InvalidInputError(
        'BAD_KEY_NAME',
        'A key name is 1 to 100 letters, digits and . _ @ -, so it reads well in the audit ' +
          `trail; got ${JSON.stringify(name)}.`,
      )
    }
    if (!KEY_ROLES.includes(role)) {
      throw new InvalidInputError('BAD_ROLE', `role must be one of ${KEY_ROLES.join(', ')}.`)
    }
    const key = newToken('key')
    const { row } = await this.commit(async (tx, now) => {
      if (await this.store.apiKeys.findByName(tx, name)) {
        throw new ConflictError(
          'KEY_NAME_TAKEN',
          `A key named ${JSON.stringify(name)} exists (perhaps revoked); names are never ` +
            'reused, so the audit trail stays unambiguous. Choose another name.',
        )
      }
      const id = await this.store.apiKeys.insert(tx, {
        name,
        role,
        secretHash: tokenDigest(key),
        now: toDbTime(now),
        createdBy: actor,
      })
      const events: DomainEvent[] = [{ type: 'api_key_created', keyId: id, name, role, actor }]

      return { row: await this.store.apiKeys.find(tx, id), events }
    })
    if (!row) throw new Error(`the key named ${name} vanished after it was created`)

    return { ...apiKeyFromRow(row), key }
  }

  async list(): Promise<ApiKey[]> {
    return (await this.store.apiKeys.list(this.store.db)).map(apiKeyFromRow)
  }

  /** Revokes the key at once, on every instance; revoking twice is harmless. */
  async revoke(id: number, actor: Actor): Promise<ApiKey> {
    const { row } = await this.commit(async (tx, now) => {
      const key = await this.store.apiKeys.find(tx, id)
      if (!key) throw new NotFoundError('KEY_NOT_FOUND', `No API key has id ${id}.`)
      const revoked = await this.store.apiKeys.revoke(tx, id, toDbTime(now))
      const events: DomainEvent[] = revoked
        ? [{ type: 'api_key_revoked', keyId: id, name: key.name, actor }]
        : []

      return { row: await this.store.apiKeys.find(tx, id), events }
    })
    if (!row) throw new NotFoundError('KEY_NOT_FOUND', `No API key has id ${id}.`)

    return apiKeyFromRow(row)
  }
}

function apiKeyFromRow(row: ApiKeyRow): ApiKey {
  return {
    ...row,
    created_at: isoFromDbTime(row.created_at),
    revoked_at: isoOrNull(row.revoked_at),
  }
}
