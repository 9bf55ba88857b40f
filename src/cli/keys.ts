import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config.js'
import { ApiKeys } from '../domain/access/api-keys.js'
import { KEY_ROLES, type KeyRole } from '../domain/access/roles.js'
import { DomainError } from '../domain/errors.js'
import { openStore } from './open-store.js'

const USAGE = `usage: npm run keys -- <command>
  create --role <${KEY_ROLES.join('|')}> --name <name>   prints the new key, once
  list                                                   every key, never the secrets
  revoke <id>                                            the key stops working at once

Works on the database in DATABASE_URL (default: the embedded SQLite file), so whoever can
run it on the service's machine can make the first admin key.`

/** Whoever runs this command holds the database itself; the trail names them so. */
const CLI_ACTOR = 'cli'

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string' }, name: { type: 'string' } },
  })
  const [command, argument] = positionals
  if (!command || !['create', 'list', 'revoke'].includes(command)) {
    console.error(USAGE)
    return 2
  }

  const config = loadConfig()
  const store = openStore(config)
  try {
    await store.migrate()
    const keys = new ApiKeys(store)
    if (command === 'create') {
      if (!values.name || !values.role) {
        console.error(USAGE)
        return 2
      }
      const key = await keys.create(values.name, values.role as KeyRole, CLI_ACTOR)
      console.log(`created key ${key.id} "${key.name}" (${key.role}). It is shown only now:`)
      console.log(key.key)
    } else if (command === 'list') {
      for (const key of await keys.list()) {
        const state = key.revoked_at ? `revoked ${key.revoked_at}` : 'live'
        console.log(`${key.id}\t${key.name}\t${key.role}\t${key.created_at}\t${state}`)
      }
    } else {
      const id = Number(argument)
      if (!Number.isInteger(id) || id < 1) {
        console.error(USAGE)
        return 2
      }
      const key = await keys.revoke(id, CLI_ACTOR)
      console.log(`key ${key.id} "${key.name}" is revoked (since ${key.revoked_at}).`)
    }

    return 0
  } finally {
    await store.close()
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof DomainError
    console.error(`qc-assign keys: ${known ? (error as Error).message : String(error)}`)
    process.exit(1)
  },
)
