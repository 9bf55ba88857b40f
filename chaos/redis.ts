// A redis-server of the run's own, on a free loopback port and a scratch directory, for what
// must stop and restart Redis (the fan-out's reconnect test, the benchmark). A shared Redis
// is never touched; this one keeps nothing on disk and is stopped only through its PID.
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort } from './ports.js'
import { OwnedProcess } from './processes.js'

const START_TIMEOUT_MS = 10_000

export class PrivateRedis {
  private server: OwnedProcess | null = null

  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** True when a redis-server binary can be run here. */
  static installed(): boolean {
    const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 })

    return probe.status === 0
  }

  static async create(dir: string): Promise<PrivateRedis> {
    mkdirSync(dir, { recursive: true })
    const redis = new PrivateRedis(dir, await freePort())
    await redis.start()

    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.server?.running ?? false
  }

  /** Starts (again, on the same port) and waits until PING answers. */
  async start(): Promise<void> {
    if (this.running) throw new Error('the private Redis is already running')
    this.server = OwnedProcess.spawn(
      'redis-server',
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        // Nothing to keep: pub/sub holds no data.
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { logFile: join(this.dir, 'redis-server.log') },
    )
    const deadline = Date.now() + START_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server exited during start-up; see ${this.dir}`)
      if (await answers(this.url)) return
      await sleep(50)
    }
    throw new Error(`redis-server did not answer within ${START_TIMEOUT_MS} ms`)
  }

  /** Connections to this server other than the one asking; 0 when it does not answer. */
  async clientCount(): Promise<number> {
    return withClient(this.url, 0, async (client) => {
      const list = String(await client.client('LIST'))

      return list.split('\n').filter((line) => line.trim() !== '').length - 1
    })
  }

  /** SIGTERM by its PID; waits for the exit. */
  async stop(): Promise<void> {
    if (this.server?.running) await this.server.stop('SIGTERM', 5000)
  }
}

/** One short-lived connection: a single attempt, no reconnecting, `failed` if it fails. */
async function withClient<T>(url: string, failed: T, use: (client: Redis) => Promise<T>) {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => {})
  try {
    await client.connect()

    return await use(client)
  } catch {
    return failed
  } finally {
    client.disconnect()
  }
}

/** True when PING at `url` answers within a second. */
export function answers(url: string): Promise<boolean> {
  return withClient(url, false, async (client) => (await client.ping()) === 'PONG')
}

/** How many connections are subscribed to `channel` (PUBSUB NUMSUB); 0 when unreachable. */
export function subscriberCount(url: string, channel: string): Promise<number> {
  return withClient(url, 0, async (client) => {
    const reply = (await client.pubsub('NUMSUB', channel)) as [string, number]

    return Number(reply[1] ?? 0)
  })
}

/** Waits, bounded, until `count` connections (the instances) have subscribed to `channel`. */
export async function waitForSubscribers(
  url: string,
  channel: string,
  count: number,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const seen = await subscriberCount(url, channel)
    if (seen >= count) return
    if (Date.now() > deadline) {
      throw new Error(`${seen} of ${count} subscribers on ${channel} after ${timeoutMs} ms`)
    }
    await sleep(50)
  }
}
