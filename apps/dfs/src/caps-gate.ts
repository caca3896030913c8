/**
 * How the namespace asks for caps before it touches an inode: the {@link CapsGate} contract,
 * {@link LocalGate} for a mount that is alone on its container (or caches nothing), and
 * {@link CapsAgent}, the `@x/caps` client core driven over the engine's caps protocol.
 *
 * The agent keeps one read "cache open" per inode it used (so it wants the caching bits `Fs`,
 * `Fr`, `Fc`), adds the bits an operation needs while it waits for them, and gives the cache open
 * up when a revoke arrives, so a client that only cached an inode stops competing for it. Before a
 * revoke or grant that takes caching bits away reaches the core, the namespace's caches of that
 * inode are dropped, so the ack the core sends can never precede the invalidation.
 *
 * @module
 */
import { type CapMask, CapOp, CapsClient, type ClientOutput, FileMode, type Message, SessionOp, CAP_AUTH_SHARED, CAP_FILE_CACHE, CAP_FILE_SHARED, CAP_XATTR_SHARED, decodeMessage, encodeMessage } from '@x/caps'
import type { Context } from '@x/cart'
import { type Logger, type Runtime, type TimerHandle } from '@x/common'
import { capsExchangeRpc } from '@x/engine'
import { DfsError } from './errors.ts'

/** Callbacks from a gate to the namespace. */
export interface GateHooks {
  /** Drop every cached dentry, attribute and data block of `ino` (not its dirty data). */
  invalidate(ino: number): void
  /** Write back the dirty data of `ino`; the gate is told when done. */
  writeback(ino: number): Promise<void>
  /** The authority closed the session (eviction): dirty data of these inodes is lost. */
  evicted(lostDirtyInodes: readonly number[]): void
}

/** What the namespace needs from caps. */
export interface CapsGate {
  /** Waits until `need` is held on `ino`, takes references, and returns `need` plus whatever of `want` is held. */
  get(ino: number, need: CapMask, want: CapMask): Promise<CapMask>
  /** Drops the references of a {@link CapsGate.get}. */
  put(ino: number, got: CapMask): void
  /** A file of `ino` was opened in `mode` (a `FileMode` bit set). */
  openFile(ino: number, mode: number): void
  /** The file opened in `mode` was closed. */
  closeFile(ino: number, mode: number): void
  /** `ino` now has buffered dirty data (once, until {@link CapsGate.cleaned}). */
  dirtied(ino: number): void
  /** The dirty data of `ino` was written back. */
  cleaned(ino: number): void
  /** Stops the gate (releasing what it holds when `graceful`). */
  stop(graceful: boolean): Promise<void>
}

/**
 * A gate without an authority. `exclusive: true` grants every wanted bit (the mount must be the
 * only client of its container: caching and write buffering on); otherwise only what is needed
 * (nothing is cached and every write goes to the objects at once).
 */
export class LocalGate implements CapsGate {
  constructor(private readonly exclusive: boolean) {}
  get(_ino: number, need: CapMask, want: CapMask): Promise<CapMask> {
    return Promise.resolve(this.exclusive ? need | want : need)
  }
  put(): void {}
  openFile(): void {}
  closeFile(): void {}
  dirtied(): void {}
  cleaned(): void {}
  stop(): Promise<void> {
    return Promise.resolve()
  }
}

/** Options of {@link CapsAgent}. */
export interface CapsAgentOptions {
  /** A cart context with the caps protocol registered. */
  readonly context: Context
  readonly runtime: Runtime
  readonly poolUuid: string
  readonly containerUuid: string
  /** The authority's rank (the engine the RPCs go to). */
  readonly authorityRank: number
  /** This client's id (unique per mount). */
  readonly clientId: string
  /** Session timeout T, equal to the authority's (default 60 s). */
  readonly sessionTimeoutMs?: number
  /** Renew interval (default T/4). */
  readonly renewIntervalMs?: number
  /** Longest long poll (default 5 s). */
  readonly pollWaitMs?: number
  /** RPC timeout beyond the poll wait (default 5 s). */
  readonly rpcTimeoutMs?: number
  readonly logger?: Logger
}

const cacheBits = CAP_FILE_SHARED | CAP_FILE_CACHE | CAP_AUTH_SHARED | CAP_XATTR_SHARED

