/**
 * Mutations: the logical redo records of a VOS. Every change to the index is one mutation; the
 * WAL stores them and recovery re-applies them in order, so applying a mutation must be
 * deterministic given the index it applies to.
 *
 * @module
 */
import type { StoredData } from './stored-data.ts'
import type { ChecksumType, Epoch, ObjectId } from './types.ts'

/** An akey's part of a stored update. */
export type StoredAkeyUpdate =
  | { readonly type: 'single'; readonly akey: Uint8Array; readonly data: StoredData }
  | {
      readonly type: 'array'
      readonly akey: Uint8Array
      readonly recordSizeBytes: number
      readonly extents: readonly { readonly lo: number; readonly hi: number; readonly data: StoredData | undefined }[]
    }

/** One logical change of a VOS index. */
export type Mutation =
  | { readonly type: 'containerCreate'; readonly cont: string; readonly csum: ChecksumType }
  | { readonly type: 'containerDestroy'; readonly cont: string }
  | {
      readonly type: 'update'
      readonly cont: string
      readonly oid: ObjectId
      readonly epoch: Epoch
      readonly seq: number
      readonly dkey: Uint8Array
      readonly akeys: readonly StoredAkeyUpdate[]
      readonly dtx: string | undefined
      /** Bytes kept with the prepared DTX (see `WriteOptions.dtxMeta`). */
      readonly dtxMeta?: Uint8Array | undefined
    }
  | {
      readonly type: 'punch'
      readonly cont: string
      readonly oid: ObjectId
      readonly epoch: Epoch
      readonly seq: number
      readonly dkey: Uint8Array | undefined
      readonly akeys: readonly Uint8Array[] | undefined
      readonly dtx: string | undefined
      /** Bytes kept with the prepared DTX (see `WriteOptions.dtxMeta`). */
      readonly dtxMeta?: Uint8Array | undefined
    }
  | { readonly type: 'snapshotCreate'; readonly cont: string; readonly epoch: Epoch }
  | { readonly type: 'snapshotDestroy'; readonly cont: string; readonly epoch: Epoch }
  | { readonly type: 'aggregate'; readonly cont: string; readonly epoch: Epoch }
  | { readonly type: 'discard'; readonly cont: string; readonly lo: Epoch; readonly hi: Epoch }
  | { readonly type: 'dtxCommit'; readonly id: string }
  | { readonly type: 'dtxAbort'; readonly id: string }
