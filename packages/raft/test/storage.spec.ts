import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, it } from 'vitest'
import { FileStorage, MemoryStorage, type Storage } from '../src/index.ts'
import { runStorageCompliance } from '../src/testing/index.ts'

describe('MemoryStorage compliance', () => {
  runStorageCompliance({ create: (cs) => MemoryStorage.withVoters(cs.voters, cs.learners) }, it)
})

describe('FileStorage compliance', () => {
  const root = mkdtempSync(join(tmpdir(), 'raft-fs-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  let n = 0
  for (const segmentBytes of [64 << 20, 256]) {
    describe(`segments of ${segmentBytes} bytes`, () => {
      runStorageCompliance(
        {
          create: (cs) => FileStorage.open(join(root, `s${++n}`), { initialConfState: cs, segmentBytes }),
          reopen: (s: Storage) => {
            const fs = s as FileStorage
            fs.close()
            return FileStorage.open(fs.dir, { segmentBytes })
          },
        },
        it,
      )
    })
  }
})
