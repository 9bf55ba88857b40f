import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keyLength: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>

/**
 * About 100 ms and 32 MiB per hash. A PIN of a few digits falls to an offline search whatever
 * the cost, so this protects longer passwords; for PINs the sign-in throttle is the defence.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const KEY_LENGTH = 32

export type TokenKind = 'key' | 'session'

/** A prefix says what a token is at a glance, and lets secret scanners find leaked ones. */
export const TOKEN_PREFIX: Record<TokenKind, string> = { key: 'qck_', session: 'qcs_' }

/** 256 random bits behind a recognisable prefix. */
export function newToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + randomBytes(32).toString('base64url')
}

/**
 * What is stored in place of a token. Tokens are random and long, so a plain SHA-256 cannot
 * be reversed by guessing; slow hashing is for what people choose (PINs).
 */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Compares two secrets in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(
    createHash('sha256').update(a).digest(),
    createHash('sha256').update(b).digest(),
  )
}

/** 'scrypt$N$r$p$salt$hash', salt and hash in base64url: self-describing, so N can grow. */
export async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scryptAsync(pin, salt, KEY_LENGTH, SCRYPT)

  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url')]
    .concat(hash.toString('base64url'))
    .join('$')
}

/** A stored hash that matches no PIN, so an unknown person costs the same time as a known one. */
const DECOY_HASH = await hashPin(randomBytes(16).toString('hex'))

/** True when `pin` matches `stored`; a missing hash is checked against a decoy, and fails. */
export async function verifyPin(pin: string, stored: string | null): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = (stored ?? DECOY_HASH).split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64url')
  const options = { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem }
  const actual = await scryptAsync(pin, Buffer.from(salt, 'base64url'), expected.length, options)

  return stored !== null && timingSafeEqual(actual, expected)
}
