// What the figures were measured on, for the head of RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import SqliteDatabase from 'better-sqlite3'
import { findNginx } from '../chaos/nginx.js'

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url)

  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
}

function mariadbVersion(): string {
  try {
    return execFileSync('mariadbd', ['--version'], { encoding: 'utf8', timeout: 10_000 })
      .replace(/^.*Ver\s+/, '')
      .split(' ')[0] as string
  } catch {
    return 'not installed'
  }
}

function nginxVersion(): string {
  const binary = findNginx()
  if (!binary) return 'not installed'
  // nginx -v answers on stderr.
  const { stderr } = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 10_000 })

  return stderr.replace('nginx version: ', '').trim() || 'unknown'
}

export function describeEnvironment(): string[] {
  const sqlite = new SqliteDatabase(':memory:')
  const sqliteVersion = (sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v
  sqlite.close()
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

  return [
    `Machine: ${cpus().length} cores (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB memory; load average at start ${load}`,
    `Node ${process.versions.node}; MariaDB ${mariadbVersion()}; SQLite ${sqliteVersion} ` +
      `(better-sqlite3 ${packageVersion('better-sqlite3')}); ${nginxVersion()}`,
    `fastify ${packageVersion('fastify')}, kysely ${packageVersion('kysely')}, ` +
      `mysql2 ${packageVersion('mysql2')}`,
  ]
}
