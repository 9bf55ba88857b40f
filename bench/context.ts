// What every scenario is given: the store to run on, fresh databases, service processes
// (chaos/cluster.ts's ServiceInstance, stopped by PID), and the run's time scale.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ServiceInstance } from '../chaos/cluster.js'
import type { PrivateMariaDb } from '../chaos/mariadb.js'
import type { StoreKind } from './captured-sql.js'
import { HttpClient } from './load.js'

const ROOT = new URL('..', import.meta.url).pathname

export interface BenchOptions {
  store: 'mariadb' | 'sqlite'
  quick: boolean
  /** DB_POOL_SIZE of every service instance, and the floor's connections. */
  poolSize: number
  /** LOG_LEVEL of the service: its default, info, which logs each assignment and completion. */
  logLevel: string
}

export interface ServiceOptions {
  env?: Record<string, string>
  /** Node arguments before dist/server.js, e.g. --cpu-prof. */
  nodeArgs?: string[]
}

export class BenchContext {
  private readonly services: ServiceInstance[] = []
  /** The stored admin key of each database newDatabase made, by URL. */
  private readonly adminKeys = new Map<string, string>()

  constructor(
    readonly scratch: string,
    readonly options: BenchOptions,
    readonly mariadb: PrivateMariaDb | null,
    private readonly mariadbDir: string | null,
    readonly progress: (message: string) => void,
  ) {}

  get kind(): StoreKind {
    return this.options.store === 'mariadb' ? 'mysql' : 'sqlite'
  }

  get quick(): boolean {
    return this.options.quick
  }

  /** `full` in a full run, `quick` under --quick. */
  scale<T>(full: T, quick: T): T {
    return this.options.quick ? quick : full
  }

  /** The private mariadbd's PID, from the pid file chaos/mariadb.ts has it write. */
  mariadbPid(): number | null {
    if (!this.mariadbDir) return null
    const pid = Number(readFileSync(join(this.mariadbDir, 'mariadbd.pid'), 'utf8').trim())

    return Number.isInteger(pid) && pid > 0 ? pid : null
  }

  /**
   * An empty database of its own, migrated, with an admin key stored in it; its URL. A
   * stored key rather than ADMIN_API_KEY, because a deployment's clients hold stored keys
   * and each of their requests costs a key lookup, which the figures should include.
   */
  async newDatabase(name: string): Promise<string> {
    const url = this.mariadb
      ? await this.mariadb.createDatabase(`bench_${name}`)
      : `sqlite:${join(this.scratch, `${name}.sqlite`)}`
    runCli(['dist/cli/migrate.js'], url, `migrating ${url}`)
    const created = runCli(
      ['dist/cli/keys.js', 'create', '--role', 'admin', '--name', 'bench'],
      url,
      `creating a key in ${url}`,
    )
    // The CLI prints the key alone on its last line.
    const key = created.trim().split('\n').at(-1)?.trim() ?? ''
    if (!key.startsWith('qck_')) throw new Error(`the keys CLI printed no key for ${url}`)
    this.adminKeys.set(url, key)

    return url
  }

  /**
   * A client of `port` that sends the stored admin key of `databaseUrl`, the database behind
   * that port (for nginx, the one its instances share).
   */
  httpClient(port: number, databaseUrl: string, maxSockets: number): HttpClient {
    return new HttpClient(port, maxSockets, this.authorization(databaseUrl))
  }

  /** The Authorization header with the stored admin key of `databaseUrl`. */
  authorization(databaseUrl: string): string {
    const key = this.adminKeys.get(databaseUrl)
    if (!key) throw new Error(`no admin key for ${databaseUrl}: it was not made by newDatabase`)

    return `Bearer ${key}`
  }

  /** sqlite:<path> -> <path>. */
  sqlitePath(url: string): string {
    return url.slice('sqlite:'.length)
  }

  /** One service process on a free loopback port, healthy before this resolves. */
  async startService(
    name: string,
    databaseUrl: string,
    options: ServiceOptions = {},
  ): Promise<ServiceInstance> {
    const instance = await ServiceInstance.start({
      name,
      dir: join(this.scratch, 'logs'),
      databaseUrl,
      entry: [...(options.nodeArgs ?? []), 'dist/server.js'],
      env: {
        DB_POOL_SIZE: String(this.options.poolSize),
        LOG_LEVEL: this.options.logLevel,
        SWEEP_INTERVAL_MS: '5000',
        ...options.env,
      },
    })
    this.services.push(instance)

    return instance
  }

  /** SIGTERM by PID, then SIGKILL after the service's own drain time. */
  async stopService(instance: ServiceInstance): Promise<void> {
    if (instance.running) await instance.terminate()
  }

  async stopAllServices(): Promise<void> {
    for (const instance of this.services) {
      await this.stopService(instance).catch((error: Error) =>
        this.progress(`stopping ${instance.name}: ${error.message}`),
      )
    }
  }

  /** PID groups for a CpuMeter: the services given, and the database server if private. */
  cpuGroups(services: Record<string, ServiceInstance[]>): Map<string, () => number[]> {
    const groups = new Map<string, () => number[]>()
    for (const [name, instances] of Object.entries(services)) {
      groups.set(name, () => instances.flatMap((i) => (i.pid ? [i.pid] : [])))
    }
    const mariadb = this.mariadbPid()
    if (mariadb) groups.set('mariadbd', () => [mariadb])

    return groups
  }
}

/** One of the service's command-line tools on `url`; its stdout. */
function runCli(args: string[], url: string, what: string): string {
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (result.status !== 0) {
    throw new Error(`${what} failed: ${result.stderr || result.error?.message}`)
  }

  return result.stdout
}
