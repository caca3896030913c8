import { DerError, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { failoverCaller, formatRankSet, identityFrom, parseAclText, parseGroupFile, progressBarWidth, startProgress } from '../src/index.ts'

describe('the caller identity', () => {
  it('maps the user and its gids to ACL principals, primary group first', () => {
    const groups = parseGroupFile('root:x:0:\nstaff:x:50:alice\nbad line\nusers:x:100:\nweird name:x:7:\n')
    expect([...groups]).toEqual([
      [0, 'root'],
      [50, 'staff'],
      [100, 'users'],
    ])
    expect(identityFrom('alice', 100, [50, 100, 999], groups)).toEqual({ user: 'alice@', groups: ['users@', 'staff@'] })
    expect(identityFrom('bad user', 0, [], groups).user).toBe('nobody@')
  })
})

describe('progress bars (cli-progress)', () => {
  it('draw only on a terminal', () => {
    let out = ''
    startProgress({ write: (t) => (out += t), isTTY: false }, 'x').done()
    startProgress(undefined, 'x').done()
    startProgress({ write: (t) => (out += t), isTTY: true }, 'x', false).done()
    expect(out).toBe('')
  })
  it('redraw one line with a clamped percentage and end it', () => {
    let out = ''
    const bar = startProgress({ write: (t) => (out += t), isTTY: true }, 'x')
    expect(out).toContain(`x [${'-'.repeat(progressBarWidth)}] 0%`)
    bar.update(Number.NaN, 'nan')
    bar.update(7, 'over')
    bar.done('b')
    // eslint-disable-next-line no-control-regex
    const plain = out.replace(/\u001b(\[[0-9;?]*[A-Za-z]|[78])/g, '\n').split('\n').filter((l) => l !== '')
    expect(plain[0]).toBe(`x [${'-'.repeat(progressBarWidth)}] 0%`)
    expect(plain.at(-1)).toBe(`x [${'#'.repeat(progressBarWidth)}] 100% b`)
    expect(out.endsWith('\n')).toBe(true)
    expect(out.split('\n').length, 'a single line').toBe(2)
  })
})

describe('failover over several control servers', () => {
  it('tries the next server on DER_UNREACH only, and remembers the one that answered', async () => {
    const calls: string[] = []
    const caller = failoverCaller(['a:1', 'b:1'], (target) => ({
      call: (method: string) => {
        calls.push(`${target} ${method}`)
        if (target === 'a:1') return Promise.reject(new DerError('DER_UNREACH', 'down'))
        return Promise.resolve({ members: [], mapVersion: 1 } as never)
      },
    }))
    expect(caller.clientsOpened).toBe(0)
    await caller.call('SystemQuery', {})
    await caller.call('SystemQuery', {})
    expect(calls).toEqual(['a:1 SystemQuery', 'b:1 SystemQuery', 'b:1 SystemQuery'])
  })
  it('does not retry other errors, and names every server when none answers', async () => {
    const failing = failoverCaller(['a:1', 'b:1'], () => ({ call: () => Promise.reject(new DerError('DER_UNREACH', 'x')) }))
    const error = await failing.call('SystemQuery', {}).catch((e: unknown) => e)
    expect(isDerError(error, 'DER_UNREACH') && error.message).toMatch(/none of the control servers answered \(a:1, b:1\)/)
    let n = 0
    const inval = failoverCaller(['a:1', 'b:1'], () => ({ call: () => (n++, Promise.reject(new DerError('DER_INVAL', 'bad'))) }))
    await expect(inval.call('SystemQuery', {})).rejects.toMatchObject({ name: 'DER_INVAL' })
    expect(n).toBe(1)
  })
})

describe('formatting and ACL text', () => {
  it('groups rank sets and canonicalizes ACL files', () => {
    expect(formatRankSet([3, 0, 1, 2, 7])).toBe('[0-3,7]')
    expect(parseAclText('# c\nA::OWNER@:wr\n\nA:G:GROUP@:r', 'f')).toEqual(['A::OWNER@:rw', 'A:G:GROUP@:r'])
    expect(() => parseAclText('A::x', 'f')).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })
})
