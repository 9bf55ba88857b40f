// A MariaDB server of the run's own, on a temporary data directory and a free loopback port.
// The machine's shared server (3306) is never touched: no option file is read (--no-defaults),
// and this server is stopped and started only through the PID this run spawned.
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createConnection } from 'mysql2/promise'
import { freePort } from './ports.js'
import { OwnedProcess } from './processes.js'

const INSTALL_TIMEOUT_MS = 60_000
const START_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 30_000

export class PrivateMariaDb {
  private server: OwnedProcess | null = null

  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** Initialises a data directory under `dir` and starts the server on it. */
  static async create(dir: string): Promise<PrivateMariaDb> {
    const dataDir = join(dir, 'data')
    mkdirSync(dir, { recursive: true })
    const install = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--user=root',
      ],
      { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS },
    )
    if (install.error || install.status !== 0) {
      const why = install.error?.message ?? install.stderr.trim().split('\n').slice(-3).join(' ')
      throw new Error(`mariadb-install-db failed (exit ${install.status}): ${why}`)
    }
    const database = new PrivateMariaDb(dir, await freePort())
    await database.start()

    return database
  }

  get running(): boolean {
    return this.server?.running ?? false
  }

  get errorLog(): string {
    return join(this.dir, 'mariadb.err')
  }

  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`
  }

  /** Starts mariadbd on the data directory and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.running) throw new Error('the private MariaDB is already running')
    this.server = OwnedProcess.spawn(
      'mariadbd',
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.dir, 'mysql.sock')}`,
        `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
        `--log-error=${this.errorLog}`,
        '--user=root',
        '--skip-name-resolve',
        '--max-connections=400',
      ],
      { logFile: join(this.dir, 'mariadbd.out') },
    )
    await this.waitUntilAnswering()
  }

  /** Stops the server by its PID (SIGTERM: a clean shutdown) and waits for it to exit. */
  async stop(): Promise<void> {
    const server = this.server
    if (!server?.running) return
    await server.stop('SIGTERM', STOP_GRACE_MS)
  }

  /** kill -9 by its PID: a crash; the next start runs InnoDB's crash recovery. */
  async kill(): Promise<void> {
    const server = this.server
    if (!server?.running) return
    await server.stop('SIGKILL', 10_000)
  }

  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsafe database name ${name}`)
    const connection = await createConnection({ uri: this.url('mysql'), connectTimeout: 5000 })
    try {
      await connection.query(`create database ${name} character set utf8mb4`)
    } finally {
      await connection.end()
    }

    return this.url(name)
  }

  /** True when a connection opens and answers within a second. */
  async answers(): Promise<boolean> {
    try {
      const connection = await createConnection({ uri: this.url('mysql'), connectTimeout: 1000 })
      await connection.query('select 1')
      await connection.end()

      return true
    } catch {
      return false
    }
  }

  private async waitUntilAnswering(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`mariadbd exited during start-up; see ${this.errorLog}`)
      }
      if (await this.answers()) return
      await sleep(50)
    }
    throw new Error(`mariadbd did not accept connections within ${START_TIMEOUT_MS} ms`)
  }
}
