// The part of fuse-native's API (a CommonJS module without types) that dfuse uses.
declare module 'fuse-native' {
  type Callback = (code: number, ...values: unknown[]) => void
  class Fuse {
    constructor(mountpoint: string, handlers: Record<string, (...args: never[]) => void>, options?: Record<string, unknown>)
    mount(callback: (error: Error | null) => void): void
    unmount(callback: (error: Error | null) => void): void
    static unmount(mountpoint: string, callback: (error: Error | null) => void): void
    static isConfigured(callback: (error: Error | null, configured: boolean) => void): void
  }
  export type { Callback }
  export default Fuse
}
