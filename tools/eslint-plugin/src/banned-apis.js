// Ambient time, timers and randomness are refused in packages: they come from the injected
// `Runtime` of @x/common, so every package runs under the virtual clock with a seed. Only the
// real runtime module of @x/common touches the platform's versions.

const runtimeHint = 'Use the injected Runtime from @x/common'

export const bannedGlobals = [
  { name: 'setTimeout', message: `${runtimeHint}: runtime.timers.schedule(delayMs, callback).` },
  { name: 'setInterval', message: `${runtimeHint}: runtime.timers.repeat(periodMs, callback).` },
  { name: 'setImmediate', message: `${runtimeHint}: runtime.timers.schedule(0, callback).` },
  { name: 'clearTimeout', message: `${runtimeHint}: runtime.timers.cancel(handle).` },
  { name: 'clearInterval', message: `${runtimeHint}: runtime.timers.cancel(handle).` },
]

export const bannedProperties = [
  { object: 'Date', property: 'now', message: `${runtimeHint}: runtime.clock.realtimeMs() (wall time) or runtime.clock.monotonicMs().` },
  { object: 'performance', property: 'now', message: `${runtimeHint}: runtime.clock.monotonicMs().` },
  { object: 'Math', property: 'random', message: `${runtimeHint}: runtime.random (a seeded Random: float(), uint32(), int(max)).` },
  { object: 'globalThis', property: 'setTimeout', message: `${runtimeHint}: runtime.timers.schedule(delayMs, callback).` },
  { object: 'globalThis', property: 'setInterval', message: `${runtimeHint}: runtime.timers.repeat(periodMs, callback).` },
  { object: 'globalThis', property: 'setImmediate', message: `${runtimeHint}: runtime.timers.schedule(0, callback).` },
]

export const bannedSyntax = [
  {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message: `${runtimeHint}: new Date(runtime.clock.realtimeMs()).`,
  },
  {
    selector: "ImportDeclaration[source.value='node:timers'], ImportDeclaration[source.value='timers'], ImportDeclaration[source.value='node:timers/promises'], ImportDeclaration[source.value='timers/promises']",
    message: `${runtimeHint}: runtime.timers (schedule, repeat, cancel, sleep).`,
  },
]
