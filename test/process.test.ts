// The service as an operator meets it: exit codes, stderr, signals, files on disk, and the
// migrate command. Each test runs a real child process on a SQLite file of its own.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createConnection as connectTcp, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ADMIN_AUTH } from './support/credentials.js'
import {
  freePort,
  runToExit,
  ServiceProcess,
  STARTUP_TIMEOUT_MS,
} from './support/service-process.js'
import { MARIADB_SKIP, TestDatabase } from './support/stores.js'

let scratch = ''
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'qc-assign-process-'))
})
after(() => rmSync(scratch, { recursive: true, force: true }))

const sqliteUrl = (name: string) => `sqlite:${join(scratch, name)}`

/** pino's lines on stdout, parsed; anything else on stdout fails the test. */
const logLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { level: number; msg: string; signal?: string })

describe('a wrong setting', { timeout: 60_000 }, () => {
  const cases = [
    { name: 'SWEEP_INTERVAL_MS', value: 'abc' },
    { name: 'PORT', value: '99999' },
    { name: 'DATABASE_URL', value: 'postgres://x' },
    { name: 'DATABASE_URL', value: 'mysql://root@127.0.0.1:3306' },
    { name: 'LOG_LEVEL', value: 'INFO' },
  ]

  for (const { name, value } of cases) {
    test(`${name}=${value} stops the service: exit 1, one stderr line naming it`, async () => {
      const exit = await runToExit('src/server.ts', {
        DATABASE_URL: sqliteUrl(`refused-${name}.sqlite`),
        [name]: value,
      })

      assert.equal(exit.code, 1, exit.stderr)
      const lines = exit.stderr.split('\n').filter((line) => line !== '')
      assert.equal(lines.length, 1, `expected one line on stderr, got:\n${exit.stderr}`)
      assert.ok(lines[0]?.includes(name), `stderr does not name ${name}: ${exit.stderr}`)
      assert.ok(lines[0]?.includes(value), `stderr does not quote ${value}: ${exit.stderr}`)
      assert.doesNotMatch(exit.stderr, /^\s+at /m, 'stderr holds a stack trace')
      assert.equal(exit.stdout, '')
    })
  }

  test('a refused DATABASE_URL is quoted without its password', async () => {
    const exit = await runToExit('src/server.ts', {
      DATABASE_URL: 'mysql://root:hunter2@127.0.0.1:3306',
    })

    assert.equal(exit.code, 1)
    assert.doesNotMatch(exit.stderr, /hunter2/)
    assert.match(exit.stderr, /mysql:\/\/root:\*\*\*@127\.0\.0\.1:3306/)
  })

  test('an unreachable database stops the start with one line saying what to check', async () => {
    const exit = await runToExit('src/server.ts', {
      DATABASE_URL: 'mysql://root@127.0.0.1:1/qc',
      DB_STARTUP_TIMEOUT_S: '0',
    })

    assert.equal(exit.code, 1)
    const lines = exit.stderr.split('\n').filter((line) => line !== '')
    assert.equal(lines.length, 1, exit.stderr)
    assert.match(lines[0] ?? '', /could not start: .*ECONNREFUSED.*check DATABASE_URL/)
  })

  test('a refused setting leaves no database file behind', async () => {
    const exit = await runToExit('src/server.ts', {
      DATABASE_URL: sqliteUrl('never.sqlite'),
      PORT: '99999',
    })

    assert.equal(exit.code, 1)
    assert.equal(existsSync(join(scratch, 'never.sqlite')), false)
  })
})

