/**
 * Test helpers of `@x/spdk-io`: the {@link blockDeviceComplianceSuite} every `BlockDevice`
 * implementation runs under vitest.
 *
 * @example
 * ```ts
 * import { MemoryBlockDevice } from '@x/spdk-io'
 * import { blockDeviceComplianceSuite } from '@x/spdk-io/testing'
 *
 * blockDeviceComplianceSuite('memory', {
 *   setup: async () => new MemoryBlockDevice({ blockSizeBytes: 4096, blockCount: 256 }),
 *   teardown: async () => {},
 * }, { unmapZeroes: true })
 * ```
 *
 * @module
 */
export { type BlockDeviceTestSetup, type DeclaredCapabilities, type TestSetup, blockDeviceComplianceSuite } from './compliance.ts'
