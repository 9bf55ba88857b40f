import type { Server } from 'node:http'
import { Server as NetServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import closeWithGrace from 'close-with-grace'
import type { FastifyBaseLogger } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { Store } from './store/store.js'

async function main(): Promise<void> {
  const config = loadConfig()
  let retries: ((reason: string) => void) | undefined
  const store = Store.open(
    {
      url: config.databaseUrl,
      poolSize: config.dbPoolSize,
      lockWaitTimeoutS: config.dbLockWaitTimeoutS,
    },
    { onRetry: (reason) => retries?.(reason) },
  )
  const app = await buildApp({ config, store })
  const { server } = app
  retries = (reason) => app.metrics.transactionRetries.inc({ reason })

  // Signals are handled from here on, so one that arrives during the migrations waits for
  // them: MySQL cannot roll back DDL, and an interrupted migration would leave half a schema.
  let stopping = false
  const migration = migrateWhenReachable(
    store,
    config.dbStartupTimeoutS,
    server.log,
    () => stopping,
  )
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    stopping = true
    if (err) server.log.error({ err }, 'stopping after an unhandled error')
    else server.log.info({ signal }, 'stopping: draining requests')
    await migration.catch(() => {})
    await stopAccepting(server.server)
    await server.close()
  })

  const { applied } = await migration
  server.log.info({ store: store.dialect.safeUrl, applied }, 'schema is current')
  if (stopping) return

  await server.listen({ host: config.host, port: config.port })
}

/**
 * An instance restarted while the database is down (after a crash, say) waits for it rather
 * than exiting, so it heals like the running ones do; only an unreachable database is waited
 * for, and only so long.
 */
async function migrateWhenReachable(
  store: Store,
  timeoutS: number,
  log: FastifyBaseLogger,
  isStopping: () => boolean,
) {
  const deadline = Date.now() + timeoutS * 1000
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.migrate()
    } catch (error) {
      const waitable = store.classifyFailure(error) === 'unavailable'
      if (!waitable || Date.now() >= deadline || isStopping()) throw error
      log.warn({ err: error, attempt }, 'the database is not reachable yet; waiting for it')
      await sleep(Math.min(5000, 500 * attempt))
    }
  }
}

/** How long connections accepted before the listener closed get to deliver their request. */
const SETTLE_MS = 300

/**
 * Closes the listening socket first and leaves the connections already accepted alone for a
 * moment. http.Server#close (and so Fastify's close) also closes every connection that has no
 * request in progress, which includes one just accepted whose request is in its socket but
 * not yet read: that client (nginx, typically) has sent its request and gets a reset, and
 * nginx answers a POST with 502 rather than trying another instance. Refused connections,
 * by contrast, are retried elsewhere. After the pause such requests are in progress, and the
 * close that follows lets them finish.
 */
async function stopAccepting(http: Server): Promise<void> {
  if (!http.listening) return
  // net.Server's own close: stop accepting, close no connection (Fastify's close, later,
  // closes the idle ones and takes the server's already-stopped state in its stride).
  NetServer.prototype.close.call(http)
  await sleep(SETTLE_MS)
}

main().catch((error: unknown) => {
  // One line an operator can act on; the stack only when asked for with LOG_LEVEL=debug.
  console.error(`qc-assign: could not start: ${describeStartupError(error)}`)
  if (/^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '')) console.error(error)
  process.exit(1)
})

function describeStartupError(error: unknown): string {
  if (error instanceof ConfigError) return error.message
  const { code, message } = error as { code?: string; message?: string }
  if (code === 'EADDRINUSE') {
    return `the address is already in use (${message}); stop the other process or set PORT`
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return `cannot listen on HOST (${message}); set HOST to an address of this machine`
  }

  return `${message ?? String(error)} (check DATABASE_URL and that the database is running)`
}
