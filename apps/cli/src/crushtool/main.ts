#!/usr/bin/env node
/**
 * The `crushtool` executable: runs {@link runCrushtool} with the process's arguments, files and
 * streams. Relative paths resolve against `INIT_CWD` (set by pnpm) or the working directory.
 *
 * @module
 */
import { readFileSync, writeFileSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { runCrushtool } from './crushtool.ts'

const base = process.env.INIT_CWD ?? process.cwd()

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8')
  let off = 0
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off)
    } catch (e) {
      const code = (e as { code?: string }).code
      if (code === 'EAGAIN') continue
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0)
      throw e
    }
  }
}

const status = runCrushtool(process.argv.slice(2), {
  stdout: (text) => writeAll(1, text),
  stderr: (text) => writeAll(2, text),
  readFile: (path) => new Uint8Array(readFileSync(path)),
  writeFile: (path, data) => writeFileSync(path, data),
  resolvePath: (path) => resolve(base, path),
})
process.exitCode = status
