import closeWithGrace from 'close-with-grace'
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

  const { applied } = await store.migrate()
  server.log.info({ store: store.dialect.safeUrl, applied }, 'schema is current')

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) server.log.error({ err }, 'stopping after an unhandled error')
    else server.log.info({ signal }, 'stopping: draining requests')
    await server.close()
  })

  await server.listen({ host: config.host, port: config.port })
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`qc-assign: ${error.message}`)
  } else {
    console.error('qc-assign: could not start:', error)
  }
  process.exit(1)
})