/** The caps client of one mount (see the module comment). */
export class CapsAgent implements CapsGate {
  /** Counters for tests and benches. */
  readonly stats = { exchanges: 0, polls: 0, revokes: 0, grants: 0, waits: 0 }
  private readonly client: CapsClient
  private readonly cacheOpen = new Set<number>()
  /** Operations in progress (waiting or holding references) per inode. */
  private readonly active = new Map<number, number>()
  /** Inodes revoked while in use: their cache open goes when the last operation ends. */
  private readonly dropWhenIdle = new Set<number>()
  private readonly dirty = new Set<number>()
  private outbox: Message[] = []
  private sending: Promise<void> | undefined
  private waiters: Array<() => void> = []
  private closed = false
  private stopped = false
  private hooks: GateHooks | undefined
  private tickTimer: TimerHandle | undefined
  private readonly pollWaitMs: number
  private readonly rpcTimeoutMs: number

  constructor(private readonly options: CapsAgentOptions) {
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 60_000
    this.client = new CapsClient({ clientId: options.clientId, sessionTimeoutMs, renewIntervalMs: options.renewIntervalMs ?? sessionTimeoutMs / 4 })
    this.pollWaitMs = options.pollWaitMs ?? 5000
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 5000
  }

  /** The underlying `@x/caps` client core (tests inspect it). */
  get core(): CapsClient {
    return this.client
  }

  /** Whether the authority closed this client's session (evicted). */
  get isEvicted(): boolean {
    return this.closed
  }

  private now(): number {
    return this.options.runtime.clock.monotonicMs()
  }

  /** Opens the session and starts the poll loop and the renew timer. */
  async start(hooks: GateHooks): Promise<void> {
    this.hooks = hooks
    this.handle(this.client.openSession(this.now(), this.options.authorityRank))
    void this.pollLoop()
    this.tickTimer = this.options.runtime.timers.repeat(Math.max(100, Math.min(1000, (this.options.renewIntervalMs ?? 15_000) / 4)), () => {
      if (this.stopped) return
      this.handle(this.client.tick(this.now()))
      this.notify()
    }, { unref: true })
    while (this.client.session(this.options.authorityRank)?.state !== 'open') {
      if (this.closed || this.stopped) throw new DfsError('EIO', 'the caps authority refused the session')
      await this.nextEvent()
    }
  }

  async get(ino: number, need: CapMask, want: CapMask): Promise<CapMask> {
    this.active.set(ino, (this.active.get(ino) ?? 0) + 1)
    try {
      return await this.acquire(ino, need, want)
    } catch (error) {
      this.idle(ino)
      throw error
    }
  }

  private idle(ino: number): void {
    const n = (this.active.get(ino) ?? 1) - 1
    if (n > 0) {
      this.active.set(ino, n)
      return
    }
    this.active.delete(ino)
    // Contended (revoked, or no caching bits): stop wanting the caching bits, so a writer can become the loner.
    if (this.dropWhenIdle.delete(ino) || (this.cacheOpen.has(ino) && (this.client.issued(this.now(), ino) & CAP_FILE_CACHE) === 0)) this.dropCacheOpen(ino)
  }

  private async acquire(ino: number, need: CapMask, want: CapMask): Promise<CapMask> {
    let spinAtMs = -1
    let spins = 0
    for (;;) {
      // A wait woken again and again at one instant (messages answering messages) backs off.
      if (this.now() === spinAtMs) {
        if (++spins > 64) {
          await this.options.runtime.timers.sleep(10)
          spins = 0
        }
      } else {
        spinAtMs = this.now()
        spins = 0
      }
      if (this.closed) throw new DfsError('EIO', `caps session closed (client evicted); inode ${ino} is not accessible`, { ino })
      if (this.stopped) throw new DfsError('EIO', 'unmounted')
      if (!this.cacheOpen.has(ino)) {
        this.cacheOpen.add(ino)
        this.handle(this.client.open(this.now(), ino, FileMode.RD, this.options.authorityRank))
      }
      const { result, outputs } = this.client.getCaps(this.now(), ino, need, want)
      this.handle(outputs)
      if (result.ok) return result.got
      if (result.reason === 'closed') continue
      this.stats.waits++
      await this.nextEvent()
    }
  }

  put(ino: number, got: CapMask): void {
    if (this.closed || this.stopped) return
    this.handle(this.client.putCaps(this.now(), ino, got))
    this.idle(ino)
  }

  openFile(ino: number, mode: number): void {
    if (this.closed || this.stopped) return
    this.handle(this.client.open(this.now(), ino, mode, this.options.authorityRank))
  }

  closeFile(ino: number, mode: number): void {
    if (this.closed || this.stopped) return
    this.handle(this.client.close(this.now(), ino, mode))
  }

  dirtied(ino: number): void {
    if (this.dirty.has(ino) || this.closed) return
    this.dirty.add(ino)
    this.client.addDirtyBuffers(ino, 1)
  }

  cleaned(ino: number): void {
    if (!this.dirty.delete(ino) || this.closed) return
    this.handle(this.client.writebackDone(this.now(), ino, 1))
  }

