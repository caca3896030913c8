/**
 * The filesystem commands of `daos` (wired into `daos` by `@x/cli`):
 * `filesystem copy --src SRC --dst DST` (alias `fs`; either side a local path or
 * `daos://POOL/CONT/path`) with a `cli-progress` bar on stderr (only on a terminal, never with JSON output), and `fs ls|stat|mkdir|rm POOL CONT PATH`.
 *
 * @module
 */
import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import { type CopyProgress, DfsTree, LocalTree, type Tree, copyTree, parseDaosUri } from './copy.ts'
import type { DfsStat } from './dfs.ts'
import { errnoOf } from './errors.ts'
import type { DfsSession } from './session.ts'

/** Opens the namespace of `cont` in `pool` (e.g. {@link openDfsSession} with the program's control client). */
export type DfsSessionFactory = (pool: string, cont: string) => Promise<DfsSession>

/** What the commands need from their program. */
export interface FilesystemCommandsIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Whether to draw the copy's progress bar: stderr is a terminal and JSON output is off (default false: no bar). */
  readonly interactive?: boolean
  /** Called with 1 when a command fails (after the message is printed). */
  readonly fail: (exitCode: number) => void
}

/** `write` as the stream `cli-progress` draws on (its terminal control goes through `node:readline`, which only calls `write`). */
function barStream(write: (text: string) => void): NodeJS.WritableStream {
  const stream = {
    isTTY: true,
    columns: 100,
    write: (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined
      callback?.()
      return true
    },
  }
  return stream as unknown as NodeJS.WritableStream
}

const mib = (n: number): string => (n / (1 << 20)).toFixed(1)

/** The copy's bar on `write`: `[#####.....] 50%  3/6 files  1.5/3.0 MiB` (a `cli-progress` bar on bytes). */
function copyBar(write: (text: string) => void): { update(p: CopyProgress): void; stop(): void } {
  const bar = new SingleBar({
    stream: barStream(write),
    format: '[{bar}] {percentage}%  {files} files  {mib} MiB',
    barsize: 30,
    barCompleteChar: '#',
    barIncompleteChar: '.',
    hideCursor: false,
    gracefulExit: false,
    linewrap: null,
  })
  const payload = (p: CopyProgress): { files: string; mib: string } => ({ files: `${p.filesDone}/${p.filesTotal}`, mib: `${mib(p.bytesDone)}/${mib(p.bytesTotal)}` })
  let started = false
  return {
    update(p) {
      // Empty trees count files instead of bytes.
      const total = p.bytesTotal > 0 ? p.bytesTotal : Math.max(1, p.filesTotal)
      const done = p.bytesTotal > 0 ? p.bytesDone : p.filesTotal > 0 ? p.filesDone : 1
      if (!started) {
        started = true
        bar.start(total, done, payload(p))
      } else {
        bar.setTotal(total)
        bar.update(done, payload(p))
      }
    },
    stop() {
      if (started) bar.stop()
    },
  }
}

function formatStat(path: string, s: DfsStat): string {
  const perm = (s.mode & 0o7777).toString(8).padStart(4, '0')
  return `  Path  : ${path}\n  Type  : ${s.kind}\n  Inode : ${s.ino}\n  Mode  : ${perm}\n  Owner : ${s.uid}:${s.gid}\n  Links : ${s.nlink}\n  Size  : ${s.sizeBytes}\n  Mtime : ${new Date(s.mtimeMs).toISOString()}\n`
}

