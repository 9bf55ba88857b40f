// bench/RESULTS.md keeps the latest run of each kind (store, full or quick) in a section of
// its own, so a quick SQLite check does not overwrite the full MariaDB figures.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { BenchOptions } from './context.js'

const FILE = new URL('RESULTS.md', import.meta.url).pathname

const HEAD = `# Benchmark results

Written by \`npm run bench\` (bench/run.ts); each section is the latest run of its kind.
Figures come from a shared 2-core machine where other work runs at the same time: compare
ratios within one run (service beside its floor), not absolute figures across runs.
`

const ORDER = ['mariadb-full', 'mariadb-quick', 'sqlite-full', 'sqlite-quick']

function sectionOf(text: string, key: string): string | null {
  const open = `<!-- bench:${key} -->`
  const close = `<!-- /bench:${key} -->`
  const start = text.indexOf(open)
  const end = text.indexOf(close)

  return start >= 0 && end > start ? text.slice(start, end + close.length) : null
}

export interface RunRecord {
  options: BenchOptions
  command: string
  wallS: number
  environment: string[]
  table: string
}

export function writeResults(run: RunRecord): string {
  const key = `${run.options.store}-${run.options.quick ? 'quick' : 'full'}`
  const open = `<!-- bench:${key} -->`
  const close = `<!-- /bench:${key} -->`
  const section = [
    open,
    `## ${run.options.store === 'mariadb' ? 'MariaDB' : 'SQLite'}, ` +
      `${run.options.quick ? 'quick run (--quick: short runs, smaller sizes)' : 'full run'}`,
    '',
    `Command: \`${run.command}\`; wall time ${run.wallS} s; finished ` +
      `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    '',
    ...run.environment.map((line) => `- ${line}`),
    '',
    run.table.trimEnd(),
    close,
  ].join('\n')

  const previous = existsSync(FILE) ? readFileSync(FILE, 'utf8') : ''
  const sections = ORDER.map((k) => (k === key ? section : sectionOf(previous, k))).filter(
    (text): text is string => text !== null,
  )
  writeFileSync(FILE, `${[HEAD, ...sections].join('\n')}\n`)

  return FILE
}
