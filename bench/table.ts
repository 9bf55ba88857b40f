import type { ScenarioReport } from './scenarios/scenario.js'

const HEADER = ['#', 'Measure', 'Service', 'Floor / reference', 'Ratio', 'Goal', 'Met']

/** One Markdown table, padded to read as a table in a terminal too, then each scenario's notes. */
export function renderResults(reports: ScenarioReport[]): string {
  const rows = reports.flatMap((report) =>
    report.rows.map((row) => [
      String(report.id),
      row.measure,
      row.service,
      row.reference,
      row.ratio,
      row.goal,
      row.met,
    ]),
  )
  // Biome's Markdown layout: columns at least 3 wide, a rule of dashes between pipes.
  const widths = HEADER.map((title, column) =>
    Math.max(3, title.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`
  const rule = line(widths.map((width) => '-'.repeat(width)))
  const notes = reports.flatMap((report) =>
    report.notes.length === 0
      ? []
      : ['', `**${report.id}. ${report.title}**`, '', ...report.notes.map((n) => `- ${n}`)],
  )

  return [line(HEADER), rule, ...rows.map(line), ...notes, ''].join('\n')
}
