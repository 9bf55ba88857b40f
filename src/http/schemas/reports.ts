import { Type } from '@sinclair/typebox'
import {
  DEFAULT_INSPECTORS,
  DESCRIPTION_PREVIEW_CHARS,
  MAX_EXPORT_DAYS,
} from '../../domain/reports.js'
import { Id, Nullable, PageQuery, Timestamp } from './common.js'
import { PersonStateSchema } from './entities.js'

// What GET /dashboard and GET /assignments/export take and answer.

const Count = Type.Integer({ minimum: 0 })
const Millis = Nullable(Type.Integer({ description: 'Milliseconds; null when nothing counted.' }))

export const DashboardQuery = Type.Object(
  {
    hours: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 48,
        default: 8,
        description: 'Hours of series, the current one last.',
      }),
    ),
    tz_offset_minutes: Type.Optional(
      Type.Integer({
        minimum: -720,
        maximum: 840,
        default: 0,
        description:
          "Minutes east of UTC of the viewer's clock (120 for UTC+02:00): where today and " +
          'each hour of the series begin. 0, UTC, when left out.',
      }),
    ),
    state: Type.Optional(PersonStateSchema),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 500,
        default: DEFAULT_INSPECTORS,
        description: 'Inspectors per page.',
      }),
    ),
    cursor: PageQuery.cursor,
  },
  { additionalProperties: false },
)

export const DashboardSchema = Type.Object(
  {
    generated_at: Timestamp,
    today_start: { ...Timestamp, description: 'Where today began on the asked-for clock.' },
    tz_offset_minutes: Type.Integer(),
    counters: Type.Object({
      pending: Count,
      in_progress: Count,
      done_today: Count,
      cancelled_today: Count,
      assignments_last_hour: { ...Count, description: 'Assignments started in the last hour.' },
      mean_wait_ms: Millis,
      p95_wait_ms: {
        ...Millis,
        description:
          'Of the waits (task created to assigned) of the assignments started in the last ' +
          'hour, the nearest-rank 95th percentile; null when none started.',
      },
    }),
    inspectors: Type.Object({
      total: { ...Count, description: 'Inspectors in the state asked for, or all of them.' },
      by_state: Type.Object({ offline: Count, free: Count, busy: Count }),
      items: Type.Array(
        Type.Object({
          id: Id,
          name: Type.String(),
          state: PersonStateSchema,
          current_task: Nullable(
            Type.Object({
              id: Id,
              description: Type.String({
                description:
                  `The first ${DESCRIPTION_PREVIEW_CHARS} characters, ending in … when cut; ` +
                  'GET /tasks/{id} has it all.',
              }),
              assigned_at: Timestamp,
            }),
          ),
          done_today: Count,
        }),
      ),
      next_cursor: Nullable(Type.String({ description: 'Null on the last page.' })),
    }),
    series: Type.Array(
      Type.Object({
        hour: { ...Timestamp, description: "The hour's start." },
        completed: { ...Count, description: 'Tasks completed in the hour.' },
        assignments_started: Count,
        mean_wait_ms: {
          ...Millis,
          description: 'Mean wait of the assignments started in the hour.',
        },
      }),
      { description: 'Oldest first; the last hour is the current one, still running.' },
    ),
  },
  { title: 'Dashboard' },
)

export const ExportQuery = Type.Object(
  {
    from: Type.String({
      format: 'date-time',
      description: 'ISO 8601 with a zone; the first moment included.',
      examples: ['2026-03-01T00:00:00Z'],
    }),
    to: Type.String({
      format: 'date-time',
      description: `The first moment excluded; at most ${MAX_EXPORT_DAYS} days after from.`,
      examples: ['2026-03-08T00:00:00Z'],
    }),
  },
  { additionalProperties: false },
)
