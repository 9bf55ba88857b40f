import type { AssignmentService } from '../../domain/assignment-service.js'
import type { ReadModel } from '../../domain/read-model.js'

/** What the route plugins are given; they hold no state of their own. */
export interface RouteDeps {
  service: AssignmentService
  reads: ReadModel
}
