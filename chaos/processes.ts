// Every process the chaos run starts, owned by PID. Nothing here looks processes up by name:
// a child is signalled through the PID spawn() gave us, and only while it still runs.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** stdout and stderr are appended to this file, written by the child directly. */
  logFile: string
}

const owned = new Set<OwnedProcess>()

/** One child process, its output in a file, stopped only through its own PID. */
export class OwnedProcess {
  readonly exited: Promise<ExitStatus>
  private status: ExitStatus | null = null

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.status = { code: code as number | null, signal: signal as NodeJS.Signals | null }
      owned.delete(this)

      return this.status
    })
  }

  static spawn(name: string, command: string, args: string[], options: SpawnOptions) {
    mkdirSync(dirname(options.logFile), { recursive: true })
    const fd = openSync(options.logFile, 'a')
    try {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        // A group of its own: Ctrl-C in the terminal reaches the runner, which then stops
        // each child itself, in order, instead of every child at once.
        detached: true,
      })
      const ownedChild = new OwnedProcess(name, child)
      owned.add(ownedChild)
      child.on('error', () => {
        // Reported through `exited` (spawn failures also emit 'exit' with a null code).
      })

      return ownedChild
    } finally {
      closeSync(fd)
    }
  }

  get pid(): number {
    const { pid } = this.child
    if (pid === undefined) throw new Error(`${this.name} has no PID: it did not start`)

    return pid
  }

  get running(): boolean {
    return this.status === null && this.child.exitCode === null && this.child.signalCode === null
  }

  get exitStatus(): ExitStatus | null {
    return this.status
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return
    try {
      process.kill(this.child.pid, signal)
    } catch (error) {
      // ESRCH: it exited between the check and the signal.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
    }
  }

  /** Waits at most `ms` for the exit; null when it still runs. */
  async waitForExit(ms: number): Promise<ExitStatus | null> {
    if (!this.running) return this.exited

    return Promise.race([this.exited, sleep(ms, null, { ref: false })])
  }

  /** `signal` first; SIGKILL if it is still running after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ExitStatus> {
    if (!this.running) return this.exited
    this.signal(signal)
    const status = await this.waitForExit(graceMs)
    if (status) return status
    this.signal('SIGKILL')
    const killed = await this.waitForExit(5000)
    if (!killed) throw new Error(`${this.name} (PID ${this.child.pid}) survived SIGKILL for 5 s`)

    return killed
  }
}

/** Every child still running, for the last-resort cleanup. */
export function runningChildren(): OwnedProcess[] {
  return [...owned].filter((child) => child.running)
}

/** Synchronous, for process 'exit': SIGKILL to every child this run started and still owns. */
export function killAllOwnedNow(): void {
  for (const child of runningChildren()) child.signal('SIGKILL')
}
