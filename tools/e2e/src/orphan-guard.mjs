// Preloaded into every process the e2e harness spawns (`node --import <this file> ...`): the
// harness keeps the child's stdin open as a pipe, so when the harness dies in any way (a test
// timeout, kill -9 of the test runner) the pipe closes and the child kills itself at once.
// Nothing else changes: the child keeps its pid, so kill -9 / SIGSTOP by the harness still hit
// the real daemon.
if (process.env.X_E2E_ORPHAN_GUARD === '1' && process.stdin && !process.stdin.isTTY) {
  const die = () => process.kill(process.pid, 'SIGKILL')
  process.stdin.on('end', die)
  process.stdin.on('close', die)
  process.stdin.on('error', die)
  process.stdin.resume()
  process.stdin.unref?.()
}
