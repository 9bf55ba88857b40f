import type { ApiKeys } from '../../domain/access/api-keys.js'
import type { Credentials } from '../../domain/access/credentials.js'
import type { SignIn } from '../../domain/access/sign-in.js'
import type { AssignmentService } from '../../domain/assignment-service.js'
import type { ReadModel } from '../../domain/read-model.js'
import type { Roster } from '../../domain/roster.js'

/** What the route plugins are given; they hold no state of their own. */
export interface RouteDeps {
  service: AssignmentService
  reads: ReadModel
  roster: Roster
  credentials: Credentials
  signIn: SignIn
  apiKeys: ApiKeys
}
