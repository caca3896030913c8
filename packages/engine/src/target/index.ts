/**
 * Targets of an engine: {@link Target} (one VOS on a blobstore over a device) and
 * {@link TargetSet} (the N targets of one engine).
 *
 * @module
 */
export { Target, type TargetCreateOptions, type TargetOpenOptions, TargetSet, type TargetSetSpace } from './target.ts'
