/**
 * What makes a spreadsheet read a cell as a formula (OWASP's list): a text cell starting
 * with one of these gets a leading apostrophe, which spreadsheets show as text and which
 * costs a program reading the file one character to strip.
 */
const FORMULA_START = /^[=+\-@\t\r]/

/** Quoted only when it must be (RFC 4180): a comma, a quote or a line break inside. */
const NEEDS_QUOTES = /[",\r\n]/

export type CsvValue = string | number | null

/**
 * One field. Numbers are the service's own and written as they are; null is an empty field.
 * Every string is neutralised, whoever wrote it.
 */
export function csvField(value: CsvValue): string {
  if (value === null) return ''
  if (typeof value === 'number') return String(value)
  const text = FORMULA_START.test(value) ? `'${value}` : value

  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One record, ended with CRLF as RFC 4180 has it. */
export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`
}
