// Every (state, call) pair of the event state machine: legal calls move to the documented state,
// illegal ones throw the documented DerError and change nothing.
import { type DerName, VirtualRuntime, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { EventQueue, type EventState, TseEvent } from '../src/index.ts'

type Call = 'init' | 'launch' | 'complete' | 'abort' | 'test' | 'fini' | 'barrier' | 'registerCompCb'

/** What each call does from each state: the next state, or the error it throws. */
const table: Record<EventState, Record<Call, EventState | DerName>> = {
  init: { init: 'ready', launch: 'DER_UNINIT', complete: 'DER_UNINIT', abort: 'DER_UNINIT', test: 'DER_UNINIT', fini: 'DER_UNINIT', barrier: 'DER_UNINIT', registerCompCb: 'DER_UNINIT' },
  ready: { init: 'DER_ALREADY', launch: 'running', complete: 'DER_NO_PERM', abort: 'DER_NO_PERM', test: 'ready', fini: 'init', barrier: 'DER_INVAL', registerCompCb: 'ready' },
  running: { init: 'DER_ALREADY', launch: 'DER_NO_PERM', complete: 'completed', abort: 'aborted', test: 'running', fini: 'DER_BUSY', barrier: 'DER_INVAL', registerCompCb: 'running' },
  completed: { init: 'DER_ALREADY', launch: 'DER_NO_PERM', complete: 'DER_ALREADY', abort: 'DER_NO_PERM', test: 'ready', fini: 'init', barrier: 'DER_INVAL', registerCompCb: 'completed' },
  aborted: { init: 'DER_ALREADY', launch: 'DER_NO_PERM', complete: 'aborted', abort: 'DER_NO_PERM', test: 'ready', fini: 'init', barrier: 'DER_INVAL', registerCompCb: 'aborted' },
}

const states = Object.keys(table) as EventState[]
const calls = Object.keys(table.init) as Call[]

function eventIn(state: EventState, eq: EventQueue): TseEvent {
  const event = new TseEvent(`ev-${state}`)
  if (state === 'init') return event
  event.init({ eq })
  if (state === 'ready') return event
  event.launch()
  if (state === 'completed') event.complete(0)
  if (state === 'aborted') event.abort()
  expect(event.state).toBe(state)
  return event
}

function apply(call: Call, event: TseEvent, eq: EventQueue): void {
  switch (call) {
    case 'init':
      event.init({ eq })
      break
    case 'launch':
      event.launch()
      break
    case 'complete':
      event.complete(0)
      break
    case 'abort':
      event.abort()
      break
    case 'test':
      event.testNow()
      break
    case 'fini':
      event.fini()
      break
    case 'barrier':
      event.parentBarrier()
      break
    case 'registerCompCb':
      event.registerCompCb(() => 0)
      break
  }
}

describe('event state machine', () => {
  for (const state of states) {
    for (const call of calls) {
      const expected = table[state][call]
      const legal = states.includes(expected as EventState)
      it(`${state} --${call}--> ${expected}`, () => {
        const eq = new EventQueue({ runtime: new VirtualRuntime({ seed: 1 }) })
        const event = eventIn(state, eq)
        const before = { state: event.state, running: eq.runningCount, completed: eq.completedCount }
        let thrown: unknown
        try {
          apply(call, event, eq)
        } catch (error) {
          thrown = error
        }
        if (legal) {
          expect(thrown).toBeUndefined()
          expect(event.state).toBe(expected)
        } else {
          expect(isDerError(thrown, expected as DerName), `expected ${expected}, got ${String(thrown)}`).toBe(true)
          expect({ state: event.state, running: eq.runningCount, completed: eq.completedCount }).toEqual(before)
        }
      })
    }
  }

  it('keeps the queue lists in step with the states', () => {
    const eq = new EventQueue({ runtime: new VirtualRuntime({ seed: 1 }) })
    const a = new TseEvent('a').init({ eq })
    const b = new TseEvent('b').init({ eq })
    a.launch()
    b.launch()
    expect(eq.query('running')).toEqual([a, b])
    b.abort()
    a.complete(-1005)
    expect(eq.query('completed')).toEqual([b, a])
    expect(eq.query('running')).toEqual([])
    expect(eq.pollNow(8)).toEqual([b, a])
    expect(a.error?.name).toBe('DER_NONEXIST')
    expect(b.error?.name).toBe('DER_CANCELED')
    expect([a.state, b.state]).toEqual(['ready', 'ready'])
    expect(eq.query()).toEqual([])
  })

  it('refuses to test a child event and to nest grandchildren', () => {
    const eq = new EventQueue({ runtime: new VirtualRuntime({ seed: 1 }) })
    const parent = new TseEvent('p').init({ eq })
    const child = new TseEvent('c').init({ parent })
    expect(() => child.testNow()).toThrow(expect.objectContaining({ name: 'DER_NO_PERM' }))
    expect(() => new TseEvent('g').init({ parent: child })).toThrow(expect.objectContaining({ name: 'DER_NO_PERM' }))
    expect(() => new TseEvent('x').init({})).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => new TseEvent('y').init({ eq, parent })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })

  it('runs event completion callbacks once, in registration order, and folds their results', () => {
    const eq = new EventQueue({ runtime: new VirtualRuntime({ seed: 1 }) })
    const event = new TseEvent('e').init({ eq })
    const seen: string[] = []
    event.registerCompCb((_e, rc) => void seen.push(`first rc=${rc}`))
    event.registerCompCb((_e, rc) => {
      seen.push(`second rc=${rc}`)
      return -1001
    })
    event.launch()
    event.complete(0)
    expect(seen).toEqual(['first rc=0', 'second rc=0'])
    expect(event.error?.name).toBe('DER_NO_PERM')
    eq.pollNow(1)
    event.launch()
    event.complete(0)
    expect(seen).toHaveLength(2)
    expect(event.result).toBe(0)
  })
})
