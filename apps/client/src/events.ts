/**
 * Running a client call as a `@x/tse` task bound to an event (`daos_event_t`): the call's
 * completion completes the event, which its event queue's `poll` then reports. The promise is
 * returned either way.
 *
 * @module
 */
import { toDerError } from '@x/common'
import type { TseEvent } from '@x/tse'

/** Per-call options: an event to complete when the call does. */
export interface CallOptions {
  /** A `ready` event (initialized on an event queue); the call launches it as a task. */
  readonly event?: TseEvent
}

/**
 * Runs `operation` as the task of `event` (when given) and returns its promise. The event
 * completes with 0 or the failure's DER code; a launch refusal (the event is not ready) rejects.
 */
export function runWithEvent<T>(operation: () => Promise<T>, options: CallOptions | undefined): Promise<T> {
  const event = options?.event
  if (event === undefined) return operation()
  return new Promise<T>((resolve, reject) => {
    const task = event.createTask<undefined>((self) => {
      let started: Promise<T>
      try {
        started = operation()
      } catch (thrown) {
        started = Promise.reject(toDerError(thrown))
      }
      started.then(
        (value) => {
          self.complete(0)
          resolve(value)
        },
        (thrown: unknown) => {
          const error = toDerError(thrown)
          self.complete(error)
          reject(error)
        },
      )
    })
    try {
      event.launchTask(task)
    } catch (thrown) {
      reject(toDerError(thrown))
    }
  })
}
