import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe } from 'node:test'
import { createConnection } from 'mysql2/promise'
import { type App, buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { Store } from '../../src/store/store.js'
import { ADMIN_AUTH, TEST_ADMIN_KEY } from './credentials.js'

export { ADMIN_AUTH, TEST_ADMIN_KEY }

export const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
const ON_CI = process.env.CI === 'true'

async function mysqlReachable(): Promise<boolean> {
  try {
    const connection = await createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 2000 })
    await connection.end()

    return true
  } catch (error) {
    if (ON_CI) {
      throw new Error(`CI=true but MariaDB at ${MYSQL_ADMIN_URL} is unreachable`, { cause: error })
    }

    return false
  }
}

/** Why the MariaDB half is skipped, or false when it runs. */
export const MARIADB_SKIP = (await mysqlReachable())
  ? false
  : `no MariaDB at ${MYSQL_ADMIN_URL}; start one or set TEST_MYSQL_URL to run this half`

export type StoreName = 'sqlite' | 'mariadb'

/** A database of its own for one test file and one store, removed at the end. */
export class TestDatabase {
  readonly url: string
  private readonly cleanup: () => Promise<void>

  private constructor(url: string, cleanup: () => Promise<void>) {
    this.url = url
    this.cleanup = cleanup
  }

  static async create(kind: StoreName): Promise<TestDatabase> {
    if (kind === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'qc-assign-test-'))

      return new TestDatabase(`sqlite:${join(dir, 'qc.sqlite')}`, async () =>
        rmSync(dir, { recursive: true, force: true }),
      )
    }
    const name = `qc_test_${process.pid}_${randomBytes(4).toString('hex')}`
    const admin = await createConnection({ uri: MYSQL_ADMIN_URL })
    await admin.query(`create database ${name} character set utf8mb4`)
    await admin.end()
    const url = new URL(MYSQL_ADMIN_URL)
    url.pathname = `/${name}`

    return new TestDatabase(url.toString(), async () => {
      const connection = await createConnection({ uri: MYSQL_ADMIN_URL })
      await connection.query(`drop database if exists ${name}`)
      await connection.end()
    })
  }

  drop(): Promise<void> {
    return this.cleanup()
  }
}

export interface Reply<T = unknown> {
  status: number
  body: T
  headers: Record<string, string | string[] | number | undefined>
  contentType: string
}

/** One running service (no network listener) over a test database. */
export class TestService {
  constructor(
    readonly app: App,
    readonly store: Store,
  ) {}

  static async start(
    url: string,
    env: Record<string, string> = {},
    clock?: () => Date,
  ): Promise<TestService> {
    const config = loadConfig({
      DATABASE_URL: url,
      LOG_LEVEL: 'silent',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ...env,
    })
    const store = Store.open({ url, poolSize: 8, lockWaitTimeoutS: config.dbLockWaitTimeoutS })
    await store.migrate()
    const app = await buildApp({ config, store, startSweeper: false, logger: false, clock })
    await app.server.ready()

    return new TestService(app, store)
  }

  /**
   * One request, as the test admin unless `headers` carries its own authorization; an empty
   * authorization sends none at all.
   */
  async request<T = any>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const payload = body === undefined || typeof body === 'string' ? body : JSON.stringify(body)
    const sent: Record<string, string> = { ...ADMIN_AUTH, ...headers }
    if (sent.authorization === '') delete sent.authorization
    if (body !== undefined && typeof body !== 'string') {
      sent['content-type'] ??= 'application/json'
    }
    const response = await this.app.server.inject({ method, url, payload, headers: sent })
    const contentType = String(response.headers['content-type'] ?? '')
    const parsed =
      contentType.includes('json') && response.body !== '' ? response.json() : response.body

    return {
      status: response.statusCode,
      body: parsed as T,
      headers: response.headers,
      contentType,
    }
  }

  get<T = any>(url: string, headers?: Record<string, string>) {
    return this.request<T>('GET', url, undefined, headers)
  }

  post<T = any>(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', url, body, headers)
  }

  /** Every row of every table, to show that a refused request changed nothing. */
  async snapshot() {
    const db = this.store.db

    return {
      persons: await db.selectFrom('qc_person').selectAll().orderBy('id').execute(),
      tasks: await db.selectFrom('qc_task').selectAll().orderBy('id').execute(),
      assignments: await db.selectFrom('assignment').selectAll().orderBy('id').execute(),
      idempotencyKeys: await db
        .selectFrom('idempotency_key')
        .selectAll()
        .orderBy('key_value')
        .execute(),
    }
  }

  async reset(): Promise<void> {
    const db = this.store.db
    await db.deleteFrom('idempotency_key').execute()
    await db.deleteFrom('qc_event').execute()
    await db.deleteFrom('sign_in_throttle').execute()
    await db.deleteFrom('inspector_session').execute()
    await db.deleteFrom('api_key').execute()
    await db.deleteFrom('assignment').execute()
    await db.deleteFrom('qc_task').execute()
    await db.deleteFrom('qc_person').execute()
  }

  stop(): Promise<void> {
    return this.app.server.close()
  }
}

export interface StoreSuite {
  readonly kind: StoreName
  /** The service under test; a fresh, empty database before each test. */
  readonly service: TestService
  readonly databaseUrl: string
}

/**
 * Declares the same suite once per store: SQLite always, MariaDB when reachable. Each file
 * gets databases of its own, emptied before every test, so files can run side by side.
 */
export function forEachStore(
  title: string,
  suite: (context: StoreSuite) => void,
  options: { env?: Record<string, string>; stores?: StoreName[] } = {},
): void {
  for (const kind of options.stores ?? (['sqlite', 'mariadb'] as const)) {
    describe(`${title} (${kind})`, { skip: kind === 'mariadb' ? MARIADB_SKIP : false }, () => {
      let database: TestDatabase | undefined
      let service: TestService | undefined
      const context: StoreSuite = {
        kind,
        get service() {
          if (!service) throw new Error('the service starts in before()')
          return service
        },
        get databaseUrl() {
          if (!database) throw new Error('the database is made in before()')
          return database.url
        },
      }

      before(async () => {
        database = await TestDatabase.create(kind)
        service = await TestService.start(database.url, options.env)
      })
      beforeEach(async () => service?.reset())
      after(async () => {
        await service?.stop()
        await database?.drop()
      })

      suite(context)
    })
  }
}
