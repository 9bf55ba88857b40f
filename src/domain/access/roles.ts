import type { KeyRole } from '../../store/schema.js'
import type { Actor } from '../events.js'

export type { KeyRole }

export const KEY_ROLES: readonly KeyRole[] = ['admin', 'supervisor', 'integration']
export type Role = KeyRole | 'inspector'

/** Who is calling, once their credential has been checked. */
export type Caller =
  | { kind: 'key'; role: KeyRole; actor: Actor; keyId: number | null }
  | { kind: 'session'; role: 'inspector'; actor: Actor; personId: number; sessionId: number }
  | { kind: 'anonymous'; role: null; actor: Actor }

/** How a route says who may call it: roles, and 'anonymous' for callers with no credential. */
export type Audience = Role | 'anonymous'

export const EVERYONE: readonly Audience[] = [...KEY_ROLES, 'inspector', 'anonymous']

export function personActor(personId: number): Actor {
  return `person:${personId}`
}

export function keyActor(name: string): Actor {
  return `key:${name}`
}
