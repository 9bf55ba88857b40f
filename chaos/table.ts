import type { ScenarioReport } from './scenarios/scenario.js'

const HEADER = ['Scenario', 'Ops (requests)', 'Errors by kind', 'Violations', 'Recovery']

/**
 * One Markdown table, padded so that it also reads as a table in a terminal, followed by the
 * notes and every violation in full.
 */
export function renderTable(reports: ScenarioReport[], notes: string[]): string {
  const rows = reports.map((r) => [
    `${r.id}. ${r.title}`,
    `${r.operations} (${r.requests})`,
    errorsCell(r.errors),
    String(r.violations.length),
    r.recovery,
  ])
  const widths = HEADER.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`

  const violations = reports.flatMap((r) => r.violations.map((v) => `- ${r.id}: ${v}`))
  const allNotes = [...notes, ...reports.flatMap((r) => r.notes)].map((note) => `- ${note}`)

  return [
    line(HEADER),
    rule,
    ...rows.map(line),
    '',
    ...allNotes,
    ...(violations.length > 0
      ? ['', '**Violations** (run with --keep to keep the service logs they refer to)', '']
      : []),
    ...violations,
    '',
  ].join('\n')
}

function errorsCell(errors: Map<string, number>): string {
  if (errors.size === 0) return 'none'

  return [...errors]
    .sort(([, a], [, b]) => b - a)
    .map(([kind, count]) => `${kind} ×${count}`)
    .join(', ')
}
