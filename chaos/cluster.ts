// Service instances as child processes on loopback ports of their own, optionally behind
// nginx. Each instance writes its log to a file the checks read afterwards.
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CONFIG_VARIABLES } from '../src/config.js'
import { HARNESS_ADMIN_KEY } from './credentials.js'
import { type Endpoint, endpoint } from './http.js'
import { Nginx } from './nginx.js'
import { freePort } from './ports.js'
import { type ExitStatus, OwnedProcess } from './processes.js'

const ROOT = new URL('..', import.meta.url).pathname
const STARTUP_TIMEOUT_MS = 20_000

export interface InstanceOptions {
  name: string
  /** Where the log file goes. */
  dir: string
  databaseUrl: string
  /** Over the defaults, ADMIN_API_KEY (chaos/credentials.ts) among them. */
  env?: Record<string, string>
  /** Node arguments that start the service; the built one by default. */
  entry?: string[]
}

export class ServiceInstance {
  private process: OwnedProcess | null = null
  /** Every exit this instance has had, in order, with the moment it was seen. */
  readonly exits: (ExitStatus & { at: number })[] = []

  private constructor(
    private readonly options: InstanceOptions,
    readonly port: number,
  ) {}

  static async start(options: InstanceOptions): Promise<ServiceInstance> {
    const instance = new ServiceInstance(options, await freePort())
    await instance.launch()

    return instance
  }

  get name(): string {
    return this.options.name
  }

  get logFile(): string {
    return join(this.options.dir, `${this.options.name}.log`)
  }

  get running(): boolean {
    return this.process?.running ?? false
  }

  get pid(): number | undefined {
    return this.process?.pid
  }

  endpoint(keepAlive = true): Endpoint {
    return endpoint(this.name, this.port, keepAlive)
  }

  /** Starts the process (again, on the same port) and waits until /healthz answers. */
  async launch(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`)
    const env: NodeJS.ProcessEnv = { ...process.env }
    // The runner's own settings must not leak into a child.
    for (const name of CONFIG_VARIABLES) delete env[name]
    const child = OwnedProcess.spawn(
      this.name,
      process.execPath,
      this.options.entry ?? ['dist/server.js'],
      {
        cwd: ROOT,
        logFile: this.logFile,
        env: {
          ...env,
          HOST: '127.0.0.1',
          PORT: String(this.port),
          DATABASE_URL: this.options.databaseUrl,
          SWEEP_INTERVAL_MS: '1000',
          LOG_LEVEL: 'debug',
          ADMIN_API_KEY: HARNESS_ADMIN_KEY,
          ...this.options.env,
        },
      },
    )
    this.process = child
    void child.exited.then((status) => this.exits.push({ ...status, at: Date.now() }))
    try {
      await this.waitUntilHealthy(child)
    } catch (error) {
      await child.stop('SIGKILL', 0)
      throw error
    }
  }

  /** kill -9, by PID; resolves once the process is gone. */
  async kill(): Promise<ExitStatus> {
    return this.stopWith('SIGKILL', 5000)
  }

  /** SIGTERM, by PID; the service drains for at most 10 s, so allow 15 before SIGKILL. */
  async terminate(): Promise<ExitStatus> {
    return this.stopWith('SIGTERM', 15_000)
  }

  private async stopWith(signal: NodeJS.Signals, graceMs: number): Promise<ExitStatus> {
    const child = this.process
    if (!child) throw new Error(`${this.name} never started`)

    return child.stop(signal, graceMs)
  }

  private async waitUntilHealthy(child: OwnedProcess): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (!child.running) {
        throw new Error(`${this.name} exited before it was healthy; see ${this.logFile}`)
      }
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/healthz`, {
          signal: AbortSignal.timeout(1000),
        })
        if (response.ok) return
      } catch {
        // Not listening yet.
      }
      await sleep(50)
    }
    throw new Error(`${this.name} was not healthy within ${STARTUP_TIMEOUT_MS} ms`)
  }
}

export interface ClusterOptions {
  dir: string
  databaseUrl: string
  size: number
  /** Put nginx in front; clients then talk to it alone. */
  proxy: boolean
  env?: Record<string, string>
  entry?: string[]
}

/** Instances sharing one database, and nginx in front of them when asked. */
export class Cluster {
  private constructor(
    readonly instances: ServiceInstance[],
    readonly nginx: Nginx | null,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    const instances: ServiceInstance[] = []
    const cluster = new Cluster(instances, null)
    try {
      const start = (i: number) =>
        ServiceInstance.start({
          name: `instance-${i}`,
          dir: options.dir,
          databaseUrl: options.databaseUrl,
          env: options.env,
          entry: options.entry,
        }).then((instance) => {
          instances.push(instance)
        })
      // The first applies the migrations alone; the others then start together.
      await start(1)
      const others = Array.from({ length: options.size - 1 }, (_, i) => start(i + 2))
      const failed = (await Promise.allSettled(others)).find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
      instances.sort((a, b) => a.name.localeCompare(b.name))
      if (!options.proxy) return cluster
      const ports = instances.map((instance) => instance.port)

      return new Cluster(instances, await Nginx.start(join(options.dir, 'nginx'), ports))
    } catch (error) {
      await cluster.stop()
      throw error
    }
  }

  /** Where clients send requests: nginx if there is one, else every instance. */
  endpoints(): Endpoint[] {
    if (this.nginx) return [endpoint('nginx', this.nginx.port)]

    return this.instances.map((instance) => instance.endpoint())
  }

  instance(index: number): ServiceInstance {
    const instance = this.instances[index]
    if (!instance) throw new Error(`no instance ${index}`)

    return instance
  }

  /** Which instance an nginx $upstream_addr names. */
  instanceAt(upstream: string | null): ServiceInstance | undefined {
    const port = Number(upstream?.split(', ').at(-1)?.split(':').at(-1))

    return this.instances.find((instance) => instance.port === port)
  }

  /** nginx first, so no request reaches an instance that is going away; then each instance. */
  async stop(): Promise<void> {
    const failures: unknown[] = []
    await this.nginx?.stop().catch((error: unknown) => failures.push(error))
    for (const instance of this.instances) {
      if (instance.running) await instance.terminate().catch((error) => failures.push(error))
    }
    if (failures.length > 0) throw new AggregateError(failures, 'the cluster did not stop cleanly')
  }
}
