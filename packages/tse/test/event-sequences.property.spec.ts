// Property: random sequences of event calls (parents, children, barriers, aborts, polls) only
// ever fail with DerErrors, and the queue's lists always agree with the events' states.
import { VirtualRuntime, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EventQueue, TseEvent } from '../src/index.ts'

type Op =
  | { readonly kind: 'init'; readonly event: number; readonly parent: number | undefined }
  | { readonly kind: 'launch' | 'abort' | 'test' | 'fini' | 'barrier'; readonly event: number }
  | { readonly kind: 'complete'; readonly event: number; readonly rc: number }
  | { readonly kind: 'poll'; readonly max: number }

const eventCount = 6
const eventIndex = fc.nat(eventCount - 1)
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('init' as const), event: eventIndex, parent: fc.option(eventIndex, { nil: undefined }) }),
  fc.record({ kind: fc.constantFrom('launch' as const, 'abort' as const, 'test' as const, 'fini' as const, 'barrier' as const), event: eventIndex }),
  fc.record({ kind: fc.constant('complete' as const), event: eventIndex, rc: fc.constantFrom(0, -1003, -2001) }),
  fc.record({ kind: fc.constant('poll' as const), max: fc.integer({ min: 1, max: 4 }) }),
)

describe('random event call sequences', () => {
  it('keep the queue consistent with the event states and fail only with DerErrors', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.nat(), (ops, seed) => {
        const eq = new EventQueue({ runtime: new VirtualRuntime({ seed }) })
        const events = Array.from({ length: eventCount }, (_, i) => new TseEvent(`e${i}`))
        const reapedOnce = new Set<TseEvent>()
        for (const [step, o] of ops.entries()) {
          const event = 'event' in o ? (events[o.event] as TseEvent) : undefined
          try {
            switch (o.kind) {
              case 'init':
                event?.init(o.parent === undefined || o.parent === o.event ? { eq } : { parent: events[o.parent] })
                break
              case 'launch':
                event?.launch()
                break
              case 'abort':
                event?.abort()
                break
              case 'test':
                event?.testNow()
                break
              case 'fini':
                event?.fini()
                break
              case 'barrier':
                event?.parentBarrier()
                break
              case 'complete':
                event?.complete(o.rc)
                break
              case 'poll':
                for (const reaped of eq.pollNow(o.max)) {
                  expect(reaped.state).toBe('ready')
                  reapedOnce.add(reaped)
                }
                break
            }
          } catch (error) {
            expect(isDerError(error), `seed=${seed} step ${step} ${JSON.stringify(o)}: ${String(error)}`).toBe(true)
          }
          const running = new Set(eq.query('running'))
          const completed = new Set(eq.query('completed'))
          for (const e of events) {
            const topLevel = e.eq === eq && e.parent === undefined
            const context = `seed=${seed} step ${step} ${JSON.stringify(o)}: ${e.name} is ${e.state}`
            expect(running.has(e), context).toBe(topLevel && e.state === 'running')
            expect(completed.has(e), context).toBe(topLevel && (e.state === 'completed' || e.state === 'aborted'))
            if (e.state === 'init') expect(e.eq, context).toBeUndefined()
            for (const child of e.children) expect(child.parent, context).toBe(e)
            if (e.parent !== undefined) expect(e.parent.children.includes(e), context).toBe(true)
          }
        }
      }),
      { numRuns: Number(process.env.X_RUNS ?? 300), ...(process.env.X_SEED === undefined ? {} : { seed: Number(process.env.X_SEED) }) },
    )
  })
})
