// What every runner here (npm run chaos, npm run bench) needs to end on time and clean.

/** A piece of work ran past its time limit. */
export class Overrun extends Error {
  override name = 'Overrun'
}

/** `work`, or an Overrun once `ms` have passed, whichever comes first. */
export function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Overrun(`${what} ran over ${ms / 1000} s`)), ms)
  })

  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** Ctrl-C or SIGTERM: run `cleanup` (stop every child by PID) once, then exit 130. */
export function stopOnSignal(
  cleanup: () => Promise<void>,
  progress: (message: string) => void,
): void {
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    progress(`${signal}: stopping every process this run started`)
    void cleanup().finally(() => process.exit(130))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
