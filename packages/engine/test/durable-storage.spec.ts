// The simulation's crash-safe memory storage passes @x/raft's storage compliance suite, including
// its durability cases (a reopened storage holds exactly what was synced).
import { runStorageCompliance } from '@x/raft/testing'
import { it } from 'vitest'
import { DurableMemoryStorage } from './support/sim.ts'

runStorageCompliance({ create: (cs) => DurableMemoryStorage.withVoters(cs.voters, cs.learners), reopen: (s) => (s as DurableMemoryStorage).reopen() }, it)
