// The real service as a child process, for the tests that need a port, signals and exit codes.
// Every wait here is bounded, and a child is only ever stopped by its own PID.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from '../../chaos/ports.js'
import { CONFIG_VARIABLES } from '../../src/config.js'
import { TEST_ADMIN_KEY } from './credentials.js'

const ROOT = new URL('../..', import.meta.url).pathname
export const STARTUP_TIMEOUT_MS = 15_000

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env }
  // node --test marks its children with this; a child that is not a test file must not see it.
  delete base.NODE_TEST_CONTEXT
  // The runner's own settings must not leak into a child.
  for (const name of CONFIG_VARIABLES) delete base[name]

  return { ...base, ...env }
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A port nobody listened on a moment ago. */

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })

  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** One `node --import tsx <script>` child with its output collected. */
export class NodeProcess {
  private out = ''
  private err = ''
  readonly exited: Promise<Exit>

  private constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.out += chunk
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.err += chunk
    })
    // 'close' rather than 'exit': by then both pipes are drained.
    this.exited = once(child, 'close').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout: this.out,
      stderr: this.err,
    }))
  }

  static start(
    script: string,
    env: Record<string, string>,
    cwd = ROOT,
    args: string[] = [],
  ): NodeProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}${script}`, ...args], {
      cwd,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })

    return new NodeProcess(child)
  }

  get stdout(): string {
    return this.out
  }

  get stderr(): string {
    return this.err
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  signal(signal: NodeJS.Signals): void {
    const { pid } = this.child
    if (pid !== undefined && this.running) process.kill(pid, signal)
  }

  /** Waits for the exit, bounded; the caller still has to stop() in its cleanup. */
  waitForExit(ms = STARTUP_TIMEOUT_MS): Promise<Exit> {
    return withTimeout(this.exited, ms, `the exit of ${this.child.spawnargs.join(' ')}`)
  }

  /** Kills the child by its PID if it still runs; safe to call twice. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.signal('SIGKILL')
    await withTimeout(this.exited, 5000, 'a killed child to go away')
  }
}

/** Runs a script to its end: for settings that are refused and for the migrate command. */
export async function runToExit(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<Exit> {
  const child = NodeProcess.start(script, env, ROOT, args)
  try {
    return await child.waitForExit()
  } finally {
    await child.stop()
  }
}

/** The real server on 127.0.0.1 and a port of its own. */
export class ServiceProcess {
  private constructor(
    readonly node: NodeProcess,
    readonly port: number,
  ) {}

  static async start(env: Record<string, string>): Promise<ServiceProcess> {
    const { service, healthy } = await ServiceProcess.launch(env)
    await healthy

    return service
  }

  /**
   * Starts the process without waiting for it to serve, for tests that act while it starts;
   * `healthy` settles once it serves (and stops the child if it never does).
   */
  static async launch(
    env: Record<string, string>,
  ): Promise<{ service: ServiceProcess; healthy: Promise<void> }> {
    const port = await freePort()
    const child = NodeProcess.start('src/server.ts', {
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ...env,
    })
    const service = new ServiceProcess(child, port)
    const healthy = service.waitUntilHealthy().catch(async (error: unknown) => {
      await child.stop()
      throw error
    })
    // Whoever awaits it sees the failure; until then it must not count as unhandled.
    healthy.catch(() => {})

    return { service, healthy }
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`
  }

  private async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (!this.node.running) {
        const { code, stderr } = await this.node.exited
        throw new Error(`the service exited with ${code} before it was healthy:\n${stderr}`)
      }
      try {
        const response = await fetch(`${this.baseUrl}/healthz`, {
          signal: AbortSignal.timeout(1000),
        })
        if (response.ok) return
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }

    throw new Error(
      `GET /healthz did not answer within ${STARTUP_TIMEOUT_MS} ms;\n` +
        `stdout:\n${this.node.stdout}\nstderr:\n${this.node.stderr}`,
    )
  }

  stop(): Promise<void> {
    return this.node.stop()
  }
}

export { freePort }
