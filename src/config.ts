import { type Static, Type } from '@sinclair/typebox'
import envSchema from 'env-schema'

/**
 * Every setting the service reads, with its default. The README's configuration table is
 * written from this schema; keep the two together.
 */
const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ default: 8000, minimum: 0, maximum: 65535 }),
  DATABASE_URL: Type.String({
    default: 'sqlite:data/qc-assign.sqlite',
    // A MySQL URL must name its database; an SQLite one its file.
    pattern: '^(mysql://[^/]+/[^/?]+|sqlite:.+)',
  }),
  DB_POOL_SIZE: Type.Integer({ default: 10, minimum: 1, maximum: 500 }),
  DB_LOCK_WAIT_TIMEOUT_S: Type.Integer({ default: 5, minimum: 1, maximum: 3600 }),
  DB_STARTUP_TIMEOUT_S: Type.Integer({ default: 60, minimum: 0, maximum: 3600 }),
  SWEEP_INTERVAL_MS: Type.Integer({ default: 5000, minimum: 50, maximum: 3_600_000 }),
  HEARTBEAT_TIMEOUT_S: Type.Integer({ default: 0, minimum: 0, maximum: 86_400 }),
  IDEMPOTENCY_KEY_TTL_S: Type.Integer({ default: 86_400, minimum: 60, maximum: 2_592_000 }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 262_144, minimum: 1024, maximum: 16_777_216 }),
  CORS_ORIGINS: Type.String({ default: '' }),
  AUTH: Type.Unsafe<'on' | 'off'>({ type: 'string', enum: ['on', 'off'], default: 'on' }),
  // What a bearer token may hold (RFC 6750's token68), so the key can be sent at all.
  ADMIN_API_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._~+/=-]{32,200}$' })),
  SESSION_TTL_S: Type.Integer({ default: 43_200, minimum: 60, maximum: 2_592_000 }),
  SIGN_IN_MAX_FAILURES: Type.Integer({ default: 5, minimum: 1, maximum: 1000 }),
  SIGN_IN_LOCKOUT_S: Type.Integer({ default: 900, minimum: 1, maximum: 86_400 }),
  SIGN_IN_DELAY_MS: Type.Integer({ default: 250, minimum: 0, maximum: 10_000 }),
  TRUST_PROXY: Type.String({ default: '' }),
  EVENT_POLL_MS: Type.Integer({ default: 250, minimum: 10, maximum: 60_000 }),
  // Empty: Redis off, and events travel between instances through the database alone.
  REDIS_URL: Type.String({ default: '', pattern: '^(rediss?://[^\\s]+)?$' }),
  REDIS_CHANNEL: Type.String({ default: 'qc-assign:events', pattern: '^[\\w.:-]{1,100}$' }),
  LOG_LEVEL: Type.Unsafe<string>({
    type: 'string',
    enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
  }),
})

type RawConfig = Static<typeof ConfigSchema>