/** Registers `filesystem` (alias `fs`) and its subcommands on `program`. */
export function registerFilesystemCommands(program: Command, open: DfsSessionFactory, io: FilesystemCommandsIo): Command {
  const fs = program.command('filesystem').alias('fs').description('POSIX containers: copy trees, list, stat, make and remove paths')
  const guard = (body: () => Promise<void>) => async (): Promise<void> => {
    try {
      await body()
    } catch (e) {
      io.stderr(`daos: ${errnoOf(e)}: ${e instanceof Error ? e.message : String(e)}\n`)
      io.fail(1)
    }
  }
  const withSession = async <T>(pool: string, cont: string, body: (s: DfsSession) => Promise<T>): Promise<T> => {
    const s = await open(pool, cont)
    try {
      return await body(s)
    } finally {
      await s.close()
    }
  }
  fs.command('copy')
    .description('copy a file or a tree between local paths and daos://POOL/CONT/path, in either direction')
    .requiredOption('--src <path>', 'source: a local path or daos://POOL/CONT/path')
    .requiredOption('--dst <path>', 'destination: a local path or daos://POOL/CONT/path')
    .action((opts: { src: string; dst: string }) =>
      guard(async () => {
        const sessions: DfsSession[] = []
        const side = async (text: string): Promise<{ tree: Tree; path: string }> => {
          const uri = parseDaosUri(text)
          if (uri === undefined) return { tree: new LocalTree(), path: text }
          const s = await open(uri.pool, uri.cont)
          sessions.push(s)
          return { tree: new DfsTree(s.dfs), path: uri.path }
        }
        try {
          const src = await side(opts.src)
          const dst = await side(opts.dst)
          const bar = io.interactive === true ? copyBar(io.stderr) : undefined
          let done: CopyProgress
          try {
            done = await copyTree(src.tree, src.path, dst.tree, dst.path, bar === undefined ? {} : { onProgress: (p) => bar.update(p) })
          } finally {
            bar?.stop()
          }
          io.stdout(`Successfully copied to ${opts.dst}:\n    Directories: ${done.dirs}\n    Files:       ${done.filesDone}\n    Links:       ${done.symlinks}\n    Bytes:       ${done.bytesDone}\n`)
        } finally {
          for (const s of sessions) await s.close()
        }
      })(),
    )
  fs.command('ls <pool> <cont> [path]')
    .description('list a directory of a POSIX container')
    .option('-L, --long', 'with type, mode and size (-l is the global --host-list of daos)')
    .action((pool: string, cont: string, path: string | undefined, opts: { long?: boolean }) =>
      guard(() =>
        withSession(pool, cont, async (s) => {
          const dir = path ?? '/'
          const entries = await s.dfs.readdirAll(dir)
          let out = ''
          for (const e of entries) {
            if (opts.long !== true) out += `${e.name}\n`
            else {
              const st = await s.dfs.stat(`${dir.replace(/\/+$/, '')}/${e.name}`, false)
              out += `${e.kind === 'dir' ? 'd' : e.kind === 'symlink' ? 'l' : '-'}${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${String(st.sizeBytes).padStart(12)} ${e.name}\n`
            }
          }
          io.stdout(out)
        }),
      )(),
    )
  fs.command('stat <pool> <cont> <path>')
    .description('show the attributes of a path')
    .action((pool: string, cont: string, path: string) => guard(() => withSession(pool, cont, async (s) => io.stdout(formatStat(path, await s.dfs.stat(path, false)))))())
  fs.command('mkdir <pool> <cont> <path>')
    .description('make a directory')
    .option('-p, --parents', 'make missing parents, no error if it exists')
    .option('-m, --mode <octal>', 'permission bits', '755')
    .action((pool: string, cont: string, path: string, opts: { parents?: boolean; mode: string }) =>
      guard(() =>
        withSession(pool, cont, async (s) => {
          const mode = Number.parseInt(opts.mode, 8)
          if (!/^[0-7]{1,4}$/.test(opts.mode)) throw new Error(`bad --mode ${opts.mode}`)
          if (opts.parents !== true) return s.dfs.mkdir(path, mode)
          let at = ''
          for (const part of path.split('/').filter((p) => p !== '')) {
            at += `/${part}`
            await s.dfs.mkdir(at, mode).catch((e: unknown) => {
              if (errnoOf(e) !== 'EEXIST') throw e
            })
          }
        }),
      )(),
    )
  fs.command('rm <pool> <cont> <path>')
    .description('remove a file, a symlink, or (with -r) a tree')
    .option('-r, --recursive', 'remove directories and their contents')
    .action((pool: string, cont: string, path: string, opts: { recursive?: boolean }) =>
      guard(() =>
        withSession(pool, cont, async (s) => {
          const remove = async (p: string): Promise<void> => {
            const st = await s.dfs.stat(p, false)
            if (st.kind !== 'dir') return s.dfs.unlink(p)
            if (opts.recursive !== true) return s.dfs.rmdir(p)
            for (const e of await s.dfs.readdirAll(p)) await remove(`${p.replace(/\/+$/, '')}/${e.name}`)
            await s.dfs.rmdir(p)
          }
          await remove(path)
        }),
      )(),
    )
  return fs
}