  /** Simulates a crash: nothing more is sent or answered (no release, no ack, no renew). */
  crash(): void {
    this.stopped = true
    if (this.tickTimer !== undefined) this.options.runtime.timers.cancel(this.tickTimer)
    this.notify()
  }

  async stop(graceful: boolean): Promise<void> {
    if (this.stopped) return
    if (graceful && !this.closed) {
      for (const ino of [...this.cacheOpen]) this.dropCacheOpen(ino)
      this.outbox.push({ kind: 'session', op: SessionOp.REQUEST_CLOSE, authority: this.options.authorityRank, clientId: this.options.clientId, seq: 0 })
      while (this.sending !== undefined || this.outbox.length > 0) await (this.sending ?? this.flushOutbox())
    }
    this.crash()
  }

  private dropCacheOpen(ino: number): void {
    if (!this.cacheOpen.delete(ino)) return
    this.handle(this.client.close(this.now(), ino, FileMode.RD))
  }

  private nextEvent(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private notify(): void {
    const w = this.waiters
    this.waiters = []
    for (const resolve of w) resolve()
  }

  private handle(outputs: readonly ClientOutput[]): void {
    let send = false
    for (const o of outputs) {
      switch (o.kind) {
        case 'send':
          this.outbox.push(o.message)
          send = true
          break
        case 'writeback': {
          const hooks = this.hooks
          if (hooks === undefined) break
          void hooks.writeback(o.ino).then(
            () => this.cleaned(o.ino),
            (error: unknown) => {
              this.options.logger?.error('dfs: writeback failed, dirty data dropped', { ino: o.ino, error: String(error) })
              this.cleaned(o.ino)
            },
          )
          break
        }
        case 'invalidate':
          this.hooks?.invalidate(o.ino)
          break
        case 'wake':
          break
        case 'session-closed':
          this.closed = true
          this.hooks?.evicted(o.lostDirtyInodes)
          break
      }
    }
    if (send) void this.flushOutbox()
  }

  private receive(messages: readonly Uint8Array[]): void {
    for (const bytes of messages) {
      if (this.stopped) return
      let m: Message
      try {
        m = decodeMessage(bytes)
      } catch (error) {
        this.options.logger?.warn('dfs: bad caps message dropped', { error: String(error) })
        continue
      }
      if (m.kind === 'caps' && (m.op === CapOp.GRANT || m.op === CapOp.REVOKE || m.op === CapOp.IMPORT)) {
        const before = this.client.issued(this.now(), m.ino)
        // Caches first: the core may ack inside step().
        if ((before & ~m.caps & cacheBits) !== 0 || m.op === CapOp.REVOKE) this.hooks?.invalidate(m.ino)
        if (m.op === CapOp.REVOKE) this.stats.revokes++
        else this.stats.grants++
      } else if (m.kind === 'session' && (m.op === SessionOp.STALE || m.op === SessionOp.CLOSE || m.op === SessionOp.REJECT)) {
        for (const ino of this.cacheOpen) this.hooks?.invalidate(ino)
      }
      this.handle(this.client.step(this.now(), m))
      if (m.kind === 'caps' && m.op === CapOp.REVOKE) {
        if ((this.active.get(m.ino) ?? 0) === 0) this.dropCacheOpen(m.ino)
        else this.dropWhenIdle.add(m.ino)
      }
    }
    this.notify()
  }

  private async exchange(messages: readonly Message[], waitMs: number): Promise<void> {
    const o = this.options
    const reply = await o.context.call(
      capsExchangeRpc,
      { rank: o.authorityRank, tag: 0 },
      { poolUuid: o.poolUuid, containerUuid: o.containerUuid, clientId: o.clientId, messages: messages.map((m) => encodeMessage(m)), waitMs },
      { timeoutMs: waitMs + this.rpcTimeoutMs },
    )
    if (!this.stopped) this.receive(reply.messages)
  }

  private flushOutbox(): Promise<void> {
    if (this.sending !== undefined) return this.sending
    const run = async (): Promise<void> => {
      try {
        while (this.outbox.length > 0 && !this.stopped) {
          const batch = this.outbox
          this.outbox = []
          this.stats.exchanges++
          try {
            await this.exchange(batch, 0)
          } catch (error) {
            // Lost: the caps protocol retries what matters (owed acks, renews, opens) on its ticks.
            this.options.logger?.warn('dfs: caps exchange failed', { error: String(error) })
          }
        }
      } finally {
        this.sending = undefined
      }
    }
    this.sending = run()
    return this.sending
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopped && !this.closed) {
      this.stats.polls++
      try {
        await this.exchange([], this.pollWaitMs)
      } catch {
        if (this.stopped) return
        await this.options.runtime.timers.sleep(200)
      }
    }
  }
}
