import { ConfigError, loadConfig } from '../config.js'
import { openStore } from './open-store.js'

/** `npm run migrate`: brings the schema up to date and exits. */
async function main(): Promise<void> {
  const config = loadConfig()
  const store = openStore(config)
  try {
    const { applied } = await store.migrate()
    const what = applied.length > 0 ? `applied ${applied.join(', ')}` : 'nothing to apply'
    console.log(`qc-assign: ${store.dialect.safeUrl}: ${what}; the schema is current.`)
  } finally {
    await store.close()
  }
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : String(error)
  console.error(`qc-assign: migration failed: ${message}`)
  process.exit(1)
})
