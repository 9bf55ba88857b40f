import type { Transaction } from 'kysely'
import type { Database } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { toDbTime } from '../store/time.js'
import { hashPin } from './access/secrets.js'
import { personSubject } from './access/sign-in.js'
import { ConflictError, InvalidInputError } from './errors.js'
import { commitRecorded } from './event-record.js'
import type { Actor, DomainEvent, DomainEventListener } from './events.js'
import { type Person, personFromRow } from './model.js'
import { personNotFound, refuseBrokenText } from './refusals.js'

export interface PersonDetails {
  name?: string
  /** null removes the badge. */
  badge_code?: string | null
  /** null removes the PIN: the inspector can then only be logged in by a key. */
  pin?: string | null
}

/** The inspectors themselves: who they are and how they sign in. */
export class Roster {
  constructor(
    private readonly store: Store,
    private readonly publish: DomainEventListener,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async createPerson(details: PersonDetails & { name: string }, actor: Actor): Promise<Person> {
    const name = checkedName(details.name)
    const pinHash = details.pin == null ? null : await hashPin(details.pin)
    const badgeCode = details.badge_code ?? null
    const { person } = await this.commit(async (tx, now) => {
      if (badgeCode !== null) await this.refuseTakenBadge(tx, badgeCode, null)
      const at = toDbTime(now)
      const id = await this.store.persons.insert(tx, { name, now: at, badgeCode, pinHash })
      const events: DomainEvent[] = [{ type: 'person_created', personId: id, actor }]

      return { person: await this.person(tx, id), events }
    })

    return person
  }

  /** Renames, re-badges or sets the PIN of an inspector; fields left out stay as they are. */
  async updatePerson(id: number, details: PersonDetails, actor: Actor): Promise<Person> {
    const name = details.name === undefined ? undefined : checkedName(details.name)
    const pinHash =
      details.pin === undefined
        ? undefined
        : details.pin === null
          ? null
          : await hashPin(details.pin)
    const fields = Object.keys(details).filter(
      (field) => details[field as keyof PersonDetails] !== undefined,
    )
    const { person } = await this.commit(async (tx, now) => {
      if (details.badge_code) await this.refuseTakenBadge(tx, details.badge_code, id)
      const found = await this.store.persons.update(tx, id, {
        name,
        badgeCode: details.badge_code,
        pinHash,
      })
      if (!found) throw personNotFound(id)
      if (pinHash !== undefined) {
        // A new PIN (or none) ends the sessions the old one opened, and lifts a refusal
        // earned by guessing at the old one.
        await this.store.sessions.revokeAllOf(tx, id, toDbTime(now))
        await this.store.signInThrottle.forget(tx, personSubject(id))
      }
      const events: DomainEvent[] =
        fields.length > 0 ? [{ type: 'person_updated', personId: id, fields, actor }] : []

      return { person: await this.person(tx, id), events }
    })

    return person
  }

  private commit<T extends { events: DomainEvent[] }>(
    work: (tx: Transaction<Database>, now: Date) => Promise<T>,
  ): Promise<T> {
    return commitRecorded({ store: this.store, clock: this.clock, publish: this.publish }, work)
  }

  private async refuseTakenBadge(
    tx: Transaction<Database>,
    badgeCode: string,
    ownerId: number | null,
  ): Promise<void> {
    const holder = await this.store.persons.findCredentials(tx, { badgeCode })
    if (holder && holder.id !== ownerId) {
      throw new ConflictError(
        'BADGE_TAKEN',
        `Badge ${JSON.stringify(badgeCode)} belongs to inspector ${holder.id}; ` +
          'a badge identifies one inspector.',
      )
    }
  }

  private async person(tx: Transaction<Database>, id: number): Promise<Person> {
    const row = await this.store.persons.find(tx, id)
    if (!row) throw personNotFound(id)

    return personFromRow(row)
  }
}

function checkedName(name: string): string {
  refuseBrokenText('name', name)
  const trimmed = name.trim()
  // Counted in characters (code points), as MySQL's VARCHAR(100) counts them.
  const characters = [...trimmed].length
  if (characters === 0 || characters > 100) {
    throw new InvalidInputError(
      'BAD_NAME',
      'name must have 1 to 100 characters besides surrounding spaces.',
    )
  }

  return trimmed
}
