import type { UserConfig } from 'vitest/config'

/** The shared vitest configuration (see vitest.shared.js). */
declare const config: UserConfig
export default config