/** Every environment variable the service reads, for tools that start it as a child. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(ConfigSchema.properties)

export interface Config {
  readonly host: string
  readonly port: number
  readonly databaseUrl: string
  readonly dbPoolSize: number
  readonly dbLockWaitTimeoutS: number
  /** How long a starting instance waits for an unreachable database before giving up. */
  readonly dbStartupTimeoutS: number
  readonly sweepIntervalMs: number
  /** 0 turns heartbeat expiry off, as in the original design. */
  readonly heartbeatTimeoutS: number
  /** How long a POST /tasks Idempotency-Key is remembered. */
  readonly idempotencyKeyTtlS: number
  readonly bodyLimitBytes: number
  /** Empty: CORS stays off. */
  readonly corsOrigins: readonly string[]
  /** Off only for experiments on loopback; see loadConfig. */
  readonly authEnabled: boolean
  /** Admin without being stored, so a new installation has a first credential. */
  readonly adminApiKey: string | null
  /** How long an inspector's sign-in lasts unless they log out first. */
  readonly sessionTtlS: number
  /** Failed sign-ins per person before refusal; an address may fail four times as often. */
  readonly signInMaxFailures: number
  readonly signInLockoutS: number
  /** The delay added to a failed sign-in, doubling with each further failure (to 16x). */
  readonly signInDelayMs: number
  /** Fastify's trustProxy: false, true, or the proxies' addresses; decides the client address. */
  readonly trustProxy: boolean | string
  /** How often an instance reads the audit trail for GET /events while anyone listens. */
  readonly eventPollMs: number
  /**
   * null: off. Otherwise instances tell each other over Redis that the trail grew, so
   * streams read it at once; the database stays the source and the poll the fallback.
   */
  readonly redisUrl: string | null
  /** Pub/sub ignores Redis's database number; deployments sharing a Redis differ here. */
  readonly redisChannel: string
  readonly logLevel: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads and checks the environment once; a wrong value names its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let raw: RawConfig
  try {
    // env-schema strips unknown keys from the object it is given, so hand it a copy.
    const data = { ...env }
    // An empty variable (as compose files and CI often leave them) means unset.
    if (data.ADMIN_API_KEY === '') delete data.ADMIN_API_KEY
    raw = envSchema<RawConfig>({ schema: ConfigSchema, data, env: false })
  } catch (error) {
    throw new ConfigError(describeEnvError(error, env))
  }

  return Object.freeze({
    host: raw.HOST,
    port: raw.PORT,
    databaseUrl: raw.DATABASE_URL,
    dbPoolSize: raw.DB_POOL_SIZE,
    dbLockWaitTimeoutS: raw.DB_LOCK_WAIT_TIMEOUT_S,
    dbStartupTimeoutS: raw.DB_STARTUP_TIMEOUT_S,
    sweepIntervalMs: raw.SWEEP_INTERVAL_MS,
    heartbeatTimeoutS: raw.HEARTBEAT_TIMEOUT_S,
    idempotencyKeyTtlS: raw.IDEMPOTENCY_KEY_TTL_S,
    bodyLimitBytes: raw.BODY_LIMIT_BYTES,
    corsOrigins: Object.freeze(
      raw.CORS_ORIGINS.split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
    logLevel: raw.LOG_LEVEL,
    authEnabled: authEnabled(raw),
    adminApiKey: raw.ADMIN_API_KEY ?? null,
    sessionTtlS: raw.SESSION_TTL_S,
    signInMaxFailures: raw.SIGN_IN_MAX_FAILURES,
    signInLockoutS: raw.SIGN_IN_LOCKOUT_S,
    signInDelayMs: raw.SIGN_IN_DELAY_MS,
    trustProxy: raw.TRUST_PROXY === '' ? false : raw.TRUST_PROXY === 'true' || raw.TRUST_PROXY,
    eventPollMs: raw.EVENT_POLL_MS,
    redisUrl: raw.REDIS_URL === '' ? null : raw.REDIS_URL,
    redisChannel: raw.REDIS_CHANNEL,
  })
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/

/** Turning authentication off is for a laptop: refused wherever others could connect. */
function authEnabled(raw: RawConfig): boolean {
  if (raw.AUTH === 'on') return true
  if (!LOOPBACK.test(raw.HOST)) {
    throw new ConfigError(
      `invalid configuration: AUTH=off is refused while HOST=${raw.HOST} listens beyond this ` +
        'machine; use HOST=127.0.0.1 for experiments, or keep AUTH=on',
    )
  }

  return false
}

const SECRET_VARIABLES = new Set(['ADMIN_API_KEY'])

interface AjvIssue {
  instancePath?: string
  message?: string
  params?: { allowedValues?: unknown[] }
}

function describeEnvError(error: unknown, env: NodeJS.ProcessEnv): string {
  const issue = (error as { errors?: AjvIssue[] }).errors?.[0]
  const name = issue?.instancePath?.replace(/^\//, '')
  if (!name) return `invalid configuration: ${(error as Error).message}`
  if (name === 'DATABASE_URL') {
    return (
      `invalid configuration: DATABASE_URL ${JSON.stringify(withoutPassword(env[name]))} ` +
      'is not a database the service can use; write mysql://user:pass@host:3306/dbname ' +
      '(naming the database) or sqlite:path/to/file'
    )
  }

  if (name === 'REDIS_URL') {
    return (
      `invalid configuration: REDIS_URL ${JSON.stringify(withoutPassword(env[name]))} ` +
      'is not a Redis URL; write redis://[:pass@]host:6379 (rediss:// for TLS), or leave it ' +
      'empty to follow the database alone'
    )
  }

  const allowed = issue?.params?.allowedValues
  const rule = allowed ? `must be one of ${allowed.join(', ')}` : issue?.message
  // A secret is described, never echoed.
  const got = SECRET_VARIABLES.has(name)
    ? `a value of ${env[name]?.length ?? 0} characters`
    : JSON.stringify(env[name])

  return `invalid configuration: ${name} ${rule}; got ${got}`
}

/** A URL's password never reaches a log or a terminal. */
function withoutPassword(url: string | undefined): string | undefined {
  return url?.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, '$1***@')
}
