import type { BenchContext } from '../context.js'

/** One line of the results table. */
export interface ResultRow {
  measure: string
  /** The service's figure. */
  service: string
  /** What it is measured against, in the same run: a floor or a theoretical value. */
  reference: string
  /** service / reference, or another comparison, as text. */
  ratio: string
  goal: string
  met: 'yes' | 'no' | 'n/a'
}

export interface ScenarioReport {
  id: number
  title: string
  rows: ResultRow[]
  /** Details under the table: CPU split, round trips, profile, caveats. */
  notes: string[]
}

export interface Scenario {
  id: number
  title: string
  run(context: BenchContext): Promise<ScenarioReport>
}

export const yesNo = (ok: boolean): 'yes' | 'no' => (ok ? 'yes' : 'no')
