// The whole test suite: type-check, lint and build the console, then every test file under
// test/ (on SQLite and MariaDB).
// Extra arguments go to node's test runner (for example --test-name-pattern=heartbeat).
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const run = (command, args) => {
  const { status } = spawnSync(command, args, { stdio: 'inherit' })
  if (status !== 0) process.exit(status ?? 1)
}

const testFiles = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return testFiles(path)
    return entry.name.endsWith('.test.ts') ? [path] : []
  })

run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'])
run('npx', ['tsc', '-p', 'web/tsconfig.json', '--noEmit'])
// The browser tests drive the console as the service serves it: built.
run('npx', ['vite', 'build', '--logLevel', 'warn'])
run('npx', ['biome', 'check', '--diagnostic-level=error'])
const args = process.argv.slice(2)
const files = args.some((a) => !a.startsWith('-')) ? [] : testFiles('test').sort()
run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...args, ...files])
