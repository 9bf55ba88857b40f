import type { UpdateResult } from 'kysely'
import { LostRaceError } from './dialect.js'

/**
 * Every state change is a conditional UPDATE; one that touched no row means another writer
 * got there first, and the whole transaction is run again from fresh reads.
 */
export function expectOneRow(result: UpdateResult, change: string): void {
  if (result.numUpdatedRows !== 1n) {
    throw new LostRaceError(`${change}: expected one row, changed ${result.numUpdatedRows}`)
  }
}