describe('a running service', { timeout: 60_000 }, () => {
  const started: ServiceProcess[] = []
  const start = async (env: Record<string, string>) => {
    const service = await ServiceProcess.start(env)
    started.push(service)

    return service
  }
  after(async () => {
    for (const service of started) await service.stop()
  })

  test('creates its SQLite file and the missing directories above it on start', async () => {
    const file = join(scratch, 'new', 'dir', 'qc.sqlite')
    assert.equal(existsSync(join(scratch, 'new')), false)

    const service = await start({ DATABASE_URL: `sqlite:${file}` })

    assert.equal(existsSync(file), true)
    const ready = await fetch(`${service.baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) })
    assert.equal(ready.status, 200)
  })

  test('SIGTERM while idle logs that it is stopping and exits 0 within 5 s', async () => {
    const service = await start({
      DATABASE_URL: sqliteUrl('sigterm.sqlite'),
      LOG_LEVEL: 'info',
    })

    service.node.signal('SIGTERM')
    const exit = await service.node.waitForExit(5000)

    assert.equal(exit.code, 0, exit.stderr)
    assert.equal(exit.signal, null)
    const stopping = logLines(exit.stdout).find((line) => line.msg.startsWith('stopping'))
    assert.ok(stopping, `no "stopping" line in the log:\n${exit.stdout}`)
    assert.equal(stopping.signal, 'SIGTERM')
  })

  test('a clean start and stop write nothing on stderr', async () => {
    const service = await start({ DATABASE_URL: sqliteUrl('quiet.sqlite') })

    service.node.signal('SIGTERM')
    const exit = await service.node.waitForExit(5000)

    assert.equal(exit.code, 0)
    // An operator's alerting often watches stderr; warnings there should need a person.
    assert.equal(exit.stderr, '')
  })
})

describe('the migrate command', { timeout: 60_000 }, () => {
  const migrate = (url: string) => runToExit('src/cli/migrate.ts', { DATABASE_URL: url })

  test('on a fresh SQLite file applies the schema, says it is current and exits 0', async () => {
    const exit = await migrate(sqliteUrl('migrate-once.sqlite'))

    assert.equal(exit.code, 0, exit.stderr)
    assert.match(exit.stdout, /applied 0001-initial-schema/)
    assert.match(exit.stdout, /the schema is current/)
    assert.equal(exit.stderr, '')
  })

  test('run a second time has nothing to apply and exits 0', async () => {
    const url = sqliteUrl('migrate-twice.sqlite')
    assert.equal((await migrate(url)).code, 0)

    const exit = await migrate(url)

    assert.equal(exit.code, 0, exit.stderr)
    assert.match(exit.stdout, /nothing to apply; the schema is current/)
    assert.doesNotMatch(exit.stdout, /applied/)
  })

  test('a wrong DATABASE_URL fails with exit 1 and one stderr line naming it', async () => {
    const exit = await migrate('postgres://x')

    assert.equal(exit.code, 1)
    const lines = exit.stderr.split('\n').filter((line) => line !== '')
    assert.equal(lines.length, 1, exit.stderr)
    assert.match(lines[0] ?? '', /DATABASE_URL/)
  })
})

describe('a database that is not there yet', { skip: MARIADB_SKIP, timeout: 60_000 }, () => {
  test('an instance started before its database waits for it, then serves', async () => {
    const database = await TestDatabase.create('mariadb')
    const port = await freePort()
    const url = new URL(database.url)
    const target = Number(url.port || 3306)
    url.port = String(port)
    const sockets = new Set<Socket>()
    // Stands in for the database coming up: a forwarder to MariaDB, opened 1.5 s late.
    const forwarder = createServer((client) => {
      const upstream = connectTcp(target, url.hostname)
      for (const socket of [client, upstream]) {
        sockets.add(socket)
        socket.on('error', () => socket.destroy())
      }
      client.pipe(upstream).pipe(client)
    })
    const { service, healthy } = await ServiceProcess.launch({ DATABASE_URL: url.toString() })
    // The forwarder opens only once the service has found the database missing: a fixed
    // delay instead would race the service's own start-up time on a busy machine.
    const deadline = Date.now() + STARTUP_TIMEOUT_MS
    while (!/the database is not reachable yet/.test(service.node.stdout)) {
      assert.ok(Date.now() < deadline, `no wait was logged: ${service.node.stdout}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    forwarder.listen(port, '127.0.0.1')

    await healthy
    try {
      const created = await fetch(`${service.baseUrl}/persons`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ADMIN_AUTH },
        body: JSON.stringify({ name: 'Ann' }),
      })

      assert.equal(created.status, 201)
      assert.match(service.node.stdout, /the database is not reachable yet/)
    } finally {
      await service.stop()
      for (const socket of sockets) socket.destroy()
      forwarder.close()
      await database.drop()
    }
  })
})
