// Secrets stay secret: the real service, logging at debug, is driven through a whole working
// day of credentials (a key made by the command line, a PIN, a session, wrong guesses, a
// revocation) and nothing it printed may contain any of them.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { TEST_ADMIN_KEY } from './support/credentials.js'
import { runToExit, ServiceProcess } from './support/service-process.js'

const PIN = 'pin-8362-secret'

describe('secrets in the service output', { timeout: 60_000 }, () => {
  let scratch = ''
  let service: ServiceProcess | undefined
  let key = ''
  let token = ''
  const keysCli = (args: string[], url: string) =>
    runToExit('src/cli/keys.ts', { DATABASE_URL: url }, args)

  const call = async (method: string, path: string, body?: unknown, bearer?: string) => {
    const response = await fetch(`${service?.baseUrl}${path}`, {
      method,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
    const text = await response.text()

    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : null,
    }
  }

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'qc-assign-secrets-'))
    const url = `sqlite:${join(scratch, 'qc.sqlite')}`
    const made = await keysCli(['create', '--role', 'supervisor', '--name', 'lead'], url)
    assert.equal(made.code, 0, made.stderr)
    key = made.stdout.trim().split('\n').at(-1) ?? ''
    service = await ServiceProcess.start({ DATABASE_URL: url, LOG_LEVEL: 'debug' })

    const ann = await call('POST', '/persons', { name: 'Ann', pin: PIN }, key)
    assert.equal(ann.status, 201)
    await call('POST', '/login', { person_id: ann.body.id, pin: 'wrong-guess' })
    const signedIn = await call('POST', '/login', { person_id: ann.body.id, pin: PIN })
    assert.equal(signedIn.status, 200)
    token = signedIn.body.session.token
    await call('POST', '/tasks', { description: 'Inspect' }, key)
    await call('POST', '/tasks/1/complete', undefined, token)
    await call('POST', '/logout', undefined, token)
    await call('GET', '/me', undefined, token)
    await call('GET', '/tasks', undefined, 'qck_not-a-real-key')
    await call('GET', '/tasks', undefined, TEST_ADMIN_KEY)
  })

  after(async () => {
    await service?.stop()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  test('nothing the service printed holds a key, a session token or a PIN', () => {
    const output = `${service?.node.stdout}\n${service?.node.stderr}`

    assert.ok(output.includes('inspector signed in'), 'the run was logged at all')
    for (const secret of [key, token, PIN, TEST_ADMIN_KEY]) {
      assert.ok(secret.length > 0)
      assert.equal(output.includes(secret), false, `the output holds ${secret.slice(0, 6)}…`)
    }
  })

  test('answers carry the security headers', async () => {
    const reply = await call('GET', '/healthz')

    assert.equal(reply.headers.get('x-content-type-options'), 'nosniff')
    assert.match(reply.headers.get('content-security-policy') ?? '', /default-src 'self'/)
    assert.equal(reply.headers.get('x-frame-options'), 'SAMEORIGIN')
  })

  test("requests Node's parser refuses are answered as problem+json too", async () => {
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(service?.port ?? 0, '127.0.0.1')
        let answer = ''
        socket.setEncoding('utf8').on('data', (chunk: string) => {
          answer += chunk
        })
        socket.on('end', () => resolve(answer))
        socket.on('error', reject)
        socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')))
        socket.write(request)
      })

    const huge = await raw(
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
    )
    const broken = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')

    assert.match(huge, /^HTTP\/1.1 431 /)
    assert.match(broken, /^HTTP\/1.1 400 /)
    for (const answer of [huge, broken]) {
      assert.match(answer, /content-type: application\/problem\+json/i)
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
      assert.equal(typeof body.detail, 'string')
    }
  })

  test('the keys command lists keys without their secrets and revokes them', async () => {
    const url = `sqlite:${join(scratch, 'qc.sqlite')}`
    const listed = await keysCli(['list'], url)
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /\blead\tsupervisor\b.*\blive\b/)
    assert.equal(listed.stdout.includes(key), false)

    const revoked = await keysCli(['revoke', '1'], url)

    assert.equal(revoked.code, 0, revoked.stderr)
    assert.equal((await call('GET', '/tasks', undefined, key)).status, 401)
    assert.notEqual((await keysCli(['create', '--role', 'root', '--name', 'x'], url)).code, 0)
  })
})
