import type { Config } from '../config.js'
import { Store } from '../store/store.js'

/** One connection to the configured database: all a one-shot command needs. */
export function openStore(config: Config): Store {
  return Store.open({
    url: config.databaseUrl,
    poolSize: 1,
    lockWaitTimeoutS: config.dbLockWaitTimeoutS,
  })
}
